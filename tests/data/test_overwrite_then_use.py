"""After ``collect --overwrite`` rebuilds a dataset, ``select`` and ``report`` do not use what
was cached or saved for the old one: select names the command to run, and report says there is
nothing saved to show."""

from __future__ import annotations

from helpers_heads import embedded_sweep


def test_select_and_report_after_a_rebuild(cli, datasets_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ds = embedded_sweep(datasets_root, n=120)
    tiny = ("-m", "evalkit-tiny-vit", "--pretrained", "none")
    select = ("select", ds.name, "-t", "cartpole", *tiny, "--heads", "--bootstrap", "0", "--folds", "3")  # fmt: skip
    first = cli(*select)
    assert first.exit_code == 0, first.output
    epic = cli("epic", "-t", "cartpole", *tiny, "--alpha", "0", "--bootstrap", "0")
    assert epic.exit_code == 0, epic.output
    rebuilt = cli("collect", "cartpole", "--n", "150", "--size", "32", "--overwrite")
    assert rebuilt.exit_code == 0, rebuilt.output
    again = cli(*select)
    assert again.exit_code == 2 and "Traceback" not in again.output
    assert again.output.strip().splitlines()[-1].startswith("error: ")
    assert f"evalkit embed {ds.name}" in again.output
    assert not (ds.path / "selections").exists()  # the old selection went with the old dataset
    report = cli("report", "--out", str(tmp_path / "rep"))  # the old result went too
    assert report.exit_code == 2, report.output
    assert report.output.startswith("error: No saved EPIC results")
    assert not (tmp_path / "rep").exists()
