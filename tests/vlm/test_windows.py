"""Window assembly against a naive loop over episodes: starts, ends, strides, rows in any order,
episodes never mixed; the episode subsampling rule; bad windows in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.vlm.windows import (
    WindowError,
    WindowSpec,
    episode_sample,
    window_rows,
)


def _naive(episodes: np.ndarray, steps: np.ndarray, k: int, s: int) -> np.ndarray:
    """For each row: find by (episode, step) the frames t-(k-1)s..t; before the start, the
    episode's first step."""
    where = {(e, t): i for i, (e, t) in enumerate(zip(episodes.tolist(), steps.tolist()))}
    first = {}
    for e, t in zip(episodes.tolist(), steps.tolist()):
        first[e] = min(first.get(e, t), t)
    out = []
    for e, t in zip(episodes.tolist(), steps.tolist()):
        row = []
        for j in range(k):
            want = t - (k - 1 - j) * s
            row.append(where[(e, max(want, first[e]))])
        out.append(row)
    return np.array(out)


@pytest.mark.parametrize("k, s", [(1, 1), (3, 1), (4, 2), (2, 5), (3, 3)])
def test_windows_equal_a_naive_lookup_with_rows_shuffled(k, s):
    lengths = [7, 3, 10, 1, 6]
    episodes = np.concatenate([np.full(n, 10 + e) for e, n in enumerate(lengths)])
    steps = np.concatenate([np.arange(n) + (5 if e == 2 else 0) for e, n in enumerate(lengths)])
    perm = np.random.default_rng(0).permutation(len(episodes))
    episodes, steps = episodes[perm], steps[perm]
    rows = window_rows(episodes, steps, WindowSpec(k, s))
    np.testing.assert_array_equal(rows, _naive(episodes, steps, k, s))
    assert rows.shape == (len(episodes), k)
    np.testing.assert_array_equal(rows[:, -1], np.arange(len(episodes)))  # ends at the step
    assert (episodes[rows] == episodes[:, None]).all()  # never two episodes


def test_first_steps_repeat_the_first_frame_and_the_end_reads_back():
    episodes = np.array([0] * 5 + [1] * 4)
    steps = np.r_[np.arange(5), np.arange(4)]
    rows = window_rows(episodes, steps, WindowSpec(3, 2))
    # episode 0: step 0 -> [0,0,0]; step 2 -> [0,0,2]; step 4 -> [0,2,4]
    np.testing.assert_array_equal(rows[[0, 2, 4]], [[0, 0, 0], [0, 0, 2], [0, 2, 4]])
    # episode 1 starts at row 5: its step 0 never reads episode 0's last frames
    np.testing.assert_array_equal(rows[5], [5, 5, 5])
    np.testing.assert_array_equal(rows[8], [5, 6, 8])


def test_episode_sample_is_evenly_spaced_with_both_ends():
    for length, count in [(10, 4), (8, 8), (100, 8), (9, 3), (5, 1), (16, 2)]:
        idx = episode_sample(length, count)
        expected = [int(np.floor(i * (length - 1) / max(1, count - 1) + 0.5)) for i in range(count)]
        if count == 1:
            expected = [length - 1]
        assert idx.tolist() == expected
        assert len(set(idx.tolist())) == count  # no frame twice
        if count > 1:
            assert idx[0] == 0 and idx[-1] == length - 1
    assert episode_sample(10, 4).tolist() == [0, 3, 6, 9]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: WindowSpec(0, 1), "frames must be a whole number of at least 1"),
        (lambda: WindowSpec(2, 0), "stride must be a whole number of at least 1"),
        (lambda: WindowSpec(2.5, 1), "frames must be"),
        (
            lambda: window_rows(np.zeros(4, int), np.arange(4), WindowSpec(3, 2)),
            "spans 5 steps, more than the longest episode's 4 frames",
        ),
        (
            lambda: window_rows(np.zeros(4, int), np.array([0, 1, 3, 4]), WindowSpec(2)),
            "Episode 0's steps are not consecutive",
        ),
        (lambda: episode_sample(5, 8), "has 5 frames, fewer than the 8"),
    ],
)
def test_bad_windows_are_one_sentence(make, words):
    with pytest.raises(WindowError) as err:
        make()
    text = str(err.value)
    assert words in text and text.count(". ") == 0 and "\n" not in text


@pytest.mark.parametrize("k, s", [(1, 1), (3, 1), (4, 2), (2, 4)])
def test_online_windows_across_vector_env_resets_equal_the_stored_episodes(k, s):
    from evalkit.vlm.windows import OnlineWindows

    rng = np.random.default_rng(1)
    n_envs, steps_run = 3, 23
    lengths = [[5, 9, 9], [1, 2, 13, 7], [12, 11]]  # episodes of each env, back to back
    online = OnlineWindows(WindowSpec(k, s), n_envs)
    frames_seen, episodes, steps, got = [], [], [], []
    counters = [[(e, t) for e, n in enumerate(ls) for t in range(n)] for ls in lengths]
    for step in range(steps_run):
        frames = rng.integers(0, 255, (n_envs, 2, 2, 3), dtype=np.uint8)
        starts = np.array([counters[i][step][1] == 0 for i in range(n_envs)])
        got.append(online.push(frames, starts))
        for i in range(n_envs):
            frames_seen.append(frames[i])
            episodes.append(i * 100 + counters[i][step][0])
            steps.append(counters[i][step][1])
    frames_seen = np.stack(frames_seen)
    rows = window_rows(np.array(episodes), np.array(steps), WindowSpec(k, s))
    expected = frames_seen[rows].reshape(steps_run, n_envs, k, 2, 2, 3)
    np.testing.assert_array_equal(np.stack(got), expected)
