"""Goals (and baselines) given as example frames instead of sentences.

A *frame set* names example frames; their unit image embeddings are averaged and the mean is
normalised again into a *prototype*, which takes the place of the goal (or baseline) text
embedding in Definition 1, with α as usual. Frame sets are written as:

==============================  =============================================================
``ids:3,17,42``                 frames of the evaluated dataset, by frame id
``labels:rule``                 the task's goal frames in a label set of the evaluated dataset
                                (``rule``, ``human``, ...) — *in-sample*: the goal is built
                                from the very labels it is then scored against
``DATASET@ids:...``             the same, from another dataset (of any family)
``DATASET@labels:human``
``path/to/folder``              every image in a folder (PNG, JPEG, ...), any size: the
                                model's own preprocessing resizes and crops them
==============================  =============================================================

Without baseline frames the baseline is the task's baseline prompt (a text embedding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from evalkit.data.store import Dataset, open_dataset, resolve_root
from evalkit.errors import EvalkitError
from evalkit.fileio import digest, file_digest
from evalkit.pipeline.labels import dataset_labels
from evalkit.pipeline.reward_kinds import FramePrototypeReward
from evalkit.pipeline.rewards import text_embeddings
from evalkit.pipeline.sources import RewardSource, pretrained_name
from evalkit.rewards import DEFAULT_ALPHAS, clip_rewards, combine_prompts
from evalkit.tasks import get_task

if TYPE_CHECKING:
    from evalkit.vlm import ModelSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class FrameSet:
    """Example frames, parsed from their written form (see the module docstring).

    :ivar text: the form as written (saved with results).
    :ivar dataset: the dataset they come from (``None``: the evaluated one).
    :ivar ids: frame ids (for ``ids:``).
    :ivar label_set: a label set (for ``labels:``).
    :ivar folder: a folder of images.
    """

    text: str
    dataset: str | None = None
    ids: tuple[int, ...] = ()
    label_set: str | None = None
    folder: Path | None = None

    @classmethod
    def parse(cls, text: str) -> "FrameSet":
        """Read ``ids:…``, ``labels:…``, ``DATASET@…`` or a folder path; a clear error otherwise."""
        body = text.strip()
        where, sep, rest = body.partition("@")
        dataset = where if sep else None
        body = rest if sep else body
        kind, colon, value = body.partition(":")
        if colon and kind == "ids":
            try:
                ids = tuple(int(v) for v in value.split(",") if v.strip())
            except ValueError:
                raise EvalkitError(
                    f"Frame ids are whole numbers, as in ids:3,17,42; not {text!r}."
                ) from None
            if not ids:
                raise EvalkitError(f"{text!r} names no frame ids; write ids:3,17,42.")
            return cls(text=text, dataset=dataset, ids=ids)
        if colon and kind == "labels":
            if not value:
                raise EvalkitError(
                    f"{text!r} names no label set; write labels:rule or labels:human."
                )
            return cls(text=text, dataset=dataset, label_set=value)
        if dataset is None and Path(body).is_dir():
            return cls(text=text, folder=Path(body))
        raise EvalkitError(
            f"{text!r} is not a frame set: write ids:3,17,42, labels:rule, DATASET@ids:… or "
            "DATASET@labels:…, or give a folder of images."
        )

    @classmethod
    def parse_standalone(cls, text: str) -> "FrameSet":
        """:meth:`parse` for a frame set that must name its frames without an evaluated dataset
        (a training run has none): ``DATASET@…`` or a folder."""
        frame_set = cls.parse(text)
        if frame_set.folder is None and frame_set.dataset is None:
            raise EvalkitError(
                f"{text!r} names frames of the evaluated dataset, and here there is none: name the "
                f"dataset, as DATASET@{text.strip()}, or give a folder of images."
            )
        return frame_set

    def frames(
        self, evaluated: Dataset | None, task: str
    ) -> np.ndarray | tuple[Dataset, np.ndarray]:
        """The frames' pixels (a folder), or their dataset and frame ids."""
        if self.folder is not None:
            return _folder_images(self.folder)
        if evaluated is None:
            raise ValueError("dataset frames need the evaluated dataset")
        ds = (
            evaluated if self.dataset is None else open_dataset(self.dataset, evaluated.path.parent)
        )
        if self.ids:
            bad = [i for i in self.ids if not 0 <= i < len(ds)]
            if bad:
                raise EvalkitError(
                    f"Frame {bad[0]} does not exist in dataset {ds.name!r} (frame ids run from 0 to {len(ds) - 1})."
                )
            return ds, np.asarray(self.ids)
        assert self.label_set is not None
        goal = dataset_labels(ds, task, self.label_set)
        ids = goal.frame_ids[goal.labels[goal.frame_ids]]
        if len(ids) == 0:
            raise EvalkitError(
                f"The {self.label_set} labels of dataset {ds.name!r} mark no goal frame for {task!r}."
            )
        return ds, ids


def _folder_images(folder: Path) -> np.ndarray:
    """Every image of ``folder`` as ``uint8 (h, w, 3)`` arrays (an object array: sizes may differ)."""
    from PIL import Image, UnidentifiedImageError

    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not paths:
        raise EvalkitError(f"The folder {folder} has no images.")
    images = []
    for p in paths:
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise EvalkitError(f"{p} is not an image (expected {', '.join(IMAGE_SUFFIXES)}).")
        try:
            with Image.open(p) as im:
                images.append(np.asarray(im.convert("RGB")))
        except (UnidentifiedImageError, OSError) as exc:
            raise EvalkitError(f"{p} is not a readable image ({exc}).") from None
    out = np.empty(len(images), dtype=object)
    out[:] = images
    return out


