"""Batched image preprocessing that gives exactly what open_clip's PIL transform gives.

open_clip's inference transform (``image_transform(..., is_train=False)``) resizes a PIL image
(bicubic or bilinear, antialiased), centre-crops (or pads) it to the model's input size, and
normalises it with the model's mean and std. :class:`BatchPreprocessor` does the same to a
whole batch of ``uint8 (n, height, width, 3)`` frames as torch tensors, on any device, and
reproduces Pillow's arithmetic to the bit:

- Pillow resamples in two separable passes (horizontal first), each a weighted sum of a few
  neighbouring pixels with fixed-point (22-bit) integer weights, rounded and clipped to
  ``uint8`` after each pass. The weights are computed here with Pillow's formulas, and each
  pass is a banded matrix product (blocks of outputs times windows of inputs) whose sums are
  exact integers (see :class:`_AxisResampler`).
- Only the pixels that survive the centre crop are computed.
- ``ToTensor`` and ``Normalize`` are then applied with the same float32 operations.

So the model sees the same input as with open_clip's own preprocess (tests compare them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from evalkit.errors import DatasetError

_PRECISION_BITS = 32 - 8 - 2  # Pillow's Resample.c
_BLOCK = 32  # output pixels per band block


def _bicubic(x: float) -> float:
    a = -0.5
    if x < 0.0:
        x = -x
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    if x < 2.0:
        return (((x - 5) * x + 8) * x - 4) * a
    return 0.0


def _bilinear(x: float) -> float:
    if x < 0.0:
        x = -x
    if x < 1.0:
        return 1.0 - x
    return 0.0


_FILTERS = {"bicubic": (_bicubic, 2.0), "bilinear": (_bilinear, 1.0)}


def pil_coefficients(in_size: int, out_size: int, interpolation: str = "bicubic") -> tuple[np.ndarray, np.ndarray]:
    """Pillow's resampling weights for one axis: ``(first input index, int weights (out, k))``.

    A port of ``precompute_coeffs`` + ``normalize_coeffs_8bpc`` from Pillow's ``Resample.c``;
    output pixel ``i`` is ``clip8((2**21 + sum_k w[i, k] * in[start[i] + k]) >> 22)``.
    """
    fn, base_support = _FILTERS[interpolation]
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = base_support * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    starts = np.zeros(out_size, dtype=np.int64)
    weights = np.zeros((out_size, ksize), dtype=np.int64)
    ss = 1.0 / filterscale
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [fn((x + xmin - center + 0.5) * ss) for x in range(xmax)]
        ww = 0.0
        for w in k:
            ww += w
        if ww != 0.0:
            k = [w / ww for w in k]
        for x, w in enumerate(k):
            weights[xx, x] = int(-0.5 + w * (1 << _PRECISION_BITS)) if w < 0 else int(0.5 + w * (1 << _PRECISION_BITS))
        starts[xx] = xmin
    return starts, weights


_SPLIT_BITS = 10  # float32 path: weight = hi * 2**10 + lo, both parts summed exactly in float32
_MAX_SPLIT_TAPS = 64  # ... as long as 255 * 2**10 * taps < 2**24


class _AxisResampler:
    """One Pillow resampling pass along an axis (``dim`` -1: columns, -2: rows), exactly.

    Outputs are grouped in blocks of ``_BLOCK``; each block reads one window of the input, so a
    pass is a few dense matrix products on strided views, each written into its own slot of a
    block-major buffer ``(blocks, ..., _BLOCK)`` (no gather, no concatenation).

    Arithmetic: in float64 the integer weights give exact sums (all below 2**53). In float32 the
    weights are split as ``hi * 2**10 + lo``; each part's sum stays below 2**24 and so is exact
    in any order, and the two are joined in int32 — the same bits at half the memory traffic.
    """

    def __init__(self, in_size: int, out_size: int, keep: range, interpolation: str, device: torch.device,
                 dim: int, dtype: torch.dtype) -> None:
        starts, weights = pil_coefficients(in_size, out_size, interpolation)
        starts, weights = starts[keep.start : keep.stop], weights[keep.start : keep.stop]
        n, ksize = weights.shape
        self.dim = dim
        self.dtype = dtype
        self.split = dtype == torch.float32
        if self.split and ksize > _MAX_SPLIT_TAPS:
            raise ValueError("too many taps for the float32 path")
        self.n_out = n
        self.blocks: list[tuple[int, int, torch.Tensor]] = []  # (window start, window length, band)
        for b0 in range(0, n, _BLOCK):
            sl = slice(b0, min(n, b0 + _BLOCK))
            lo = int(starts[sl].min())
            hi = min(int((starts[sl] + ksize).max()), in_size)
            band = np.zeros((hi - lo, _BLOCK), dtype=np.int64)
            for o, i in enumerate(range(sl.start, sl.stop)):
                for k in range(ksize):
                    if weights[i, k]:
                        band[starts[i] + k - lo, o] = weights[i, k]
            if self.split:
                high = band >> _SPLIT_BITS
                band = np.concatenate([high, band - (high << _SPLIT_BITS)], axis=1)
            t = torch.as_tensor(band, dtype=dtype, device=device)
            self.blocks.append((lo, hi - lo, t if dim == -1 else t.T.contiguous()))
        self.width = self.blocks[0][2].shape[1 if dim == -1 else 0]  # _BLOCK, or 2 * _BLOCK when split
        self.first = min(lo for lo, _, _ in self.blocks)
        self.last = max(lo + n for lo, n, _ in self.blocks)

    def shift(self, offset: int) -> None:
        """Index the input from ``offset`` (when the caller passes only rows ``offset:``)."""
        self.blocks = [(lo - offset, n, band) for lo, n, band in self.blocks]
        self.first -= offset
        self.last -= offset

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., in)`` → ``(blocks, ..., _BLOCK)`` for dim -1; ``(..., in, c)`` → ``(blocks, ..., _BLOCK, c)`` for -2."""
        if self.dim == -1:
            out = torch.empty((len(self.blocks), *x.shape[:-1], self.width), dtype=self.dtype, device=x.device)
            for b, (lo, n, band) in enumerate(self.blocks):
                torch.matmul(x[..., lo : lo + n], band, out=out[b])
        else:
            out = torch.empty((len(self.blocks), *x.shape[:-2], self.width, x.shape[-1]), dtype=self.dtype, device=x.device)
            for b, (lo, n, band) in enumerate(self.blocks):
                torch.matmul(band, x[..., lo : lo + n, :], out=out[b])
        half = 1 << (_PRECISION_BITS - 1)
        if self.split:
            hi, lo_part = out.split(_BLOCK, dim=self.dim)
            acc = (hi.to(torch.int32) << _SPLIT_BITS).add_(lo_part.to(torch.int32)).add_(half)
            return (acc >> _PRECISION_BITS).clamp_(0, 255).to(self.dtype)
        out += float(half)
        return out.mul_(1.0 / (1 << _PRECISION_BITS)).floor_().clamp_(0.0, 255.0)


