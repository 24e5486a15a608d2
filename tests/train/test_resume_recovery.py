"""Recovery advice that works: after deleting a corrupt resume model or checkpoint index as
told, ``--resume`` falls back to the newest loadable checkpoint (without the replay buffer, with
a warning) and ``evaluate`` finds the checkpoints by file name."""

from __future__ import annotations

from helpers_train import one_torch_thread, tiny_config

from evalkit.train.config import TrainConfig
from evalkit.train.evaluate import select_checkpoint
from evalkit.train.runner import INDEX_FILE, RESUME_DIR, read_checkpoints, train


def _run(tmp_path):
    run = tmp_path / "run"
    with one_torch_thread():
        train(tiny_config("cartpole", reward="ground-truth", steps=160, checkpoint_every=80), run)
    return run


def test_resume_after_deleting_the_resume_model_uses_the_newest_loadable_checkpoint(tmp_path):
    run = _run(tmp_path)
    steps = sorted(c.step for c in read_checkpoints(run))
    assert len(steps) >= 2
    (run / RESUME_DIR / "model.zip").unlink()  # as the corrupt-checkpoint advice says
    newest = run / read_checkpoints(run)[-1].path
    newest.write_bytes(b"PK\x03\x04 a torn checkpoint")  # the newest one does not load either
    messages: list[str] = []
    with one_torch_thread():
        result = train(TrainConfig(task="", steps=400), run, resume=True, report=messages.append)
    warning = next(m for m in messages if m.startswith("WARNING"))
    assert "resume/model.zip does not exist" in warning
    assert f"(step {steps[-2]}) without its replay buffer" in warning
    assert result.start_step == steps[-2] and result.steps >= 400


def test_checkpoints_are_found_by_file_name_without_the_index(tmp_path, cli):
    run = _run(tmp_path)
    saved = [c.path for c in read_checkpoints(run)]
    (run / INDEX_FILE).write_text("{ torn")
    (run / INDEX_FILE).unlink()  # as the corrupt-index advice says
    found = read_checkpoints(run)
    assert [c.path for c in found] == sorted(set(saved))
    path, info, which = select_checkpoint(run, "best")
    assert path == run / saved[-1] and info is not None and info.train_reward is None
    result = cli("evaluate", str(run), "--episodes", "1")
    assert result.exit_code == 0, result.output
    assert "no checkpoint yet" not in result.output
