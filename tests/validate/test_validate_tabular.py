"""The tabular study: invariance rows, metrics against the metric library, correlations against
scipy, and a study folder whose arrays recompute the regret with plain numpy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_tabular import regret_by_value_iteration
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.metrics.general import epic_tabular
from evalkit.validate.correlate import bootstrap_rank_correlations
from evalkit.validate.offline import Problem, general_epic, study_metrics
from evalkit.validate.spectrum import CANDIDATE_NAMES, INVARIANT, STATE_ONLY, observed_states
from evalkit.validate.tabular import TabularSettings, run_tabular_study, write_study

SETTINGS = TabularSettings(n_mdps=4, n_states=8, n_actions=3, seed=1, n_bootstrap=200)


@pytest.fixture(scope="module")
def study():
    return run_tabular_study(SETTINGS)


def _index(name):
    return CANDIDATE_NAMES.index(name)


def test_shaped_and_scaled_candidates_are_at_epic_and_starc_0_with_regret_0(study):
    assert INVARIANT.sum() == 5
    np.testing.assert_allclose(study.regret[:, INVARIANT], 0.0, atol=1e-9)
    for metric in ("EPIC (uniform)", "STARC"):
        np.testing.assert_allclose(study.values[metric][:, INVARIANT], 0.0, atol=1e-6)
    # the naive baselines are not invariant: a scaled copy is far in L2
    assert (study.values["L2 (raw)"][:, _index("scaled")] > 1).all()


def test_inverted_reward_has_regret_1_and_maximal_distances(study):
    k = _index("inverted")
    np.testing.assert_allclose(study.regret[:, k], 1.0)
    np.testing.assert_allclose(study.values["STARC"][:, k], 2.0)
    np.testing.assert_allclose(study.values["EPIC (uniform)"][:, k], 1.0)


def test_decoys_are_invisible_to_epic_under_the_half_coverage(study):
    on = np.isfinite(study.values["EPIC (half)"][:, _index("decoy 5")])
    assert on.any()
    np.testing.assert_allclose(study.values["EPIC (half)"][on, _index("decoy 5")], 0.0, atol=1e-6)
    assert (study.values["EPIC (uniform)"][:, _index("decoy 5")] > 0.05).all()
    assert (study.regret[:, _index("decoy 5")] > 0).any()


def test_goal_metrics_apply_to_state_only_candidates_of_goal_truths_only(study):
    for metric in ("goal EPIC", "goal 1 − AUC"):
        v = study.values[metric]
        goal = study.kinds == "goal"
        assert np.isnan(v[~goal]).all() and np.isnan(v[:, ~STATE_ONLY]).all()
        assert np.isfinite(v[np.ix_(goal, STATE_ONLY)]).all()
        np.testing.assert_allclose(v[goal, _index("prototype 1")], 0.0, atol=1e-12)


def test_batched_general_epic_equals_epic_tabular(study):
    p = 1
    problem = Problem(study.P[p], study.R_true[p], study.R[p], SETTINGS.gamma, None)
    half = observed_states(SETTINGS.n_states).astype(float)
    for dist, got in ((None, general_epic(problem)), (half, general_epic(problem, half))):
        for k in range(len(CANDIDATE_NAMES)):
            try:
                expected = epic_tabular(
                    study.R_true[p], study.R[p, k], gamma=SETTINGS.gamma, state_dist=dist
                ).distance
            except EvalkitError:
                expected = np.nan
            np.testing.assert_allclose(got[k], expected, atol=1e-7)


def test_correlations_equal_scipy_on_the_rows(study):
    for metric, c in zip(study_metrics(), study.correlations):
        x, y = study.values[metric.name].ravel(), study.regret.ravel()
        ok = np.isfinite(x)
        assert c.n_rows == ok.sum()
        assert c.spearman == pytest.approx(stats.spearmanr(x[ok], y[ok]).statistic, abs=1e-12)
        assert c.kendall == pytest.approx(stats.kendalltau(x[ok], y[ok]).statistic, abs=1e-12)
        per = [
            stats.spearmanr(v[np.isfinite(v)], r[np.isfinite(v)]).statistic
            for v, r in zip(study.values[metric.name], study.regret)
            if np.isfinite(v).sum() >= 3
            and np.ptp(v[np.isfinite(v)]) > 0
            and np.ptp(r[np.isfinite(v)]) > 0
        ]
        assert c.per_mdp_spearman == pytest.approx(np.mean(per), abs=1e-12)
        low, high = c.kendall_interval
        assert low <= c.kendall <= high


def test_block_bootstrap_equals_scipy_on_materialised_resamples():
    rng = np.random.default_rng(0)
    sizes = rng.integers(2, 9, size=7)
    block = np.repeat(np.arange(7), sizes)
    x = np.round(rng.random(len(block)), 1)  # ties on purpose
    y = np.round(x + rng.random(len(block)), 1)
    counts = np.stack([np.bincount(rng.integers(7, size=7), minlength=7) for _ in range(30)])
    spearman, kendall = bootstrap_rank_correlations(x, y, block, counts)
    for b in range(30):
        rows = np.concatenate(
            [np.flatnonzero(block == g).repeat(1) for g in range(7) for _ in range(counts[b, g])]
        )
        assert spearman[b] == pytest.approx(stats.spearmanr(x[rows], y[rows]).statistic, abs=1e-10)
        assert kendall[b] == pytest.approx(stats.kendalltau(x[rows], y[rows]).statistic, abs=1e-10)


def test_study_folder_recomputes_regret_with_plain_numpy(study, tmp_path):
    out = write_study(study, tmp_path / "study")
    assert {p.name for p in out.iterdir()} == {
        "summary.json",
        "summary.md",
        "validity.png",
        "validity.svg",
        "mdps.npz",
    }
    with np.load(out / "mdps.npz") as z:
        assert set(z.files) == {"P", "d0", "gamma", "R_true", "R", "regret", "names"}
        m, K, S, A = len(study.kinds), len(CANDIDATE_NAMES), SETTINGS.n_states, SETTINGS.n_actions
        assert z["P"].shape == (m, S, A, S) and z["R"].shape == (m, K, S, A, S)
        assert z["d0"].shape == (m, S) and z["regret"].shape == (m, K)
        assert list(z["names"]) == list(CANDIDATE_NAMES)
        gamma = float(z["gamma"])
        for p, k in ((0, 3), (1, 7), (2, _index("decoy 1")), (3, _index("prototype 0.5"))):
            expected = regret_by_value_iteration(
                z["P"][p], z["R_true"][p], z["R"][p, k], z["d0"][p], gamma
            )
            assert z["regret"][p, k] == pytest.approx(expected, abs=1e-8)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["n_mdps"] == SETTINGS.n_mdps
    assert [c["metric"] for c in summary["correlations"]] == [m.name for m in study_metrics()]
    assert "| STARC |" in (out / "summary.md").read_text()


def test_a_folder_of_a_study_with_other_settings_is_refused(study, tmp_path):
    out = write_study(study, tmp_path / "study", figure=False)
    write_study(study, out, figure=False)  # the same settings: replaced
    other = run_tabular_study(TabularSettings(n_mdps=2, n_states=4, n_actions=2, n_bootstrap=0))
    with pytest.raises(EvalkitError, match="other settings"):
        write_study(other, out, figure=False)
    (tmp_path / "else").mkdir()
    (tmp_path / "else" / "notes.txt").write_text("mine")
    with pytest.raises(EvalkitError, match="not empty"):
        write_study(other, tmp_path / "else", figure=False)


def test_a_study_too_large_for_memory_says_how_much_it_needs():
    with pytest.raises(EvalkitError, match=r"needs about [0-9.]+ GiB"):
        TabularSettings(n_mdps=50, n_states=4000, n_actions=4).check()


def test_per_problem_spearman_equals_scipy_and_is_nan_where_undefined():
    from evalkit.validate.correlate import per_problem_spearman

    rng = np.random.default_rng(4)
    v = np.round(rng.random((6, 9)), 1)
    r = np.round(rng.random((6, 9)), 1)
    v[1, :4] = np.nan  # not applicable to some candidates
    v[2] = np.nan  # nor to any
    r[3] = 0.5  # every candidate equally good
    v[4, 2:] = np.nan  # two rows left
    got = per_problem_spearman(v, r)
    for i in (0, 1, 5):
        ok = np.isfinite(v[i])
        assert got[i] == pytest.approx(stats.spearmanr(v[i, ok], r[i, ok]).statistic, abs=1e-12)
    assert np.isnan(got[[2, 3, 4]]).all()


def test_comparisons_with_the_best_metric_are_paired_differences_on_common_rows(study):
    from evalkit.validate.correlate import compare

    best = study.comparisons[0].reference
    assert best == max(study.correlations, key=lambda c: c.kendall).metric
    for c in study.comparisons:
        both = np.isfinite(study.values[c.metric]) & np.isfinite(study.values[best])
        y = study.regret[both]
        expected = (
            stats.kendalltau(study.values[c.metric][both], y).statistic
            - stats.kendalltau(study.values[best][both], y).statistic
        )
        assert c.n_rows == both.sum()
        assert c.kendall_difference == pytest.approx(expected, abs=1e-12)
    same = compare(
        ("STARC", study.values["STARC"]),
        ("STARC", study.values["STARC"]),
        study.regret,
        study.mdp_index,
        n_bootstrap=100,
    )
    assert same.kendall_difference == 0 and same.interval == (0.0, 0.0)


def _max_abs_difference(problem):
    """A plugin's study metric: the largest |R − R̂| over transitions (not invariant)."""
    return np.abs(problem.candidates - problem.reward[None]).max(axis=(1, 2, 3))