def frame_set_embeddings(
    frame_set: FrameSet,
    evaluated: Dataset | None,
    task: str,
    model: "ModelSpec | str",
    precision: str = "fp32",
    **embed: Any,
) -> np.ndarray:
    """Unit image embeddings ``(m, d)`` of a frame set: from the cache for dataset frames,
    embedded now (frames of one size at a time, the model's preprocessing) for a folder."""
    # torch and open_clip: loaded only when a model is used
    from evalkit.vlm import ImageEmbedder, embed_dataset, parse_devices, resolve

    resolved = resolve(model)
    source = frame_set.frames(evaluated, task)
    if isinstance(source, tuple):
        ds, ids = source
        return np.asarray(embed_dataset(ds, resolved, precision=precision, **embed).values[ids])
    device = parse_devices(embed.get("devices", "auto"))[0]
    with ImageEmbedder(resolved, device, precision, allow_upscale=True) as embedder:
        rows = np.empty((len(source), 0), dtype=np.float32)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(source):
            by_shape.setdefault(image.shape, []).append(i)
        for members in by_shape.values():
            emb = embedder.embed_frames(np.stack([source[i] for i in members]))
            if rows.shape[1] == 0:
                rows = np.empty((len(source), emb.shape[1]), dtype=np.float32)
            rows[members] = emb
        return rows


def prototype_embedding(
    text: str,
    task: str,
    model: "ModelSpec | str",
    precision: str = "fp32",
    root: str | Path | None = None,
    **embed: Any,
) -> np.ndarray:
    """The unit prototype of a frame set that names its frames without an evaluated dataset
    (training has none): ``DATASET@ids:…``, ``DATASET@labels:…`` or a folder of images.

    :param root: the datasets root of ``DATASET`` (default ``$EVALKIT_DATASETS`` or ``./datasets``).
    :raises EvalkitError: a frame set of "the evaluated dataset" (``ids:…``, ``labels:…``).
    """
    frame_set = FrameSet.parse_standalone(text)
    if frame_set.folder is not None:
        home: Dataset | None = None
    else:
        assert frame_set.dataset is not None
        home = open_dataset(frame_set.dataset, resolve_root(root))
        frame_set = FrameSet(text, None, frame_set.ids, frame_set.label_set)
    return combine_prompts(frame_set_embeddings(frame_set, home, task, model, precision, **embed))


def frame_set_identity(text: str, task: str, root: str | Path | None = None) -> str:
    """The content hash of the frames a standalone frame set names now (the pixels of dataset
    frames, the bytes of a folder's images): a training run records it, so that a goal whose
    frames changed is noticed.

    :param root: the datasets root of ``DATASET`` (default ``$EVALKIT_DATASETS`` or ``./datasets``).
    """
    frame_set = FrameSet.parse_standalone(text)
    if frame_set.folder is not None:
        paths = sorted(
            p for p in frame_set.folder.iterdir() if p.is_file() and not p.name.startswith(".")
        )
        return digest(*(part for p in paths for part in (p.name, file_digest(p))))
    assert frame_set.dataset is not None
    home = open_dataset(frame_set.dataset, resolve_root(root))
    ds, ids = FrameSet(text, None, frame_set.ids, frame_set.label_set).frames(home, task)
    frames = ds.frames
    return digest(*(np.ascontiguousarray(frames[int(i)]).tobytes() for i in ids))


def prototype_reward_source(
    dataset: Dataset,
    task: str,
    model: "ModelSpec | str",
    goal_frames: str,
    baseline_frames: str | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    *,
    precision: str = "fp32",
    **embed: Any,
) -> RewardSource:
    """Definition 1 with the goal (and baseline) as frame prototypes, for every frame and α.

    :param goal_frames: the goal's frame set (see the module docstring).
    :param baseline_frames: the baseline's frame set; ``None``: the task's baseline prompt.
    :param embed: passed to the embedding engine (``devices``, ``batch_size``, ``progress``).
    """
    # torch and open_clip: loaded only when a model is used
    from evalkit.vlm import ModelSpec, embed_dataset, resolve
    from evalkit.vlm.models import canonical_model_name

    spec = ModelSpec.coerce(model)
    resolved = resolve(spec)
    goal_set = FrameSet.parse(goal_frames)
    goal = combine_prompts(frame_set_embeddings(goal_set, dataset, task, spec, precision, **embed))
    if baseline_frames is not None:
        base_set = FrameSet.parse(baseline_frames)
        baseline = combine_prompts(
            frame_set_embeddings(base_set, dataset, task, spec, precision, **embed)
        )
        base_text = base_set.text
    else:
        t = get_task(task)
        devices = embed.get("devices", "auto")
        baseline = combine_prompts(
            text_embeddings(dataset, resolved, [t.baseline_prompt], precision, devices)
        )
        base_text = f"{FramePrototypeReward.PROMPT}{t.baseline_prompt}"
    images = embed_dataset(dataset, resolved, precision=precision, **embed).values
    a = tuple(float(x) for x in alphas)
    values = np.asarray(clip_rewards(images, goal, baseline, a), dtype=float)
    name = canonical_model_name(spec.model)
    return RewardSource(
        reward=FramePrototypeReward(
            name, spec.pretrained, a, goal_set.text, baseline_frames, base_text
        ),
        values=values,
        alphas=a,
        model=name,
        pretrained=pretrained_name(name, spec.pretrained),
        model_identity=resolved.label,
        random_weights=bool(resolved.random_weights),
        identity=digest(
            resolved.label, goal.astype("<f8").tobytes(), np.asarray(baseline, "<f8").tobytes()
        ),
    )
