"""The in-memory engine: :class:`ImageEmbedder`, a loaded model (any backend) that embeds batches of
``uint8 (n, H, W, 3)`` frames and prompts (e.g. inside RL training), with a batch read ahead
on a thread, the batch size halved when it does not fit, and the model released by
:meth:`~ImageEmbedder.close` (or at the end of a ``with`` block)."""

from __future__ import annotations

import contextlib
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from evalkit.errors import EvalkitError, ModelError
from evalkit.vlm.backend import LoadedModel, ResolvedModel, check_window_input
from evalkit.vlm.devices import autocast_for, keep_freed_memory, parse_devices
from evalkit.vlm.models import ModelSpec, load_model
from evalkit.vlm.precision import check_precision
from evalkit.vlm.preprocess import BatchPreprocessor

DEFAULT_BATCH = {"cpu": 32, "cuda": 256}
"""Frames per forward pass when none is asked for, by device type."""

Message = Callable[[str], None]
"""Where warnings and notes go."""


def say_on_stderr(message: str) -> None:
    """Write ``message`` to standard error without breaking a progress bar."""
    try:
        tqdm.write(message, file=sys.stderr)
    except Exception:  # pragma: no cover
        print(message, file=sys.stderr)


def check_batch_size(batch_size: int | None) -> None:
    """:raises EvalkitError: a batch size below 1 (``None`` means the default)."""
    if batch_size is not None and batch_size < 1:
        raise EvalkitError(f"The batch size must be at least 1, not {batch_size}.")