def test_a_registered_study_metric_joins_the_study_and_its_correlations():
    from evalkit.validate.offline import (
        OfflineMetric,
        register_study_metric,
        unregister_study_metric,
    )

    metric = OfflineMetric("max |ΔR|", "largest absolute reward difference", _max_abs_difference)
    register_study_metric(metric)
    try:
        with pytest.raises(EvalkitError, match="already registered"):
            register_study_metric(metric)
        small = TabularSettings(n_mdps=3, n_states=6, n_actions=2, seed=2, n_bootstrap=50)
        result = run_tabular_study(small)
    finally:
        unregister_study_metric("max |ΔR|")
    assert "max |ΔR|" not in [m.name for m in study_metrics()]
    x = result.values["max |ΔR|"]
    truth = np.max(np.abs(result_candidates(small) - result_truth(small)[:, None]), axis=(2, 3, 4))
    np.testing.assert_allclose(x, truth)
    row = next(c for c in result.correlations if c.metric == "max |ΔR|")
    ok = np.isfinite(x.ravel())
    assert row.spearman == pytest.approx(
        stats.spearmanr(x.ravel()[ok], result.regret.ravel()[ok]).statistic, abs=1e-12
    )


def result_candidates(settings):
    from evalkit.validate.tabular import build_problems

    return build_problems(settings)[3]


def result_truth(settings):
    from evalkit.validate.tabular import build_problems

    return build_problems(settings)[2]
