"""The dataset store: round trip, atomicity, identity, corruption, listing."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from evalkit.data.store import (
    FORMAT_VERSION,
    Dataset,
    DatasetWriter,
    content_hash,
    delete_dataset,
    existing_matching,
    list_datasets,
    open_dataset,
)
from evalkit.envs.cartpole_family import CARTPOLE_UPRIGHT_MAX_ANGLE
from evalkit.errors import DatasetError


def _writer(root, name="toy", n=12, params=None, **kw):
    return DatasetWriter(
        root,
        name,
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="test",
        params=params or {"n": n},
        render={"size": 8},
        n_frames=n,
        frame_shape=(8, 8, 3),
        **kw,
    )


def _batches(n, seed=0, batch=5):
    rng = np.random.default_rng(seed)
    angles = np.linspace(-math.pi / 2, math.pi / 2, n)
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        frames = rng.integers(0, 256, size=(stop - start, 8, 8, 3), dtype=np.uint8)
        rows = pd.DataFrame(
            {"episode": np.arange(start, stop), "step": 0, "angle": angles[start:stop]}
        )
        yield frames, rows


def _build(root, name="toy", n=12, **kw) -> Dataset:
    with _writer(root, name, n, **kw) as w:
        for frames, rows in _batches(n):
            w.add(frames, rows)
    assert w.dataset is not None
    return w.dataset


def test_round_trip_memmap_and_rule_labels(datasets_root):
    ds = _build(datasets_root, n=12)
    reopened = open_dataset("toy")
    assert reopened.path == datasets_root / "toy"
    assert isinstance(reopened.frames, np.memmap)
    expected = np.concatenate([f for f, _ in _batches(12)])
    np.testing.assert_array_equal(reopened.frames, expected)
    assert list(reopened.states["frame_id"]) == list(range(12))
    assert reopened.manifest.n_episodes == 12
    # Rule labels were stored and equal the predicate evaluated independently.
    assert reopened.label_sets() == ["rule"]
    angles = reopened.states["angle"].to_numpy()
    np.testing.assert_array_equal(reopened.labels("cartpole"), np.abs(angles) <= math.radians(12))
    assert CARTPOLE_UPRIGHT_MAX_ANGLE == pytest.approx(0.20943951, abs=1e-8)
    reopened.validate(deep=True)
    assert reopened.content_hash == ds.content_hash == content_hash(expected, reopened.states)


def test_content_hash_changes_with_frames_and_states(datasets_root):
    a = _build(datasets_root, "a")
    frames = np.array(a.frames)
    states = a.states.copy()
    base = content_hash(frames, states)
    frames[0, 0, 0, 0] ^= 1
    assert content_hash(frames, states) != base
    states.loc[3, "angle"] += 1e-9
    assert content_hash(np.array(a.frames), states) != base


def test_exception_mid_write_leaves_nothing(datasets_root):
    with pytest.raises(RuntimeError):
        with _writer(datasets_root, "half", 12) as w:
            for i, (frames, rows) in enumerate(_batches(12)):
                if i == 1:
                    raise RuntimeError("killed")
                w.add(frames, rows)
    assert list(datasets_root.iterdir()) == []


def test_short_write_is_refused_and_leaves_nothing(datasets_root):
    with pytest.raises(ValueError, match="announced 12 frames but added 5"):
        with _writer(datasets_root, "short", 12) as w:
            frames, rows = next(_batches(12))
            w.add(frames, rows)
    assert list(datasets_root.iterdir()) == []


def test_existing_name_refused_without_overwrite_and_replaced_with_it(datasets_root):
    first = _build(datasets_root, "dup")
    with pytest.raises(DatasetError, match="already exists"):
        _build(datasets_root, "dup")
    second = _build(datasets_root, "dup", params={"n": 12, "v": 2}, overwrite=True)
    assert second.manifest.params == {"n": 12, "v": 2}
    assert first.path == second.path
    assert [p.name for p in datasets_root.iterdir()] == ["dup"]


def test_identity_check(datasets_root):
    ds = _build(datasets_root, "same")
    identity = ds.manifest.identity()
    assert existing_matching(datasets_root, "same", identity).content_hash == ds.content_hash
    assert existing_matching(datasets_root, "absent", identity) is None
    other = {**identity, "params": {"n": 99}}
    with pytest.raises(
        DatasetError, match=r"different parameters \(params.n: 12 on disk, 99 asked\)"
    ):
        existing_matching(datasets_root, "same", other)
    assert existing_matching(datasets_root, "same", other, overwrite=True) is None


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "frames.npy").unlink(), "missing frames.npy"),
        (lambda p: (p / "states.parquet").unlink(), "missing states.parquet"),
        (lambda p: _edit_manifest(p, format_version=FORMAT_VERSION + 1), "newer evalkit"),
        (lambda p: _edit_manifest(p, n_frames=13), "manifest says"),
        (lambda p: (p / "manifest.json").write_text("{not json"), "not valid JSON"),
    ],
)
def test_corruption_is_reported(datasets_root, damage, message):
    ds = _build(datasets_root, "bad")
    damage(ds.path)
    with pytest.raises(DatasetError, match=message):
        open_dataset("bad")
    (info,) = list_datasets(datasets_root)
    assert info.problem and message.split()[0] in info.problem


def test_row_count_mismatch_is_reported(datasets_root):
    ds = _build(datasets_root, "rows")
    states = ds.states.iloc[:-1]
    states.to_parquet(ds.path / "states.parquet", index=False)
    with pytest.raises(DatasetError, match="11 state rows but 12"):
        _ = open_dataset("rows").states


def _edit_manifest(path, **changes):
    data = json.loads((path / "manifest.json").read_text())
    data.update(changes)
    (path / "manifest.json").write_text(json.dumps(data))


def test_root_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        _build(f)


@pytest.mark.parametrize("n", [0, -3])
def test_non_positive_sizes(datasets_root, n):
    with pytest.raises(DatasetError, match="at least one frame"):
        _writer(datasets_root, "z", n)


def test_bad_names(datasets_root):
    for name in ["../x", ".hidden", "a/b", ""]:
        with pytest.raises(DatasetError, match="not a valid dataset name"):
            _writer(datasets_root, name, 3)


def test_label_sets_write_and_coverage(datasets_root):
    ds = _build(datasets_root, "lab", n=6)
    table = pd.DataFrame(
        {"frame_id": [0, 1, 2, 3, 4, 5], "task": "cartpole", "label": [1, 0, 1, 0, 0, 1]}
    )
    ds.write_label_set("human", table)
    np.testing.assert_array_equal(ds.labels("cartpole", "human"), [1, 0, 1, 0, 0, 1])
    ds.write_label_set("partial", table.iloc[:3])
    with pytest.raises(DatasetError, match="labels 3 of the 6 frames"):
        ds.labels("cartpole", "partial")
    with pytest.raises(DatasetError, match="no label set 'nope'"):
        ds.labels("cartpole", "nope")
    with pytest.raises(DatasetError, match=r"must lie in \[0, 6\)"):
        ds.write_label_set("bad", table.assign(frame_id=[0, 1, 2, 3, 4, 6]))
    assert sorted(ds.label_sets()) == ["human", "partial", "rule"]


def test_rule_labels_for_a_task_registered_later(datasets_root):
    from evalkit.tasks import TASKS, Task, register_task

    ds = _build(datasets_root, "later", n=12)
    try:
        register_task(
            Task(
                "tight",
                "cartpole",
                "a pole exactly upright",
                "pole and cart",
                rule="cartpole_upright",
                rule_params={"max_angle": 0.05},
            )
        )
        angles = ds.states["angle"].to_numpy()
        np.testing.assert_array_equal(ds.labels("tight"), np.abs(angles) <= 0.05)
    finally:
        TASKS.pop("tight", None)


def test_list_and_delete(datasets_root):
    _build(datasets_root, "one", n=4)
    _build(datasets_root, "two", n=6)
    infos = {i.name: i for i in list_datasets(datasets_root)}
    assert set(infos) == {"one", "two"}
    assert infos["two"].frames == 6 and infos["two"].label_sets == ("rule",)
    assert infos["two"].size_bytes > 6 * 8 * 8 * 3
    delete_dataset("one", datasets_root)
    assert [i.name for i in list_datasets(datasets_root)] == ["two"]
    with pytest.raises(DatasetError, match="No dataset called 'one'"):
        open_dataset("one", datasets_root)


def test_stale_temporary_of_a_dead_writer_is_removed(datasets_root):
    datasets_root.mkdir(parents=True)
    stale = datasets_root / ".tmp-toy-999999999-abc"
    stale.mkdir()
    _build(datasets_root, "toy")
    assert not stale.exists()


def test_dataset_folders_get_the_usual_permissions(datasets_root):
    import os
    import stat

    ds = _build(datasets_root, "perm")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(ds.path).st_mode) == 0o777 & ~mask
