"""The embedding engine: every frame of a dataset through the image tower once, on every device.

:func:`embed_dataset` reads frames in big batches straight from the dataset's memory-mapped
``frames.npy``, preprocesses each batch as tensors
(:class:`~evalkit.vlm.preprocess.BatchPreprocessor`: open_clip's PIL transform within one grey
level, resized in ``uint8`` on the host and normalised on the model's device), runs the image tower under ``torch.inference_mode`` in the chosen precision
(``fp32``, or ``bf16`` / ``fp16`` autocast) and stores float32, L2-normalised embeddings in the
dataset's cache (:mod:`evalkit.vlm.cache`), one shard at a time.

Devices (``devices=``):

- ``"auto"``: every CUDA GPU, else the CPU;
- ``"cpu"``, ``"cuda:0"``, ``"cuda:0,cuda:1"``: one worker per listed device; a device may be
  listed twice, e.g. ``"cpu,cpu"`` runs two CPU workers that share the cores.

With more than one device, one process per device is spawned (``torch.multiprocessing``); each
embeds a contiguous run of the missing shards; the parent merges. Under ``torchrun`` (``RANK``
and ``WORLD_SIZE`` in the environment) the same happens across processes and machines: each rank
takes its run of shards on ``cuda:LOCAL_RANK`` (or the CPU), and rank 0 merges, receiving over
``torch.distributed`` any shard it cannot see on its own disk::

    torchrun --nproc-per-node 8 --no-python evalkit embed humanoid-poses --model ViT-bigG-14

:class:`ImageEmbedder` is the same engine without a dataset: load a model once, embed batches
of ``uint8 (n, H, W, 3)`` frames (e.g. inside RL training), embed prompts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from evalkit.data.store import Dataset, open_dataset
from evalkit.errors import EvalkitError, ModelError
from evalkit.vlm.cache import EmbeddingCache, default_shard_frames
from evalkit.vlm.models import LoadedModel, ModelSpec, ResolvedSpec, ensure_weights, load_model, resolve
from evalkit.vlm.preprocess import BatchPreprocessor, plan_resize

PRECISIONS = ("fp32", "bf16", "fp16")
PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_for(device_type: str, precision: str) -> contextlib.AbstractContextManager[Any]:
    """Nothing for fp32; ``torch.autocast`` to bf16 or fp16 otherwise (outputs are cast back by the caller)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=PRECISION_DTYPES[precision])
DEFAULT_BATCH = {"cpu": 32, "cuda": 256}
Message = Callable[[str], None]


def _stderr(message: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)
    except Exception:  # pragma: no cover
        print(message, file=sys.stderr)


RANDOM_WEIGHTS_WARNING = "RANDOM WEIGHTS: {label} has random weights (--pretrained none); its embeddings and rewards mean nothing."


# -- devices ----------------------------------------------------------------------------------------


def available_devices() -> list[str]:
    """The devices of this machine, as evalkit names them."""
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def parse_devices(devices: str | Sequence[str] | None) -> list[torch.device]:
    """Devices from ``"auto"``, ``"cpu"``, ``"cuda:0,cuda:1"``, ``"cpu,cpu"`` (or a list).

    :raises EvalkitError: a device that does not exist on this machine.
    """
    if devices is None or (isinstance(devices, str) and devices.strip().lower() == "auto"):
        n = torch.cuda.device_count()
        return [torch.device(f"cuda:{i}") for i in range(n)] if n else [torch.device("cpu")]
    items = [d.strip() for d in devices.split(",")] if isinstance(devices, str) else [str(d).strip() for d in devices]
    items = [d for d in items if d]
    if not items:
        raise EvalkitError("No device given; use --devices auto, cpu, cuda:0 or a comma-separated list.")
    out = []
    for item in items:
        try:
            dev = torch.device(item)
        except RuntimeError:
            raise EvalkitError(
                f"{item!r} is not a device; use auto, cpu, cuda:N or a comma-separated list "
                f"(this machine has: {', '.join(available_devices())})."
            ) from None
        if dev.type == "cuda":
            index = 0 if dev.index is None else dev.index
            if index >= torch.cuda.device_count():
                raise EvalkitError(
                    f"Device {item} does not exist; this machine has: {', '.join(available_devices())}."
                )
            dev = torch.device(f"cuda:{index}")
        elif dev.type == "cpu":
            dev = torch.device("cpu")
        else:
            raise EvalkitError(f"Device type {dev.type!r} is not supported; this machine has: {', '.join(available_devices())}.")
        out.append(dev)
    return out


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.

    Big activation tensors are otherwise mapped and unmapped for every batch, and the page
    faults that follow are paid again each time (the reason PyTorch's CPU performance guide
    recommends jemalloc or tcmalloc). On the 2-core VM evalkit was developed on, ViT-B-32's
    forward took 54 ms/image without and 39 ms/image with this setting. It is process-wide and
    kept (up to 1 GiB of freed heap stays with the process). No effect where glibc is absent.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: serve allocations below 1 GiB from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: keep up to 1 GiB of free heap
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


