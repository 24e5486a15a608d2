"""Procedural textures: seeded noise, gradients and colour helpers, all plain numpy.

Every texture in evalkit is generated here from a seed — no image files, nothing third-party —
so a renderer is deterministic for its seed and the repository ships no artwork. Arrays are
``float32``; colours are RGB in ``[0, 255]`` with shape ``(..., 3)``.

>>> rng = np.random.default_rng(0)
>>> clouds = fbm((64, 128), cells=(2, 4), octaves=5, rng=rng)   # values in [0, 1]
>>> clouds.shape
(64, 128)
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def layer_rng(seed: int, layer: str) -> np.random.Generator:
    """An independent random stream for one named layer of a texture, so layers do not depend
    on the order in which they are drawn."""
    return np.random.default_rng([int(seed) % 2**64, *layer.encode()])


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (``x <= edge0``) to 1 (``x >= edge1``)."""
    t = np.clip((np.asarray(x, dtype=np.float32) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _upsample(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bicubic interpolation of a coarse float grid to ``shape`` (height, width)."""
    img = Image.fromarray(grid.astype(np.float32), mode="F")
    return np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.BICUBIC), dtype=np.float32)


def value_noise(
    shape: tuple[int, int], cells: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Smooth random noise in about ``[0, 1]``: a random lattice of ``cells`` (rows, columns)
    across the image, interpolated bicubically."""
    gh = max(2, int(np.ceil(cells[0])) + 3)
    gw = max(2, int(np.ceil(cells[1])) + 3)
    grid = rng.random((gh, gw), dtype=np.float32)
    # Interpolate a larger image and crop, so the lattice spacing is cells exactly and the
    # borders are not special.
    ph = int(round(shape[0] * (gh - 1) / max(cells[0], 1e-6)))
    pw = int(round(shape[1] * (gw - 1) / max(cells[1], 1e-6)))
    big = _upsample(grid, (max(ph, shape[0] + 2), max(pw, shape[1] + 2)))
    oy = (big.shape[0] - shape[0]) // 2
    ox = (big.shape[1] - shape[1]) // 2
    return big[oy : oy + shape[0], ox : ox + shape[1]]


def fbm(
    shape: tuple[int, int],
    cells: tuple[float, float],
    octaves: int,
    rng: np.random.Generator,
    persistence: float = 0.5,
) -> np.ndarray:
    """Fractal (fractional Brownian motion) noise: ``octaves`` layers of :func:`value_noise`,
    each with twice the frequency and ``persistence`` times the amplitude of the one before,
    rescaled to ``[0, 1]``. Octaves finer than a pixel are skipped."""
    total = np.zeros(shape, dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for k in range(octaves):
        c = (cells[0] * 2**k, cells[1] * 2**k)
        if c[0] > shape[0] or c[1] > shape[1]:
            break
        total += amplitude * value_noise(shape, c, rng)
        norm += amplitude
        amplitude *= persistence
    total /= max(norm, 1e-6)
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / (hi - lo) if hi > lo else np.zeros(shape, dtype=np.float32)


def fbm_1d(
    length: int, cells: float, octaves: int, rng: np.random.Generator, persistence: float = 0.5
) -> np.ndarray:
    """One-dimensional fractal noise of ``length`` samples in ``[0, 1]`` (ridge lines, grass edges)."""
    return fbm((4, length), (1.0, cells), octaves, rng, persistence)[1]


def vertical_gradient(
    height: int, width: int, stops: list[tuple[float, tuple[float, float, float]]]
) -> np.ndarray:
    """An image whose colour changes from top (``t = 0``) to bottom (``t = 1``) through ``stops``,
    a list of ``(t, rgb)`` pairs in increasing ``t``."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)
    ts = np.array([s[0] for s in stops], dtype=np.float32)
    cols = np.array([s[1] for s in stops], dtype=np.float32)
    column = np.stack([np.interp(t, ts, cols[:, c]) for c in range(3)], axis=-1)
    return np.broadcast_to(column[:, None, :], (height, width, 3)).astype(np.float32)


def mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation ``a + (b - a) t`` of colours; ``t`` has no channel axis (one value
    per pixel, or a scalar) and is broadcast over the three channels."""
    a = np.asarray(a, dtype=np.float32)
    t = np.asarray(t, dtype=np.float32)[..., None]
    return a + (np.asarray(b, dtype=np.float32) - a) * t


def composite(dst: np.ndarray, src: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``src`` over ``dst`` with coverage ``alpha`` in ``[0, 1]`` (per pixel), in place; returns ``dst``."""
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim == dst.ndim - 1:
        a = a[..., None]
    dst += (np.asarray(src, dtype=np.float32) - dst) * a
    return dst


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clip a float image to ``uint8``."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
