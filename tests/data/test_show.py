"""Contact sheets (``evalkit show``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers_envs import small_sweep
from PIL import Image

from evalkit.data.contact_sheet import (
    GOAL_COLOUR,
    OTHER_COLOUR,
    UNKNOWN_COLOUR,
    contact_sheet,
    sheet_frame_ids,
)
from evalkit.data.store import open_dataset
from evalkit.errors import EvalkitError


def test_frame_ids_are_evenly_spaced_with_both_ends():
    np.testing.assert_array_equal(sheet_frame_ids(100, 5), [0, 25, 50, 74, 99])
    np.testing.assert_array_equal(sheet_frame_ids(10, 16), np.arange(10))
    ids = sheet_frame_ids(1000, 16)
    assert len(ids) == 16 and ids[0] == 0 and ids[-1] == 999
    assert np.ptp(np.diff(ids)) <= 1
    with pytest.raises(EvalkitError, match="at least one frame"):
        sheet_frame_ids(10, 0)


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]


def _find(sheet: np.ndarray, frame: np.ndarray) -> list[tuple[int, int]]:
    """Top-left corners where ``frame`` appears in ``sheet`` exactly (searched from the frame
    pixel whose colour is rarest in the sheet)."""
    h, w = frame.shape[:2]
    packed_sheet, packed_frame = _pack(sheet), _pack(frame)
    colours, counts = np.unique(packed_sheet, return_counts=True)
    pos = np.clip(np.searchsorted(colours, packed_frame), 0, len(colours) - 1)
    present = colours[pos] == packed_frame
    if not present.all():
        return []
    ay, ax = np.unravel_index(np.argmin(counts[pos]), packed_frame.shape)
    ys, xs = np.nonzero(packed_sheet == packed_frame[ay, ax])
    hits = []
    for y, x in zip(ys - ay, xs - ax):
        if (
            0 <= y <= sheet.shape[0] - h
            and 0 <= x <= sheet.shape[1] - w
            and np.array_equal(sheet[y : y + h, x : x + w], frame)
        ):
            hits.append((int(y), int(x)))
    return hits


def test_sheet_shows_the_chosen_frames_in_order_with_label_colours(datasets_root):
    ds = small_sweep("cartpole", datasets_root, n=9, size=128).dataset  # frames used as they are
    sheet = np.asarray(contact_sheet(ds, n=9, columns=3))
    labels = ds.labels("cartpole")
    assert labels.sum() == 1 and labels[4]  # angle 0 is the middle frame
    positions = []
    for i in range(9):
        hits = _find(sheet, np.asarray(ds.frames[i]))
        assert len(hits) == 1, i
        y, x = hits[0]
        positions.append((y, x))
        # the frame's border says goal (green) or not (grey)
        border = tuple(int(v) for v in sheet[y - 1, x + 10])
        assert border == (GOAL_COLOUR if labels[i] else OTHER_COLOUR), i
    # row-major order: three rows of three
    rows = sorted({y for y, _ in positions})
    assert len(rows) == 3 and [positions[i][0] for i in range(9)] == [
        rows[i // 3] for i in range(9)
    ]
    assert positions[0][1] < positions[1][1] < positions[2][1]


def test_small_frames_are_enlarged_and_n_is_capped(datasets_root):
    ds = small_sweep("mountaincar", datasets_root, n=5, size=32).dataset
    img = contact_sheet(ds, n=50)
    assert isinstance(img, Image.Image) and img.mode == "RGB"
    big = np.asarray(
        Image.fromarray(np.asarray(ds.frames[4])).resize((128, 128), Image.Resampling.NEAREST)
    )
    assert len(_find(np.asarray(img), big)) == 1  # 32 px frames shown 4x, all 5 frames
    assert all(
        len(
            _find(
                np.asarray(img),
                np.asarray(
                    Image.fromarray(np.asarray(f)).resize((128, 128), Image.Resampling.NEAREST)
                ),
            )
        )
        == 1
        for f in ds.frames
    )


def test_other_label_sets_and_unknown_labels(datasets_root):
    ds = small_sweep("cartpole", datasets_root, n=4, size=16).dataset
    ds.write_label_set(
        "human", pd.DataFrame({"frame_id": [0, 1], "task": "cartpole", "label": [True, False]})
    )
    sheet = np.asarray(contact_sheet(ds, n=4, label_set="human", title=False))
    for i, colour in enumerate([GOAL_COLOUR, OTHER_COLOUR, UNKNOWN_COLOUR, UNKNOWN_COLOUR]):
        big = np.asarray(
            Image.fromarray(np.asarray(ds.frames[i])).resize((128, 128), Image.Resampling.NEAREST)
        )
        ((y, x),) = _find(sheet, big)
        assert tuple(int(v) for v in sheet[y - 1, x + 10]) == colour, i
    with pytest.raises(EvalkitError, match="Unknown task"):
        contact_sheet(ds, n=4, task="nope")


def test_cli_show_writes_a_png_and_prints_its_path(cli, datasets_root, tmp_path, monkeypatch):
    assert cli("collect", "cartpole", "--n", "8", "--size", "32").exit_code == 0
    out = tmp_path / "sheets" / "cp.png"
    result = cli("show", "cartpole-sweep", "--n", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 2 * 128
    # default output: the reports folder
    monkeypatch.setenv("EVALKIT_REPORTS", str(tmp_path / "reports"))
    result = cli("show", "cartpole-sweep")
    assert (
        result.exit_code == 0 and (tmp_path / "reports" / "cartpole-sweep-rule-sheet.png").is_file()
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "No dataset called 'nope'"),
        (["cartpole-sweep", "--n", "0"], "at least one frame"),
        (["cartpole-sweep", "--task", "kneling"], "Did you mean 'kneeling'"),
    ],
)
def test_cli_show_errors(cli, datasets_root, args, message):
    assert cli("collect", "cartpole", "--n", "4", "--size", "16").exit_code == 0
    result = cli("show", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_cli_show_out_is_a_folder(cli, datasets_root, tmp_path):
    assert cli("collect", "cartpole", "--n", "4", "--size", "16").exit_code == 0
    result = cli("show", "cartpole-sweep", "--out", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.stderr
    assert math.isfinite(len(open_dataset("cartpole-sweep")))


def test_show_refuses_other_families_missing_label_sets_and_other_formats(
    cli, datasets_root, tmp_path
):
    assert cli("collect", "cartpole", "--n", "6", "--size", "32").exit_code == 0
    wrong = cli("show", "cartpole-sweep", "--task", "kneeling")
    assert wrong.exit_code == 2 and "runs on humanoid" in wrong.output
    missing = cli("show", "cartpole-sweep", "--labels", "human")
    assert missing.exit_code == 2 and "no label set 'human'" in missing.output
    jpg = cli("show", "cartpole-sweep", "--out", str(tmp_path / "x.jpg"))
    assert (
        jpg.exit_code == 2 and "ending in .png" in jpg.output and not (tmp_path / "x.jpg").exists()
    )
