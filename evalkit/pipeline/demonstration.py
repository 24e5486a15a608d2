"""A demonstration as the goal of a video reward: ``--goal-video DATASET@episode:N`` or a
folder of frames (sorted by file name, all of one size).

Its frames, subsampled to the model's frame count by the episode sampling rule
(:func:`~evalkit.vlm.windows.episode_sample`: evenly spaced, the first and the last included),
are embedded by the reward's own video model; that video embedding replaces the goal prompt's
text embedding in Definition 1 (the baseline stays the task's baseline prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from evalkit.data.store import open_dataset
from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.vlm.embedder import ImageEmbedder


@dataclass(frozen=True)
class Demonstration:
    """A demonstration given as the goal: ``DATASET@episode:N`` or a folder of frames.

    :ivar text: as written.
    :ivar dataset: the dataset (``None``: a folder).
    :ivar episode: the episode's id in it.
    :ivar folder: a folder of frames.
    """

    text: str
    dataset: str | None = None
    episode: int | None = None
    folder: Path | None = None

    PREFIX: ClassVar[str] = "episode:"

    @classmethod
    def parse(cls, text: str) -> "Demonstration":
        """Read ``DATASET@episode:N`` or a folder path.

        :raises EvalkitError: neither, in one sentence.
        """
        where, sep, rest = text.strip().partition("@")
        if sep:
            number = rest[len(cls.PREFIX) :] if rest.startswith(cls.PREFIX) else ""
            if not (where and number.strip().lstrip("-").isdigit()):
                raise EvalkitError(
                    f"A demonstration is DATASET@episode:N or a folder of frames, not {text!r}."
                )
            return cls(text, dataset=where, episode=int(number))
        if Path(text).is_dir():
            return cls(text, folder=Path(text))
        raise EvalkitError(
            f"The demonstration {text!r} does not exist: give DATASET@episode:N or a folder of frames."
        )

    def frames(self, root: Path) -> np.ndarray:
        """The demonstration's frames, oldest first, ``uint8 (L, H, W, 3)``.

        :param root: the datasets folder (where ``DATASET`` is looked up).
        :raises EvalkitError: the dataset or episode does not exist, or a folder's frames differ
            in size.
        """
        if self.folder is not None:
            from evalkit.pipeline.prototypes import _folder_images

            images = list(_folder_images(self.folder))
            if len({im.shape for im in images}) > 1:
                raise EvalkitError(
                    f"The demonstration's frames in {self.folder} are not all of one size."
                )
            return np.stack(images)
        ds = open_dataset(str(self.dataset), root)
        states = ds.states
        mine = np.flatnonzero(states["episode"].to_numpy() == self.episode)
        if len(mine) == 0:
            raise EvalkitError(
                f"Dataset {ds.name!r} has no episode {self.episode} (the demonstration {self.text!r})."
            )
        order = mine[np.argsort(states["step"].to_numpy()[mine], kind="stable")]
        return np.asarray(ds.frames[order])

    def identity(self, embedding: np.ndarray) -> str:
        """What results record of this goal: as written, and its embedding's digest."""
        from evalkit.fileio import digest

        return f"{self.text}\x1e{digest(np.asarray(embedding).tobytes())}"

    def embedding(self, embedder: "ImageEmbedder", count: int, root: Path) -> np.ndarray:
        """The demonstration's unit video embedding ``(dim,)`` (``count`` frames, the episode
        sampling rule).

        :raises EvalkitError: shorter than ``count`` frames (its length and the count said).
        """
        from evalkit.vlm.windows import episode_sample

        frames = self.frames(root)
        if len(frames) < count:
            raise EvalkitError(
                f"The demonstration {self.text!r} has {len(frames)} frames, fewer than the "
                f"{count} the model takes."
            )
        rows = episode_sample(len(frames), count)[None]
        return embedder.embed_windows(frames, rows)[0]
