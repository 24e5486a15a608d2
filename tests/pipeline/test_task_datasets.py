"""The dataset a task is evaluated on by default: the task's own (Meta-World: one per task), else
its family's, and a one-sentence error with the exact command that makes it when it is missing.
No environment is made (works without the ``metaworld`` extra)."""

from __future__ import annotations

import pytest

from evalkit.errors import EvalkitError


@pytest.mark.parametrize(
    ("task", "dataset", "command"),
    [
        ("drawer-close", "metaworld-drawer-close", "evalkit collect metaworld --task drawer-close"),
        ("reach", "metaworld-reach", "evalkit collect metaworld --task reach"),
        ("cartpole", "cartpole-sweep", "evalkit collect cartpole"),
        ("kneeling", "humanoid-poses", "evalkit collect humanoid --poses"),
    ],
)
def test_a_missing_default_dataset_names_the_command_that_makes_it(
    datasets_root, task, dataset, command
):
    from evalkit.pipeline.inputs import task_dataset
    from evalkit.tasks import get_task

    assert get_task(task).dataset == dataset
    with pytest.raises(EvalkitError) as caught:
        task_dataset(task, None, None)
    message = str(caught.value)
    assert f"dataset {dataset!r} by default" in message
    assert f"make it with '{command}' (or pass --dataset)." in message
    assert message.count(". ") == 0  # one sentence


def test_every_metaworld_task_has_its_own_dataset():
    from evalkit.tasks import get_family, tasks_for_family

    tasks = tasks_for_family("metaworld")
    assert len({t.dataset for t in tasks}) == len(tasks) == 10
    assert all(t.dataset == f"metaworld-{t.name}" for t in tasks)
    assert get_family("metaworld").default_dataset == "metaworld-drawer-open"


def test_the_epic_command_says_which_collect_command_to_run(cli, datasets_root):
    result = cli("epic", "--task", "window-open", "--model", "evalkit-tiny-vit")
    assert result.exit_code == 2
    assert "'metaworld-window-open'" in result.output
    assert "evalkit collect metaworld --task window-open" in result.output
    assert "Traceback" not in result.output


def test_a_tasks_file_task_may_name_its_default_dataset_and_command(tmp_path, datasets_root):
    from evalkit.pipeline.inputs import task_dataset
    from evalkit.tasks import TASKS, load_tasks_file

    path = tmp_path / "tasks.toml"
    path.write_text(
        '[[task]]\nname = "cartpole_left_ds"\nfamily = "cartpole"\ngoal = "a pole leaning left"\n'
        'baseline = "pole and cart"\ndefault_dataset = "cartpole-left"\n'
        '[[task]]\nname = "cartpole_right_ds"\nfamily = "cartpole"\ngoal = "a pole leaning right"\n'
        'baseline = "pole and cart"\ndefault_dataset = "cartpole-right"\n'
        'collect_command = "evalkit collect cartpole --name cartpole-right"\n',
        encoding="utf-8",
    )
    try:
        left, right = load_tasks_file(path)
        assert (left.dataset, right.dataset) == ("cartpole-left", "cartpole-right")
        with pytest.raises(EvalkitError, match=r"'cartpole-left' by default.*; make it \(or pass"):
            task_dataset(left.name, None, None)
        with pytest.raises(EvalkitError, match="make it with 'evalkit collect cartpole --name"):
            task_dataset(right.name, None, None)
        bad = tmp_path / "bad.toml"
        bad.write_text(
            '[[task]]\nname = "x_ds"\nfamily = "cartpole"\ngoal = "g"\nbaseline = "b"\n'
            "default_dataset = 3\n",
            encoding="utf-8",
        )
        with pytest.raises(EvalkitError, match="default_dataset must be a non-empty string"):
            load_tasks_file(bad)
    finally:
        for name in ("cartpole_left_ds", "cartpole_right_ds", "x_ds"):
            TASKS.pop(name, None)
