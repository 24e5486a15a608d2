"""Bad tasks files end in one sentence when they load; rule parameters are checked against the
rule's signature then (a misspelt ``max_angel`` does not wait to crash ``epic``)."""

from __future__ import annotations

import pytest

from evalkit.errors import EvalkitError
from evalkit.tasks import TASKS, Task, load_tasks_file, register_task

HEAD = '[[task]]\nname = "t_bad"\nfamily = "cartpole"\ngoal = "g"\nbaseline = "b"\n'


@pytest.fixture(autouse=True)
def _forget_tasks():
    before = dict(TASKS)
    yield
    TASKS.clear()
    TASKS.update(before)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + 'rule_params = "oops"\n', "rule_params must be a table"),
        (HEAD + 'rule_params = { max_angle = "x" }\n', "rule parameter max_angle must be a number"),
        ("task = [1, 2]\n", "is 1, not a table"),
        (HEAD + "rule_params = { max_angel = 0.2 }\n", "takes no parameter max_angel (it takes: max_angle, max_position)"),
        (HEAD + "rule = 3\n", "rule must be a rule's name"),
    ],
)  # fmt: skip
def test_bad_entries_are_one_sentence(tmp_path, text, message):
    path = tmp_path / "tasks.toml"
    path.write_text(text)
    with pytest.raises(EvalkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_tasks_file(path)
    assert "t_bad" not in TASKS


def test_binary_bytes_and_a_folder(tmp_path):
    binary = tmp_path / "tasks.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(EvalkitError, match="is not a text"):
        load_tasks_file(binary)
    with pytest.raises(EvalkitError, match="is a folder"):
        load_tasks_file(tmp_path)


def test_through_the_cli(cli, tmp_path):
    path = tmp_path / "tasks.toml"
    path.write_text(HEAD + "rule_params = { max_angel = 0.2 }\n")
    result = cli("--tasks-file", str(path), "tasks")
    assert result.exit_code == 2 and "max_angel" in result.output
    assert "Traceback" not in result.output


def test_register_task_checks_parameters_from_python_too():
    with pytest.raises(EvalkitError, match="takes no parameter goal_positon"):
        register_task(Task("mc_x", "mountaincar", "g", "b", rule="mountaincar_at_flag",
                           rule_params={"goal_positon": 0.3}))  # fmt: skip
    good = register_task(Task("mc_y", "mountaincar", "g", "b", rule="mountaincar_at_flag",
                              rule_params={"goal_position": 0.3}))  # fmt: skip
    assert good.rule_params == {"goal_position": 0.3}