# -- the in-memory engine -------------------------------------------------------------------------------


def _is_convolutional(visual: torch.nn.Module) -> bool:
    """Whether an image tower is mostly convolutions (ModifiedResNet, timm ConvNeXt...)."""
    convs = sum(1 for m in visual.modules() if isinstance(m, torch.nn.Conv2d))
    return convs > 4


def cls_only_image_forward(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A forward of a standard open_clip ViT image tower that skips work the output never sees.

    The embedding is read from the class token only, so in the last block only the class token
    needs its query, attention output, MLP and residuals; keys and values still come from every
    token. Same arithmetic for the class token (up to float rounding); saves ~(1 − 1/tokens) of
    the last block (7 % of ViT-B-32). ``None`` when the tower is not the plain kind.
    """
    from open_clip.transformer import ResidualAttentionBlock, VisionTransformer

    visual = getattr(model, "visual", None)
    if not isinstance(visual, VisionTransformer) or type(model).encode_image.__qualname__ not in (
        "CLIP.encode_image", "CustomTextCLIP.encode_image"
    ):
        return None
    blocks = list(getattr(visual.transformer, "resblocks", []))
    plain = (
        visual.attn_pool is None and visual.pool_type == "tok" and not visual.output_tokens
        and getattr(visual.transformer, "batch_first", False) and blocks
        and all(type(b) is ResidualAttentionBlock and not hasattr(b, "ln_1_kv") for b in blocks)
        and all(hasattr(visual, name) for name in ("_embeds", "_pool"))
    )
    if not plain:
        return None
    last = blocks[-1]

    def forward(pixels: torch.Tensor) -> torch.Tensor:
        x = visual._embeds(pixels)
        for block in blocks[:-1]:
            x = block(x)
        y = last.ln_1(x)
        cls = x[:, :1] + last.ls_1(last.attention(q_x=y[:, :1], k_x=y, v_x=y))
        cls = cls + last.ls_2(last.mlp(last.ln_2(cls)))
        pooled, _ = visual._pool(cls)
        return pooled @ visual.proj if visual.proj is not None else pooled

    return forward


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text or "not enough memory" in text)


class ImageEmbedder:
    """A loaded open_clip model that embeds batches of frames and prompts (float32, unit norm).

    :param spec: the model (see :class:`~evalkit.vlm.models.ModelSpec`), or an already
        :func:`~evalkit.vlm.models.load_model`-ed one.
    :param device: ``"cpu"``, ``"cuda:0"``...
    :param precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (autocast; outputs stay float32).
    :param batch_size: frames per forward pass (default 32 on the CPU, 256 on a GPU); halved
        automatically when it does not fit in memory.
    :param allow_upscale: accept frames smaller than the model's input (see
        :class:`~evalkit.vlm.preprocess.BatchPreprocessor`).
    :param on_message: where warnings go (default: standard error).

    Example (rewards for frames rendered during training)::

        embedder = ImageEmbedder(ModelSpec("ViT-B-32"), device="cuda:0", precision="bf16")
        emb = embedder.embed_frames(frames)            # (n, 512) float32, unit norm
        goal = embedder.embed_texts(["pole vertically upright on top of the cart"])
    """

    def __init__(
        self,
        spec: ModelSpec | ResolvedSpec | LoadedModel | str,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        batch_size: int | None = None,
        allow_upscale: bool = False,
        pretrained: str | None = None,
        on_message: Message | None = None,
    ) -> None:
        if precision not in PRECISIONS:
            raise EvalkitError(f"Unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}.")
        if batch_size is not None and batch_size < 1:
            raise EvalkitError(f"The batch size must be at least 1, not {batch_size}.")
        self.loaded = spec if isinstance(spec, LoadedModel) else load_model(spec, parse_devices(str(device))[0], pretrained)
        self.device = self.loaded.device
        self.precision = precision
        self.batch_size = batch_size or DEFAULT_BATCH.get(self.device.type, 32)
        self.allow_upscale = allow_upscale
        self.on_message = on_message or _stderr
        self._preprocessors: dict[tuple[int, int], BatchPreprocessor] = {}
        self._texts: dict[str, np.ndarray] = {}
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-prefetch")
        if self.device.type == "cpu":
            keep_freed_memory()
        # Convolutional image towers (ResNets, ConvNeXts) run faster in channels-last layout
        # (oneDNN on CPU, cuDNN on GPU); this converts the loaded model in place.
        self.channels_last = _is_convolutional(self.loaded.model.visual)
        if self.channels_last:
            self.loaded.model.visual.to(memory_format=torch.channels_last)
        self._image_forward = cls_only_image_forward(self.loaded.model) or self.loaded.model.encode_image

    # identity ------------------------------------------------------------------------------------

    @property
    def resolved(self) -> ResolvedSpec:
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
            self._preprocessors[key] = BatchPreprocessor(self.loaded.preprocess, key, self.device, self.allow_upscale)
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

    def _load(self, frames: np.ndarray | torch.Tensor, a: int, b: int, pre: BatchPreprocessor) -> torch.Tensor:
        """``frames[a:b]`` read into memory; on a GPU also resized (host work that overlaps the
        GPU's, on the prefetch thread) and pinned. On the CPU the resize waits for the model's
        turn: run beside it, it would only take cores from the matrix products."""
        batch = frames[a:b]
        if isinstance(batch, torch.Tensor):
            x = batch
        elif isinstance(batch, np.memmap) or not (batch.flags.writeable and batch.flags.c_contiguous):
            x = torch.from_numpy(np.array(batch, copy=True))  # read from disk (or made contiguous) once
        else:
            x = torch.from_numpy(batch)  # frames in memory: used where they are, only read
        if self.device.type == "cuda":
            x = pre.resize_uint8(x).pin_memory()
        return x

    def _pixels(self, loaded: torch.Tensor, pre: BatchPreprocessor) -> torch.Tensor:
        """Model input from what :meth:`_load` returned."""
        return pre.normalize(loaded) if self.device.type == "cuda" else pre(loaded)

    def iter_batches(
        self, frames: np.ndarray | torch.Tensor, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[int, int, torch.Tensor]]:
        """``(a, b, embeddings of frames[a:b])`` over ``frames[start:stop]`` in batches.

        Frames are read (from a memory map) one batch ahead on a thread. A batch that does not
        fit in memory is retried at half the size (said once per halving). Embeddings that are
        not finite raise :class:`~evalkit.errors.ModelError`.
        """
        stop = len(frames) if stop is None else stop
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise EvalkitError(f"Frames must be (n, height, width, 3), not {tuple(frames.shape)}.")
        pre = self.preprocessor(frames.shape[1:3])
        a = start
        pending: tuple[int, int, Future[torch.Tensor]] | None = None
        while a < stop:
            b = min(stop, a + self.batch_size)
            if pending is not None and pending[:2] == (a, b):
                x = pending[2].result()
            else:
                x = self._load(frames, a, b, pre)
            nb = min(stop, b + self.batch_size)
            pending = (b, nb, self._prefetch.submit(self._load, frames, b, nb, pre)) if b < stop else None
            try:
                emb = self.encode_pixels(self._pixels(x, pre))
            except Exception as exc:
                if not _is_oom(exc):
                    raise
                if self.batch_size == 1:
                    raise ModelError(f"{self.label} does not fit in memory on {self.device} even one frame at a time.") from None
                old, self.batch_size = self.batch_size, max(1, self.batch_size // 2)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.on_message(f"Batch size {old} does not fit in memory on {self.device}; continuing with {self.batch_size}.")
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

    # text --------------------------------------------------------------------------------------------

    def embed_texts(self, prompts: Sequence[str] | str) -> np.ndarray:
        """Embeddings of prompts with the model's own tokenizer: float32 ``(k, dim)``, unit norm."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        todo = [p for p in dict.fromkeys(prompts) if p not in self._texts]
        if todo:
            tokens = self.loaded.tokenizer(todo).to(self.device)
            with torch.inference_mode(), self._autocast():
                emb = self.loaded.model.encode_text(tokens)
            emb = F.normalize(emb.float(), dim=-1).cpu().numpy()
            if not np.isfinite(emb).all():
                raise ModelError(f"{self.label} produced NaN text embeddings in {self.precision}; try --precision fp32.")
            self._texts.update(zip(todo, emb))
        return np.stack([self._texts[p] for p in prompts]) if prompts else np.zeros((0, self.embed_dim), np.float32)


# -- datasets ----------------------------------------------------------------------------------------------


@dataclass
class Embeddings:
    """Image embeddings of a dataset (the result of :func:`embed_dataset`).

    ``values`` is float32 ``(frames, dim)``, unit norm, memory-mapped from the cache. Under
    ``torchrun`` only rank 0 gets them; other ranks get an empty array.
    """

    values: np.ndarray
    path: Path
    model: str
    random_weights: bool
    precision: str
    computed: int
    seconds: float
    seconds_embedding: float
    devices: tuple[str, ...]
    batch_size: int | None
    identity: dict[str, Any] = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def dim(self) -> int:
        return int(self.values.shape[1]) if self.values.ndim == 2 else 0

    @property
    def images_per_second(self) -> float | None:
        """Frames embedded per second of embedding work (model loading excluded); ``None`` on a cache hit."""
        return self.computed / self.seconds_embedding if self.computed and self.seconds_embedding > 0 else None


def _dist_env() -> tuple[int, int, int, int] | None:
    """``(rank, world size, local rank, local world size)`` under torchrun, else ``None``."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1 or "RANK" not in os.environ:
        return None
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    return rank, world, local, local_world


def split_contiguous(items: Sequence[int], parts: int) -> list[list[int]]:
    """``items`` cut into ``parts`` contiguous runs of (almost) equal length."""
    n = len(items)
    bounds = [i * n // parts for i in range(parts + 1)]
    return [list(items[bounds[i] : bounds[i + 1]]) for i in range(parts)]


def embed_dataset(
    dataset: Dataset | str | os.PathLike[str],
    spec: ModelSpec | ResolvedSpec | str,
    devices: str | Sequence[str] | None = "auto",
    batch_size: int | None = None,
    precision: str = "fp32",
    progress: bool = True,
    allow_upscale: bool = False,
    shard_frames: int | None = None,
    embedder: ImageEmbedder | None = None,
    root: str | os.PathLike[str] | None = None,
    on_message: Message | None = None,
) -> Embeddings:
    """Embed every frame of ``dataset`` with ``spec`` once; later calls read the cache.

    :param dataset: a :class:`~evalkit.data.store.Dataset`, or its name (under ``root``) or path.
    :param spec: the model, e.g. ``ModelSpec("ViT-B-32")`` or ``"ViT-B-32"``.
    :param devices: ``"auto"``, ``"cpu"``, ``"cuda:0,cuda:1"``, ``"cpu,cpu"``... (module docs).
    :param batch_size: frames per forward pass (default 32 on CPU, 256 on GPU; halved on OOM).
    :param precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (part of the cache key).
    :param progress: show a progress bar on standard error.
    :param allow_upscale: accept frames smaller than the model's input.
    :param shard_frames: frames per cache shard (default: up to 2048).
    :param embedder: an already loaded :class:`ImageEmbedder` of the same model to use
        (single device only), instead of loading the model again.
    :raises EvalkitError: bad model, weights, device, frames too small, NaN embeddings.
    """
    t0 = time.perf_counter()
    say = on_message or _stderr
    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset, root)
    if precision not in PRECISIONS:
        raise EvalkitError(f"Unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}.")
    if batch_size is not None and batch_size < 1:
        raise EvalkitError(f"The batch size must be at least 1, not {batch_size}.")
    resolved = embedder.resolved if embedder is not None else (spec if isinstance(spec, ResolvedSpec) else resolve(spec))
    cache = EmbeddingCache(ds, resolved, precision)
    dist_env = _dist_env()
    if dist_env is None and embedder is None:
        parse_devices(devices)  # a device that does not exist is said first, before anything else

    def result(values: np.ndarray, computed: int, t_embed: float, used: Sequence[str], bs: int | None) -> Embeddings:
        return Embeddings(values=values, path=cache.dir, model=resolved.label, random_weights=resolved.random_weights,
                          precision=precision, computed=computed, seconds=time.perf_counter() - t0,
                          seconds_embedding=t_embed, devices=tuple(used), batch_size=bs, identity=cache.key_fields)

    cached = cache.load()
    if cached is not None:
        return result(cached, 0, 0.0, (), None)
    plan = plan_resize(ds.manifest.frame_shape[:2], resolved.preprocess)
    if plan.upscales and not allow_upscale:
        BatchPreprocessor(resolved.preprocess, ds.manifest.frame_shape[:2])  # raises the explained error
    if dist_env is not None:
        with cache.locked(say) if dist_env[0] == 0 else contextlib.nullcontext():
            return _embed_distributed(ds, resolved, cache, dist_env, batch_size, precision, progress, allow_upscale,
                                      shard_frames, say, result)
    with cache.locked(say):
        cached = cache.load()  # another process may have finished it while we waited
        if cached is not None:
            return result(cached, 0, 0.0, (), None)
        return _embed_locked(ds, resolved, cache, devices, batch_size, precision, progress, allow_upscale,
                             shard_frames, embedder, say, result)


def _embed_locked(ds, resolved, cache, devices, batch_size, precision, progress, allow_upscale, shard_frames,
                  embedder, say, result) -> Embeddings:
    device_list = [embedder.device] if embedder is not None else parse_devices(devices)
    ensure_weights(resolved)  # fail on missing weights before writing a cache or showing progress
    meta = cache.prepare(resolved.embed_dim, shard_frames or default_shard_frames(len(ds), len(device_list)), warn=say)
    missing = cache.missing_shards(meta)
    ranges = cache.shard_ranges(len(ds), int(meta["shard_frames"]))
    todo_frames = sum(ranges[i][1] - ranges[i][0] for i in missing)
    device_list = device_list[: max(1, len(missing))]
    bar = _progress_bar(progress, len(ds), len(ds) - todo_frames, resolved, device_list)
    try:
        if len(device_list) == 1:
            t_embed, bs = _embed_in_process(ds, resolved, cache, missing, ranges, device_list[0], batch_size, precision,
                                            allow_upscale, embedder, say, bar)
        else:
            t_embed, bs = _embed_with_workers(ds, resolved, cache, missing, ranges, device_list, batch_size, precision,
                                              allow_upscale, say, bar)
    finally:
        if bar is not None:
            bar.close()
    values = cache.merge(meta)
    return result(values, todo_frames, t_embed, [str(d) for d in device_list], bs)


def _progress_bar(enabled: bool, total: int, done: int, resolved: ResolvedSpec, devices: Sequence[torch.device]) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    where = ",".join(str(d) for d in devices)
    return tqdm(total=total, initial=done, unit="img", desc=f"embed {resolved.display_name} on {where}",
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _embed_shards(
    embedder: ImageEmbedder, ds: Dataset, cache: EmbeddingCache, shards: Sequence[int],
    ranges: Sequence[tuple[int, int]], on_frames: Callable[[int], None],
) -> None:
    """Embed the given shards with a loaded embedder and store each one as it is finished."""
    frames = ds.frames
    for index in shards:
        a, b = ranges[index]
        out = np.empty((b - a, embedder.embed_dim), dtype=np.float32)
        for i, j, emb in embedder.iter_batches(frames, a, b):
            out[i - a : j - a] = emb.cpu().numpy()
            on_frames(j - i)
        cache.write_shard(index, out)


def _embed_in_process(ds, resolved, cache, missing, ranges, device, batch_size, precision, allow_upscale, embedder,
                      say, bar) -> tuple[float, int | None]:
    if not missing:
        return 0.0, None
    if embedder is None:
        embedder = ImageEmbedder(resolved, device, precision, batch_size, allow_upscale, on_message=say)
    else:
        embedder.allow_upscale = embedder.allow_upscale or allow_upscale
        if batch_size:
            embedder.batch_size = batch_size
        if embedder.precision != precision:
            raise EvalkitError(f"The embedder runs in {embedder.precision}, not the {precision} asked for.")
    t = time.perf_counter()
    _embed_shards(embedder, ds, cache, missing, ranges, (bar.update if bar is not None else (lambda n: None)))
    return time.perf_counter() - t, embedder.batch_size


# -- several devices on one machine --------------------------------------------------------------------------


def _worker_main(worker: int, device: str, threads: int, dataset_path: str, resolved: ResolvedSpec, precision: str,
                 batch_size: int | None, allow_upscale: bool, shards: list[int], queue: Any) -> None:
    """Entry point of a spawned worker: load the model, embed its shards, report through ``queue``."""
    try:
        torch.set_num_threads(max(1, threads))
        ds = Dataset(dataset_path)
        cache = EmbeddingCache(ds, resolved, precision)
        meta = cache.read_meta()
        assert meta is not None
        ranges = cache.shard_ranges(len(ds), int(meta["shard_frames"]))
        embedder = ImageEmbedder(resolved, device, precision, batch_size, allow_upscale,
                                 on_message=lambda m: queue.put(("message", worker, m)))
        queue.put(("ready", worker, time.time()))
        _embed_shards(embedder, ds, cache, shards, ranges, lambda n: queue.put(("frames", worker, n)))
        queue.put(("done", worker, embedder.batch_size))
    except EvalkitError as exc:
        queue.put(("error", worker, (type(exc).__name__, str(exc))))
    except BaseException:  # an internal bug: hand the traceback to the parent
        queue.put(("crash", worker, traceback.format_exc()))


def _embed_with_workers(ds, resolved, cache, missing, ranges, devices, batch_size, precision, allow_upscale, say,
                        bar) -> tuple[float, int | None]:
    import queue as queue_module

    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    parts = split_contiguous(missing, len(devices))
    n_cpu = sum(1 for d in devices if d.type == "cpu")
    cpu_threads = max(1, _cpu_count() // max(1, n_cpu))
    gpu_threads = max(1, min(4, _cpu_count() // len(devices)))
    procs = []
    for w, (dev, shards) in enumerate(zip(devices, parts)):
        threads = cpu_threads if dev.type == "cpu" else gpu_threads
        p = ctx.Process(target=_worker_main, daemon=True,
                        args=(w, str(dev), threads, str(ds.path), resolved, precision, batch_size, allow_upscale, shards, messages))
        p.start()
        procs.append(p)
    pending = set(range(len(procs)))
    ready: dict[int, float] = {}
    sizes: list[int] = []
    try:
        while pending:
            try:
                kind, w, payload = messages.get(timeout=0.5)
            except queue_module.Empty:
                for w in list(pending):
                    code = procs[w].exitcode
                    if code is not None:
                        raise EvalkitError(
                            f"The worker on {devices[w]} died (exit code {code}), perhaps out of memory; finished "
                            "shards are kept: run again to resume (with a smaller --batch-size or fewer workers)."
                        )
                continue
            if kind == "frames" and bar is not None:
                bar.update(payload)
            elif kind == "ready":
                ready[w] = payload
            elif kind == "message":
                say(f"[{devices[w]}] {payload}")
            elif kind == "done":
                sizes.append(payload)
                pending.discard(w)
            elif kind == "error":
                cls = ModelError if payload[0] == "ModelError" else EvalkitError
                raise cls(payload[1])
            elif kind == "crash":
                raise RuntimeError(f"The worker on {devices[w]} failed:\n{payload}")
        finished = time.time()
    finally:
        for p in procs:
            if p.is_alive() and p.exitcode is None and pending:
                p.terminate()
        for p in procs:
            p.join(timeout=30)
    start = max(ready.values()) if ready else finished
    return max(0.0, finished - start), (min(sizes) if sizes else None)


# -- torchrun -------------------------------------------------------------------------------------------------


def _embed_distributed(ds, resolved, cache, env, batch_size, precision, progress, allow_upscale, shard_frames, say,
                       result) -> Embeddings:
    import torch.distributed as dist

    rank, world, local_rank, local_world = env
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    device = torch.device(f"cuda:{local_rank % torch.cuda.device_count()}") if torch.cuda.is_available() else torch.device("cpu")
    if device.type == "cpu":
        torch.set_num_threads(max(1, _cpu_count() // max(1, local_world)))
    # Rank 0 prepares the cache first (on a shared disk the others then find it ready).
    meta = cache.prepare(resolved.embed_dim, shard_frames or default_shard_frames(len(ds), world), warn=say) if rank == 0 else None
    box = [meta]
    dist.broadcast_object_list(box, src=0)
    meta = box[0]
    if rank != 0:
        local = cache.prepare(resolved.embed_dim, int(meta["shard_frames"]))
        if int(local["shard_frames"]) != int(meta["shard_frames"]):  # a stale local copy: start it again
            cache.meta_path.unlink()
            cache.prepare(resolved.embed_dim, int(meta["shard_frames"]))
    box = [cache.missing_shards(meta) if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    missing: list[int] = box[0]
    ranges = cache.shard_ranges(len(ds), int(meta["shard_frames"]))
    mine = split_contiguous(missing, world)[rank]
    t_embed, bs = 0.0, None
    if mine:
        embedder = ImageEmbedder(resolved, device, precision, batch_size, allow_upscale, on_message=say)
        my_frames = sum(ranges[i][1] - ranges[i][0] for i in mine)
        bar = _progress_bar(progress and rank == 0, my_frames, 0, resolved, [device])
        t = time.perf_counter()
        try:
            _embed_shards(embedder, ds, cache, mine, ranges, (bar.update if bar is not None else (lambda n: None)))
        finally:
            if bar is not None:
                bar.close()
        t_embed, bs = time.perf_counter() - t, embedder.batch_size
    dist.barrier()
    # Shards rank 0 cannot see (no shared disk) travel over torch.distributed.
    box = [[i for i in missing if not cache.shard_path(i).is_file()] if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    unseen = set(box[0])
    if unseen:
        parcel = {i: np.load(cache.shard_path(i)) for i in mine if i in unseen}
        gathered: list[Any] = [None] * world if rank == 0 else None  # type: ignore[assignment]
        dist.gather_object(parcel, gathered, dst=0)
        if rank == 0:
            for part in gathered:
                for i, values in part.items():
                    cache.write_shard(i, values)
    stats: list[Any] = [None] * world
    dist.all_gather_object(stats, (t_embed, bs))
    values = cache.merge(meta) if rank == 0 else np.zeros((0, resolved.embed_dim), np.float32)
    dist.barrier()
    todo = sum(ranges[i][1] - ranges[i][0] for i in missing)
    sizes = [b for _, b in stats if b is not None]
    return result(values, todo if rank == 0 else 0, max(t for t, _ in stats), [f"{world} ranks"],
                  min(sizes) if sizes else None)