def _closed_forward(pixels: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("This ImageEmbedder is closed; make a new one.")


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


class ImageEmbedder:
    """A loaded model (any backend, :mod:`evalkit.vlm.backend`) that embeds batches of frames and prompts (float32, unit norm).

    :param spec: the model (see :class:`~evalkit.vlm.registry.ModelSpec`), or an already
        :func:`~evalkit.vlm.models.load_model`-ed one.
    :param device: ``"cpu"``, ``"cuda:0"``...
    :param precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (autocast; outputs stay float32).
    :param batch_size: frames per forward pass (default 32 on the CPU, 256 on a GPU); halved
        automatically when it does not fit in memory.
    :param allow_upscale: accept frames smaller than the model's input (see
        :class:`~evalkit.vlm.preprocess.BatchPreprocessor`).
    :param on_message: where warnings go (default: standard error).

    Example (rewards for frames rendered during training)::

        with ImageEmbedder(ModelSpec("ViT-B-32"), device="cuda:0", precision="bf16") as embedder:
            emb = embedder.embed_frames(frames)            # (n, 512) float32, unit norm
            goal = embedder.embed_texts(["pole vertically upright on top of the cart"])
    """

    def __init__(
        self,
        spec: ModelSpec | ResolvedModel | LoadedModel | str,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        batch_size: int | None = None,
        allow_upscale: bool = False,
        pretrained: str | None = None,
        on_message: Message | None = None,
    ) -> None:
        check_precision(precision)
        check_batch_size(batch_size)
        self._loaded: LoadedModel | None = (
            spec
            if isinstance(spec, LoadedModel)
            else load_model(spec, parse_devices(str(device))[0], pretrained)
        )
        self.device = self.loaded.device
        self.precision = precision
        self.batch_size = batch_size or DEFAULT_BATCH.get(self.device.type, 32)
        self.allow_upscale = allow_upscale
        self.on_message = on_message or say_on_stderr
        self._preprocessors: dict[tuple[int, int], BatchPreprocessor] = {}
        self._texts: dict[str, np.ndarray] = {}
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-prefetch")
        if self.device.type == "cpu":
            keep_freed_memory()
        # The backend's fastest image forward (e.g. open_clip's class-token-only last block),
        # and whether it wants channels-last pixels (convolutional towers).
        self.channels_last = self.loaded.channels_last
        self._image_forward = self.loaded.image_forward()

    # lifetime --------------------------------------------------------------------------------------

    @property
    def loaded(self) -> LoadedModel:
        """The model this embedder runs (:class:`~evalkit.vlm.backend.LoadedModel`)."""
        if self._loaded is None:
            raise RuntimeError("This ImageEmbedder is closed; make a new one.")
        return self._loaded

    def close(self) -> None:
        """Release the model (its memory, on the GPU too, once nothing else holds it), the
        preprocessors and the read-ahead thread. The embedder cannot embed afterwards; closing
        it again does nothing."""
        if self._loaded is None:
            return
        self._prefetch.shutdown(wait=True)
        self._loaded = None
        self._image_forward = _closed_forward
        self._preprocessors.clear()
        self._texts.clear()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def __enter__(self) -> ImageEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # identity ------------------------------------------------------------------------------------

    @property
    def resolved(self) -> ResolvedModel:
        return self.loaded.resolved

    @property
    def label(self) -> str:
        return self.loaded.label

    @property
    def random_weights(self) -> bool:
        return self.loaded.random_weights

    @property
    def embed_dim(self) -> int:
        return self.loaded.embed_dim

    # images ----------------------------------------------------------------------------------------

    def preprocessor(self, in_hw: Sequence[int]) -> BatchPreprocessor:
        """The (cached) batch preprocessor for frames of ``in_hw`` = (height, width)."""
        key = (int(in_hw[0]), int(in_hw[1]))
        if key not in self._preprocessors:
            self._preprocessors[key] = BatchPreprocessor(
                self.loaded.preprocess, key, self.device, self.allow_upscale
            )
        return self._preprocessors[key]

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast_for(self.device.type, self.precision)

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unit-norm float32 embeddings of preprocessed pixels ``(n, 3, h, w)`` on the device."""
        if self.channels_last:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self._autocast():
            emb = self._image_forward(pixels)
        return F.normalize(emb.float(), dim=-1)

    def encode_windows(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unit-norm float32 embeddings of preprocessed windows ``(n, frames, 3, h, w)``."""
        with torch.inference_mode(), self._autocast():
            emb = self.loaded.encode_windows(pixels)
        return F.normalize(emb.float(), dim=-1)

    def _load(
        self,
        frames: np.ndarray | torch.Tensor,
        a: int,
        b: int,
        pre: BatchPreprocessor,
        windows: np.ndarray | None = None,
    ) -> torch.Tensor:
        """``frames[a:b]`` (or the frames of ``windows[a:b]``, flattened) read into memory; on a
        GPU also resized (host work that overlaps the GPU's, on the prefetch thread) and pinned.
        On the CPU the resize waits for the model's turn: run beside it, it would only take
        cores from the matrix products."""
        if windows is None:
            batch = frames[a:b]
        elif isinstance(frames, torch.Tensor):
            batch = frames[torch.from_numpy(np.asarray(windows[a:b]).ravel())]
        else:
            batch = frames[np.asarray(windows[a:b]).ravel()]
        if isinstance(batch, torch.Tensor):
            x = batch
        elif isinstance(batch, np.memmap) or not (
            batch.flags.writeable and batch.flags.c_contiguous
        ):
            x = torch.from_numpy(
                np.array(batch, copy=True)
            )  # read from disk (or made contiguous) once
        else:
            x = torch.from_numpy(batch)  # frames in memory: used where they are, only read
        if self.device.type == "cuda":
            x = pre.resize_uint8(x).pin_memory()
        return x

    def _pixels(self, loaded: torch.Tensor, pre: BatchPreprocessor) -> torch.Tensor:
        """Model input from what :meth:`_load` returned."""
        return pre.normalize(loaded) if self.device.type == "cuda" else pre(loaded)

    def iter_batches(
        self,
        frames: np.ndarray | torch.Tensor,
        start: int = 0,
        stop: int | None = None,
        windows: np.ndarray | None = None,
    ) -> Iterator[tuple[int, int, torch.Tensor]]:
        """``(a, b, embeddings of frames[a:b])`` over ``frames[start:stop]`` in batches; with
        ``windows`` (rows of ``frames``, ``(n, k)``: :func:`~evalkit.vlm.windows.window_rows`),
        the embeddings of the windows ``windows[a:b]`` over ``windows[start:stop]``.

        Frames are read (from a memory map) one batch ahead on a thread. A batch that does not
        fit in memory is retried at half the size (said once per halving; a batch of windows
        holds ``batch_size // k`` windows). Embeddings that are not finite raise
        :class:`~evalkit.errors.ModelError`; single frames for a video model, windows for an
        image model too.
        """
        k = None if windows is None else int(windows.shape[1])
        check_window_input(self.resolved, k)
        stop = (len(frames) if windows is None else len(windows)) if stop is None else stop
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise EvalkitError(f"Frames must be (n, height, width, 3), not {tuple(frames.shape)}.")
        pre = self.preprocessor(frames.shape[1:3])
        a = start
        pending: tuple[int, int, Future[torch.Tensor]] | None = None
        while a < stop:
            per = self.batch_size if k is None else max(1, self.batch_size // k)
            b = min(stop, a + per)
            if pending is not None and pending[:2] == (a, b):
                x = pending[2].result()
            else:
                x = self._load(frames, a, b, pre, windows)
            nb = min(stop, b + per)
            pending = (
                (b, nb, self._prefetch.submit(self._load, frames, b, nb, pre, windows))
                if b < stop
                else None
            )
            try:
                pixels = self._pixels(x, pre)
                emb = (
                    self.encode_pixels(pixels)
                    if k is None
                    else self.encode_windows(pixels.reshape(b - a, k, *pixels.shape[1:]))
                )
            except Exception as exc:
                if not _is_oom(exc):
                    raise
                if self.batch_size == 1:
                    raise ModelError(
                        f"{self.label} does not fit in memory on {self.device} even one frame at a time."
                    ) from None
                old, self.batch_size = self.batch_size, max(1, self.batch_size // 2)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.on_message(
                    f"Batch size {old} does not fit in memory on {self.device}; continuing with {self.batch_size}."
                )
                pending = None
                continue
            if not bool(torch.isfinite(emb).all()):
                raise ModelError(
                    f"{self.label} produced NaN or infinite embeddings for frames {a}–{b - 1} in {self.precision} on "
                    f"{self.device}; they were not cached. Try --precision fp32 (or bf16 instead of fp16)."
                )
            yield a, b, emb
            a = b

    def embed_frames(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embeddings of ``uint8 (n, H, W, 3)`` frames: float32 ``(n, dim)``, unit norm."""
        frames = frames if isinstance(frames, (np.ndarray, torch.Tensor)) else np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        out = np.empty((len(frames), self.embed_dim), dtype=np.float32)
        for a, b, emb in self.iter_batches(frames):
            out[a:b] = emb.cpu().numpy()
        return out

    def embed_windows(self, frames: np.ndarray | torch.Tensor, windows: np.ndarray) -> np.ndarray:
        """Embeddings of the windows ``windows`` (rows of ``frames``, ``(n, k)``) of ``uint8
        (N, H, W, 3)`` frames: float32 ``(n, dim)``, unit norm (a video model's).

        :raises ModelError: an image model (it embeds single frames).
        """
        windows = np.asarray(windows, dtype=np.int64)
        out = np.empty((len(windows), self.embed_dim), dtype=np.float32)
        for a, b, emb in self.iter_batches(frames, windows=windows):
            out[a:b] = emb.cpu().numpy()
        return out

    def embed_window_texts(
        self, frames: np.ndarray | torch.Tensor, windows: np.ndarray, prompts: Sequence[str]
    ) -> np.ndarray:
        """Text embeddings of ``prompts`` for each window: float32 ``(n, len(prompts), dim)``,
        unit norm. A model that conditions its text on the video (X-CLIP) gives its own
        conditioned embeddings; any other gives its text embeddings, the same for every window.

        :param frames: ``uint8 (N, H, W, 3)``.
        :param windows: rows of ``frames``, ``(n, k)``.
        :param prompts: the texts.
        """
        windows = np.asarray(windows, dtype=np.int64)
        check_window_input(self.resolved, int(windows.shape[1]))
        pre = self.preprocessor(frames.shape[1:3])
        out = np.empty((len(windows), len(prompts), self.embed_dim), dtype=np.float32)
        per = max(1, self.batch_size // windows.shape[1])
        for a in range(0, len(windows), per):
            b = min(len(windows), a + per)
            pixels = self._pixels(self._load(frames, a, b, pre, windows), pre)
            pixels = pixels.reshape(b - a, windows.shape[1], *pixels.shape[1:])
            with torch.inference_mode(), self._autocast():
                emb = self.loaded.encode_window_texts(pixels, list(prompts))
            out[a:b] = F.normalize(emb.float(), dim=-1).cpu().numpy()
        if not np.isfinite(out).all():
            raise ModelError(
                f"{self.label} produced NaN text embeddings in {self.precision}; try --precision fp32."
            )
        return out

    # text --------------------------------------------------------------------------------------------

    def embed_texts(self, prompts: Sequence[str] | str) -> np.ndarray:
        """Embeddings of prompts with the model's own tokenizer: float32 ``(k, dim)``, unit norm."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        todo = [p for p in dict.fromkeys(prompts) if p not in self._texts]
        if todo:
            with torch.inference_mode(), self._autocast():
                emb = self.loaded.encode_texts(todo)
            emb = F.normalize(emb.float(), dim=-1).cpu().numpy()
            if not np.isfinite(emb).all():
                raise ModelError(
                    f"{self.label} produced NaN text embeddings in {self.precision}; try --precision fp32."
                )
            self._texts.update(zip(todo, emb))
        return (
            np.stack([self._texts[p] for p in prompts])
            if prompts
            else np.zeros((0, self.embed_dim), np.float32)
        )
