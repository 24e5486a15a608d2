"""The report's section "Does the offline verdict predict training?": every study folder that
``evalkit validate`` wrote under the reports root (or given with --study), its correlations as
``summary.json`` holds them, its figure copied beside the page; unreadable folders are notes."""

from __future__ import annotations

import json

import pytest

from evalkit.errors import EvalkitError
from evalkit.report import build_report
from evalkit.validate.tabular import TabularSettings, run_tabular_study, write_study


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    settings = TabularSettings(n_mdps=3, n_states=6, n_actions=2, seed=3, n_bootstrap=50)
    return write_study(run_tabular_study(settings), root / "validate-tabular")


def test_a_study_under_the_reports_root_is_shown_with_its_numbers_and_figure(
    study_folder, tmp_path, datasets_root
):
    page = build_report(
        tmp_path / "report",
        runs_root=tmp_path / "no-runs",
        studies_root=study_folder.parent,
    )
    html = page.read_text(encoding="utf-8")
    summary = json.loads((study_folder / "summary.json").read_text())
    assert summary["study"] == "tabular"
    section = html.split('<section id="validity">', 1)[1].split("</section>", 1)[0]
    assert "validate-tabular: exact regret on random tabular MDPs" in section
    for c in summary["correlations"]:
        low, high = c["spearman_interval"]
        assert f"{c['spearman']:+.3f} [{low:+.2f}, {high:+.2f}]" in section
        assert f'<td class="num">{c["n_rows"]}</td>' in section
    assert f"{summary['best_metric']} ★" in section
    for suffix in ("png", "svg"):
        copied = tmp_path / "report" / "figures" / f"study_validate-tabular.{suffix}"
        assert copied.read_bytes() == (study_folder / f"validity.{suffix}").read_bytes()
        assert f"figures/study_validate-tabular.{suffix}" in section


def test_unreadable_and_foreign_folders(study_folder, tmp_path, datasets_root):
    root = tmp_path / "reports"
    (root / "broken").mkdir(parents=True)
    (root / "broken" / "summary.json").write_text("{not json")
    (root / "bench").mkdir()
    (root / "bench" / "summary.json").write_text('{"steps": 3}')  # another command's summary
    page = build_report(
        tmp_path / "report", runs_root=tmp_path / "no-runs", studies_root=root,
        studies=[study_folder, tmp_path / "nowhere"],
    )  # fmt: skip
    html = page.read_text(encoding="utf-8")
    assert "broken is not shown as a study" in html
    assert "nowhere is not shown as a study" in html
    assert "bench is not shown" not in html
    assert "validate-tabular: exact regret" in html


def test_a_study_alone_makes_a_report_and_nothing_at_all_is_one_sentence(
    tmp_path, datasets_root, study_folder
):
    page = build_report(
        tmp_path / "report", runs_root=tmp_path / "no-runs", studies=[study_folder],
        studies_root=tmp_path / "empty",
    )  # fmt: skip
    assert "validate-tabular" in page.read_text(encoding="utf-8")
    with pytest.raises(EvalkitError, match="No saved EPIC results"):
        build_report(tmp_path / "r2", runs_root=tmp_path / "no-runs", studies_root=tmp_path / "e")


def test_a_study_option_naming_no_study_is_one_sentence(cli, tmp_path, datasets_root):
    r = cli("report", "--study", str(tmp_path / "nowhere"))
    assert r.exit_code == 2 and "holds no study (no summary.json)" in r.output
