"""``train`` says after its first rollout how fast it goes and how long the run will take (with
advice when that is days), and where its TensorBoard logs go."""

from __future__ import annotations

import threading

from helpers_train import one_torch_thread, tiny_config

from evalkit.train.runner import duration, train


def test_a_run_of_days_says_so_after_the_first_rollout(tmp_path):
    run, stop, messages = tmp_path / "run", threading.Event(), []

    def report(message: str) -> None:
        messages.append(message)
        if "first rollout" in message:
            stop.set()  # seen it: stop as Ctrl-C would

    with one_torch_thread():
        result = train(
            tiny_config("cartpole", reward="ground-truth", steps=10**11),
            run,
            report=report,
            stop=stop,
        )
    assert result.interrupted
    eta = next(m for m in messages if "steps/s over the first rollout" in m)
    assert "days for the 100000000000 steps" in eta and "train on a GPU (--device cuda)" in eta
    tb = next(m for m in messages if m.startswith("TensorBoard logs:"))
    assert str(run / "tb") in tb and "tensorboard --logdir" in tb


def test_duration_reads_as_people_say_it():
    assert [duration(s) for s in (5, 125, 5400, 3 * 86400)] == ["5 s", "2 min", "1.5 h", "3.0 days"]


def test_a_stop_in_a_clip_run_says_it_scores_the_pending_frames(tmp_path):
    from helpers_train import Recorder

    run, stop, messages = tmp_path / "run", threading.Event(), []

    def report(message: str) -> None:
        messages.append(message)
        if "first rollout" in message:
            stop.set()

    with one_torch_thread():
        result = train(
            tiny_config("cartpole", steps=10**6, reward_batch_size=3200, reward_labelling="batch"),
            run,
            reward_fn=Recorder(),
            report=report,
            stop=stop,
        )
    assert result.interrupted
    scoring = next(m for m in messages if m.startswith("Scoring the "))
    assert "frames still waiting for CLIP rewards, then saving" in scoring
    assert messages.index(scoring) < next(
        i for i, m in enumerate(messages) if m.startswith("checkpoint ")
    )
