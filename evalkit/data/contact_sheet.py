"""Contact sheets: a grid of a dataset's frames, each captioned with its frame id and goal label.

Used by ``evalkit show`` and the report builder::

    from evalkit.data.store import open_dataset
    from evalkit.data.contact_sheet import contact_sheet

    sheet = contact_sheet(open_dataset("cartpole-sweep"), n=16)   # PIL.Image
    sheet.save("cartpole.png")

Frames are chosen evenly spaced over the dataset (first and last included). Each tile shows the
frame, a caption ``#<frame id>`` with the value of the family's state axis (pole angle, car
position) when it has one, and the goal label of one task — by default the family's first
task — drawn green for goal frames and grey otherwise (``?`` when the label set has no label
for the frame).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from evalkit.data.store import RULE_LABELS, Dataset
from evalkit.errors import EvalkitError
from evalkit.tasks import FAMILIES, get_task, tasks_for_family

GOAL_COLOUR = (46, 160, 67)
OTHER_COLOUR = (140, 140, 140)
UNKNOWN_COLOUR = (200, 120, 40)
BACKGROUND = (255, 255, 255)
TILE_RANGE = (128, 256)
"""Frames are scaled by a whole factor (up or down) so their longer side falls in this range,
unless a tile size is given."""


def sheet_frame_ids(n_frames: int, n: int) -> np.ndarray:
    """``min(n, n_frames)`` distinct frame ids evenly spaced over ``[0, n_frames)``, first and
    last included."""
    if n <= 0:
        raise EvalkitError(f"A contact sheet needs at least one frame, not {n}.")
    if n_frames <= 0:
        raise EvalkitError("The dataset has no frames to show.")
    if n >= n_frames:
        return np.arange(n_frames)
    return np.unique(np.round(np.linspace(0, n_frames - 1, n)).astype(np.int64))


@dataclass(frozen=True)
class _Caption:
    text: str
    label: str
    colour: tuple[int, int, int]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _auto_tile(frame_shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = frame_shape[:2]
    longer = max(h, w)
    lo, hi = TILE_RANGE
    if longer < lo:
        f = math.ceil(lo / longer)
        return w * f, h * f
    if longer > hi:
        f = math.ceil(longer / hi)
        return max(1, w // f), max(1, h // f)
    return w, h


def _labels(dataset: Dataset, task: str, label_set: str) -> np.ndarray | None:
    """Labels as 1/0, or -1 where unknown; ``None`` when the label set has nothing for the task."""
    try:
        if label_set == RULE_LABELS:
            return dataset.labels(task, label_set).astype(np.int8)
        table = dataset.label_table(label_set)
    except EvalkitError:
        return None
    rows = table[table["task"] == task]
    if rows.empty:
        return None
    out = np.full(len(dataset), -1, dtype=np.int8)
    out[rows["frame_id"].to_numpy()] = rows["label"].to_numpy(dtype=bool)
    return out


def contact_sheet(
    dataset: Dataset,
    n: int = 16,
    *,
    task: str | None = None,
    label_set: str = RULE_LABELS,
    columns: int | None = None,
    tile: tuple[int, int] | None = None,
    title: bool = True,
) -> Image.Image:
    """A grid of ``n`` evenly spaced frames of ``dataset`` with captions (see the module docstring).

    :param dataset: an opened dataset.
    :param n: number of frames (all of them if the dataset is smaller).
    :param task: task whose goal label is shown (default: the family's first task).
    :param label_set: label set to read (``rule`` by default; ``human`` etc.).
    :param columns: tiles per row (default: about square).
    :param tile: (width, height) of each frame in pixels (default: frames scaled by a whole
        factor into 128-256 pixels).
    :param title: draw a title line with the dataset name, family and label source.
    :returns: an RGB :class:`PIL.Image.Image`.
    """
    ids = sheet_frame_ids(len(dataset), n)
    family_tasks = tasks_for_family(dataset.family)
    task_name = task or (family_tasks[0].name if family_tasks else None)
    if task is not None:
        get_task(task)  # clear error for unknown names
    labels = _labels(dataset, task_name, label_set) if task_name else None
    axis = FAMILIES[dataset.family].state_axis if dataset.family in FAMILIES else None
    states = dataset.states
    axis_values = states[axis].to_numpy() if axis and axis in states.columns else None

    tw, th = tile or _auto_tile(dataset.frames.shape[1:])
    cols = columns or math.ceil(math.sqrt(len(ids)))
    rows = math.ceil(len(ids) / cols)
    font = _font(max(10, min(16, tw // 12)))
    line_h = int(font.getbbox("Ag#0")[3]) + 4
    pad = 6
    cell_w, cell_h = tw + pad, th + 2 * line_h + pad
    title_h = line_h + 2 * pad if title else 0
    sheet = Image.new("RGB", (cols * cell_w + pad, rows * cell_h + pad + title_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        source = f"labels: {task_name} ({label_set})" if task_name else "no task"
        draw.text(
            (pad, pad),
            f"{dataset.name} - {dataset.family}, {len(dataset)} frames - {source}",
            fill=(20, 20, 20),
            font=font,
        )

    for k, frame_id in enumerate(ids):
        r, c = divmod(k, cols)
        x0, y0 = pad + c * cell_w, title_h + pad + r * cell_h
        frame = Image.fromarray(np.asarray(dataset.frames[frame_id]))
        if frame.size != (tw, th):
            up = tw >= frame.size[0] and th >= frame.size[1]
            frame = frame.resize((tw, th), Image.Resampling.NEAREST if up else Image.Resampling.BOX)
        cap = _caption(int(frame_id), labels, axis, axis_values, task_name)
        draw.rectangle([x0 - 2, y0 - 2, x0 + tw + 1, y0 + th + 1], outline=cap.colour, width=2)
        sheet.paste(frame, (x0, y0))
        draw.text((x0, y0 + th + 3), cap.text, fill=(30, 30, 30), font=font)
        draw.text((x0, y0 + th + 3 + line_h), cap.label, fill=cap.colour, font=font)
    return sheet


def _caption(
    frame_id: int,
    labels: np.ndarray | None,
    axis: str | None,
    axis_values: np.ndarray | None,
    task: str | None,
) -> _Caption:
    text = f"#{frame_id}"
    if axis is not None and axis_values is not None:
        text += f"  {axis}={axis_values[frame_id]:+.3f}"
    if labels is None or task is None:
        return _Caption(text, "no label", UNKNOWN_COLOUR)
    value = int(labels[frame_id])
    if value < 0:
        return _Caption(text, f"{task}: ?", UNKNOWN_COLOUR)
    return _Caption(
        text, f"{task}: {'goal' if value else 'not goal'}", GOAL_COLOUR if value else OTHER_COLOUR
    )