@dataclass(frozen=True)
class ResizePlan:
    """Where a frame of ``in_hw`` goes: resized to ``resized_hw``, then cropped/padded to ``out_hw``.

    Output pixel ``(i, j)`` is resized pixel ``(i + offset[0], j + offset[1])``, or the fill
    colour where that is outside the resized image.
    """

    in_hw: tuple[int, int]
    resized_hw: tuple[int, int]
    out_hw: tuple[int, int]
    offset: tuple[int, int]
    interpolation: str

    @property
    def upscales(self) -> bool:
        return self.resized_hw[0] > self.in_hw[0] or self.resized_hw[1] > self.in_hw[1]


def plan_resize(in_hw: Sequence[int], cfg: Mapping[str, Any]) -> ResizePlan:
    """Reproduce the geometry of open_clip's ``image_transform(cfg, is_train=False)``."""
    h, w = int(in_hw[0]), int(in_hw[1])
    size = cfg["size"]
    out_h, out_w = (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[-2]), int(size[-1]))
    mode = cfg.get("resize_mode", "shortest") or "shortest"
    interpolation = "bilinear" if cfg.get("interpolation") == "bilinear" else "bicubic"
    if mode == "squash":
        resized = (out_h, out_w)
    elif mode == "longest" or out_h != out_w:
        # open_clip's ResizeKeepRatio; its non-square 'shortest' case uses the default (bicubic).
        longest = 1.0 if mode == "longest" else 0.0
        if mode != "longest":
            interpolation = "bicubic"
        ratio_h, ratio_w = h / out_h, w / out_w
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        resized = (round(h * 1.0 / ratio), round(w * 1.0 / ratio))
    elif mode == "shortest":
        # torchvision Resize(int): the short side becomes `size`, the long side is truncated.
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = out_h, int(out_h * long / short)
        resized = (new_long, new_short) if w <= h else (new_short, new_long)
    else:
        raise ValueError(f"unknown resize mode {mode!r}")

    def offset(n: int, target: int) -> int:
        if target > n:
            return -((target - n) // 2)
        return int(round((n - target) / 2.0))

    return ResizePlan((h, w), resized, (out_h, out_w), (offset(resized[0], out_h), offset(resized[1], out_w)), interpolation)


class BatchPreprocessor:
    """open_clip's inference preprocessing for batches of ``uint8 (n, H, W, 3)`` frames.

    :param cfg: the model's preprocess config (``size``, ``mean``, ``std``, ``interpolation``,
        ``resize_mode``, ``fill_color``), e.g. ``LoadedModel.preprocess``.
    :param in_hw: frame height and width.
    :param device: where the work is done (the model's device).
    :param allow_upscale: accept frames smaller than the model's input (they are upsampled,
        as open_clip would); by default that is an error, since such frames hold less detail
        than the model can see.
    """

    def __init__(self, cfg: Mapping[str, Any], in_hw: Sequence[int], device: str | torch.device = "cpu",
                 allow_upscale: bool = False) -> None:
        self.device = torch.device(device)
        self.plan = plan = plan_resize(in_hw, cfg)
        if plan.upscales and not allow_upscale:
            h, w = plan.in_hw
            raise DatasetError(
                f"Frames are {w}×{h} pixels but the model looks at {plan.out_hw[1]}×{plan.out_hw[0]}; they would be "
                f"upscaled to {plan.resized_hw[1]}×{plan.resized_hw[0]}. Collect the dataset again with a larger "
                f"--size (at least {max(plan.out_hw)}), or pass --allow-upscale to embed them anyway."
            )
        (h, w), (rh, rw), (oh, ow) = plan.in_hw, plan.resized_hw, plan.out_hw
        self._rows = self._keep(rh, oh, plan.offset[0])
        self._cols = self._keep(rw, ow, plan.offset[1])
        # float32 (exact by splitting the weights) on the CPU; float64 on GPUs, whose float32
        # matrix products may run in TF32, and for very wide filters.
        taps = max(pil_coefficients(n, r, plan.interpolation)[1].shape[1] for n, r in ((h, rh), (w, rw)))
        self._dtype = torch.float32 if self.device.type == "cpu" and taps <= _MAX_SPLIT_TAPS else torch.float64
        self._vertical = (_AxisResampler(h, rh, self._rows, plan.interpolation, self.device, -2, self._dtype)
                          if rh != h else None)
        self._horizontal = (_AxisResampler(w, rw, self._cols, plan.interpolation, self.device, -1, self._dtype)
                            if rw != w else None)
        if self._vertical is not None:  # the horizontal pass only needs the rows the vertical one reads
            self._src_rows = range(self._vertical.first, self._vertical.last)
            self._vertical.shift(self._vertical.first)
        else:
            self._src_rows = self._rows
        self._mean = torch.tensor(cfg["mean"], dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(cfg["std"], dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._fill = float(cfg.get("fill_color", 0) or 0)

    @staticmethod
    def _keep(n: int, target: int, offset: int) -> range:
        return range(max(0, offset), min(n, offset + target))

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.plan.out_hw

    def resize_uint8(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Resized and cropped frames, values 0–255 as float32 ``(n, 3, h, w)`` (before ToTensor)."""
        if isinstance(frames, np.ndarray) and not frames.flags.writeable:  # e.g. a read-only memory map
            frames = np.array(frames)
        x = torch.as_tensor(frames)
        if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 (n, H, W, 3), got {x.dtype} {tuple(x.shape)}")
        if tuple(x.shape[1:3]) != self.plan.in_hw:
            raise ValueError(f"frames are {tuple(x.shape[1:3])}, this preprocessor is for {self.plan.in_hw}")
        x = x.to(self.device, non_blocking=True)
        x = x[:, self._src_rows.start : self._src_rows.stop].permute(0, 3, 1, 2)  # (n, 3, rows, W)
        n_rows, n_cols = len(self._rows), len(self._cols)
        if self._horizontal is None and self._vertical is None:
            x = x[..., self._cols.start : self._cols.stop].to(torch.float32)
        else:
            x = x.to(self._dtype, memory_format=torch.contiguous_format)
            # Both passes keep a block-major layout: (column blocks, n, 3, rows, block) ...
            x = self._horizontal(x) if self._horizontal is not None else x[None, ..., self._cols.start : self._cols.stop]
            # ... then (row blocks, column blocks, n, 3, block, block); one reshuffle at the end.
            x = self._vertical(x) if self._vertical is not None else x[None]
            nv, nh, n, c, bh, bw = x.shape
            x = x.permute(2, 3, 0, 4, 1, 5).reshape(n, c, nv * bh, nh * bw)[..., :n_rows, :n_cols]
            x = x.to(torch.float32, memory_format=torch.contiguous_format)
        (oh, ow), (dy, dx) = self.plan.out_hw, self.plan.offset
        if x.shape[-2:] != (oh, ow):
            canvas = torch.full((x.shape[0], 3, oh, ow), self._fill, dtype=torch.float32, device=self.device)
            top, left = max(0, -dy), max(0, -dx)
            canvas[:, :, top : top + x.shape[-2], left : left + x.shape[-1]] = x
            x = canvas
        return x.contiguous()

    def __call__(self, frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Model input for ``frames``: float32 ``(n, 3, h, w)``, normalised like open_clip's."""
        x = self.resize_uint8(frames)
        return x.div_(255).sub_(self._mean).div_(self._std)
