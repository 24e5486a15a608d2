"""CartPole drawn with numpy, straight at the requested size: gymnasium's picture, 20× faster.

Gymnasium draws CartPole with pygame on a 600 × 400 canvas (a black cart, a brown pole, a blue
axle, a black track line on white); evalkit then brings that canvas to the frame size with
:func:`evalkit.envs.classic.crop_frame` or :func:`~evalkit.envs.classic.fit_frame`. That costs
12–21 ms a frame, and in CLIP-rewarded training every step renders. :class:`CartPoleRenderer`
draws the same shapes — gymnasium's geometry, colours and painting order, in gymnasium's canvas
coordinates — directly into the output frame, anti-aliased: the cart's and the track line's
coverage of each pixel is computed exactly (axis-aligned boxes), the pole's and the axle's from
each pixel centre's distance to their edges. A 224 × 224 frame takes about 0.2 ms.

The framing is the same mapping as the pygame path's: ``crop`` scales the canvas to cover the
frame and centres it (CartPole's default; the cart and pole fill the frame), ``fit`` scales it
to fit, centred on white. The tests compare both paths pixel by pixel. ``track`` (numpy only)
shows the whole track: world x in ``±TRACK_VIEW_HALF_WIDTH`` across the frame's width, the
axle's height at the frame's middle, so a cart anywhere on the track (``|x| <= 2.4``) and a
pole hanging down are whole in the picture, and a cart past the track's end is cut by its edge.

>>> CartPoleRenderer(224, 224).render(cart_position=0.0, angle=0.1).shape
(224, 224, 3)
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

CANVAS_W, CANVAS_H = 600, 400
"""Gymnasium's CartPole canvas in pixels."""
WORLD_WIDTH = 4.8
"""World units across the canvas (``2 * x_threshold``)."""
PIXELS_PER_UNIT = CANVAS_W / WORLD_WIDTH
CART_W, CART_H = 50.0, 30.0
CART_TOP_Y = 100.0
"""Gymnasium's ``carty``: the cart's centre line and the track's height, from the canvas bottom."""
AXLE_OFFSET = CART_H / 4.0
POLE_W = 10.0
POLE_HALF_LENGTH = 0.5
"""Gymnasium's ``length`` (half the pole, world units); the pole is drawn ``2 * length`` long."""
AXLE_RADIUS = int(POLE_W / 2)
INK_SHIFT = 0.5
INK_SPREAD = 0.5
"""pygame fills whole canvas pixels, ``[floor .. ceil]`` inclusive, and outlines polygons with an
anti-aliased line: its cart and pole sit ``INK_SHIFT`` canvas pixels right of and above their
nominal place and reach ``INK_SPREAD`` further on every side."""

WHITE = (255.0, 255.0, 255.0)
BLACK = (0.0, 0.0, 0.0)
POLE_COLOUR = (202.0, 152.0, 101.0)
AXLE_COLOUR = (129.0, 132.0, 203.0)

Box = tuple[int, int, int, int]
"""Output pixel bounds ``(x0, x1, y0, y1)``, half-open."""
Layer = tuple[Box, np.ndarray, tuple[float, float, float]]
"""A shape to paint: its box, its coverage of each pixel in the box, its colour."""
TRACK_VIEW_HALF_WIDTH = 2.6
"""World units either side of the centre that the ``track`` framing shows: the track's end
(2.4) and half a cart (0.2), so a cart on the track is whole in the frame and one past the end
is cut by the frame's edge (gone past 2.8): image embeddings that pool their patches do not see
where the cart is, only whether it is whole."""
FRAMINGS = ("crop", "fit", "track")
RENDERER_VERSION = 1
"""Bumped whenever the picture changes, so datasets rendered before are not mistaken for new."""


class CartPoleRenderer:
    """Draws CartPole frames of ``width`` × ``height`` with ``framing`` ``"crop"``, ``"fit"`` or
    ``"track"``."""

    def __init__(self, width: int, height: int, framing: str = "crop") -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}.")
        self.width, self.height, self.framing = int(width), int(height), framing
        pick = max if framing == "crop" else min
        self.scale = pick(self.width / CANVAS_W, self.height / CANVAS_H)
        # Canvas pixel (x, y from the top) lands at output (x * scale - left, y * scale - top).
        if framing == "track":
            self.scale = self.width / (2 * TRACK_VIEW_HALF_WIDTH * PIXELS_PER_UNIT)
            axle_from_top = CANVAS_H - CART_TOP_Y - AXLE_OFFSET
            self.left = CANVAS_W / 2 * self.scale - self.width / 2
            self.top = axle_from_top * self.scale - self.height / 2
        elif framing == "crop":
            new_w, new_h = (
                max(self.width, round(CANVAS_W * self.scale)),
                max(self.height, round(CANVAS_H * self.scale)),
            )
            self.left, self.top = (
                float((new_w - self.width) // 2),
                float((new_h - self.height) // 2),
            )
        else:
            new_w, new_h = (
                max(1, round(CANVAS_W * self.scale)),
                max(1, round(CANVAS_H * self.scale)),
            )
            self.left, self.top = (
                -float((self.width - new_w) // 2),
                -float((self.height - new_h) // 2),
            )
        self._background = self._draw_background()

    # -- coordinates -------------------------------------------------------------------------

    def _out_x(self, canvas_x: float) -> float:
        return canvas_x * self.scale - self.left

    def _out_y(self, height_from_bottom: float) -> float:
        return (CANVAS_H - height_from_bottom) * self.scale - self.top

    def _pixel_centres(self, box: Box) -> tuple[np.ndarray, np.ndarray]:
        """Canvas coordinates (x, height from the bottom) of the centres of the output pixels in
        ``box``: a row vector of x and a column vector of heights."""
        x0, x1, y0, y1 = box
        xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 + self.left) / self.scale
        ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 + self.top) / self.scale
        return xs[None, :], (CANVAS_H - ys)[:, None]

    def _edge_coverage(self, inside_by: np.ndarray) -> np.ndarray:
        """Coverage of a pixel whose centre is ``inside_by`` canvas units inside an edge (negative:
        outside): the fraction of a one-pixel-wide footprint across the edge."""
        return np.clip(inside_by * self.scale + 0.5, 0.0, 1.0)

    def _box(
        self, x_min: float, x_max: float, y_min: float, y_max: float, pad: float = 1.0
    ) -> Box | None:
        """Output pixel bounds covering a canvas rectangle (heights from the bottom), clipped."""
        x0 = max(0, int(math.floor(self._out_x(x_min) - pad)))
        x1 = min(self.width, int(math.ceil(self._out_x(x_max) + pad)))
        y0 = max(0, int(math.floor(self._out_y(y_max) - pad)))
        y1 = min(self.height, int(math.ceil(self._out_y(y_min) + pad)))
        return (x0, x1, y0, y1) if x0 < x1 and y0 < y1 else None

    # -- drawing -----------------------------------------------------------------------------

    def _draw_background(self) -> np.ndarray:
        """White with the track line (1 canvas pixel high, at height ``carty``), as ``uint8``.

        Gymnasium draws the line last, over the cart and pole; :meth:`render` repaints the part
        of the frame they cover, line included."""
        rows = np.arange(self.height, dtype=np.float64)
        # Coverage of each output row by canvas heights [carty, carty + 1).
        top = np.maximum(rows, self._out_y(CART_TOP_Y + 1.0))
        bottom = np.minimum(rows + 1.0, self._out_y(CART_TOP_Y))
        self._track_alpha = np.clip(bottom - top, 0.0, 1.0).astype(np.float32)[:, None, None]
        white = np.full((self.height, self.width, 3), WHITE, dtype=np.float32)
        return _to_uint8(_over(white, self._track_alpha, BLACK))

    def render(self, cart_position: float, angle: float) -> np.ndarray:
        """The frame for a cart at ``cart_position`` (world units) with the pole at ``angle`` (radians)."""
        frame = self._background.copy()
        cart_x = float(cart_position) * PIXELS_PER_UNIT + CANVAS_W / 2.0  # gymnasium's cartx
        layers = [
            layer
            for layer in (self._cart(cart_x), self._pole(cart_x, float(angle)), self._axle(cart_x))
            if layer is not None
        ]
        if not layers:
            return frame
        # Paint in float over white inside the union of the shapes' boxes, then the track line.
        x0, x1 = min(b[0] for b, _, _ in layers), max(b[1] for b, _, _ in layers)
        y0, y1 = min(b[2] for b, _, _ in layers), max(b[3] for b, _, _ in layers)
        region = np.full((y1 - y0, x1 - x0, 3), WHITE, dtype=np.float32)
        for (bx0, bx1, by0, by1), alpha, colour in layers:
            part = region[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
            part[...] = _over(part, alpha[..., None].astype(np.float32), colour)
        frame[y0:y1, x0:x1] = _to_uint8(_over(region, self._track_alpha[y0:y1], BLACK))
        return frame

    def _cart(self, cart_x: float) -> Layer | None:
        half_w, half_h, cx, cy = (
            CART_W / 2 + INK_SPREAD,
            CART_H / 2 + INK_SPREAD,
            cart_x + INK_SHIFT,
            CART_TOP_Y + INK_SHIFT,
        )
        x_min, x_max, y_min, y_max = cx - half_w, cx + half_w, cy - half_h, cy + half_h
        box = self._box(x_min, x_max, y_min, y_max)
        if box is None:
            return None
        x0, x1, y0, y1 = box
        # Exact coverage of an axis-aligned box: overlap of each pixel's span, per axis.
        cols = np.arange(x0, x1, dtype=np.float64)
        rows = np.arange(y0, y1, dtype=np.float64)
        cover_x = np.clip(
            np.minimum(cols + 1, self._out_x(x_max)) - np.maximum(cols, self._out_x(x_min)), 0, 1
        )
        cover_y = np.clip(
            np.minimum(rows + 1, self._out_y(y_min)) - np.maximum(rows, self._out_y(y_max)), 0, 1
        )
        return box, cover_y[:, None] * cover_x[None, :], BLACK

    def _pole(self, cart_x: float, angle: float) -> Layer | None:
        pivot_x, pivot_y = cart_x + INK_SHIFT, CART_TOP_Y + AXLE_OFFSET + INK_SHIFT
        length = PIXELS_PER_UNIT * 2 * POLE_HALF_LENGTH
        along = (math.sin(angle), math.cos(angle))  # from the axle towards the pole's tip
        across = (math.cos(angle), -math.sin(angle))  # the pole's width direction
        lo, hi, half_w = (
            -POLE_W / 2 - INK_SPREAD,
            length - POLE_W / 2 + INK_SPREAD,
            POLE_W / 2 + INK_SPREAD,
        )
        corners = [
            (pivot_x + a * along[0] + c * across[0], pivot_y + a * along[1] + c * across[1])
            for a in (lo, hi)
            for c in (-half_w, half_w)
        ]
        xs_c, ys_c = [p[0] for p in corners], [p[1] for p in corners]
        box = self._box(min(xs_c), max(xs_c), min(ys_c), max(ys_c))
        if box is None:
            return None
        xs, ys = self._pixel_centres(box)
        dx, dy = xs - pivot_x, ys - pivot_y
        t = dx * along[0] + dy * along[1]
        s = dx * across[0] + dy * across[1]
        cover = (
            self._edge_coverage(t - lo)
            * self._edge_coverage(hi - t)
            * self._edge_coverage(half_w - np.abs(s))
        )
        return box, cover, POLE_COLOUR

    def _axle(self, cart_x: float) -> Layer | None:
        # Gymnasium rounds the axle's centre and radius to whole canvas pixels.
        cx, cy = float(int(cart_x)), float(int(CART_TOP_Y + AXLE_OFFSET))
        r = float(AXLE_RADIUS)
        box = self._box(cx - r, cx + r + 1, cy - r, cy + r + 1)
        if box is None:
            return None
        xs, ys = self._pixel_centres(box)
        # Gymnasium fills the canvas pixels whose centres lie within about r + 0.5 of the centre pixel's.
        distance = np.sqrt((xs - cx - 0.5) ** 2 + (ys - cy - 0.5) ** 2)
        return box, self._edge_coverage(r + 0.5 - distance), AXLE_COLOUR


def _over(under: np.ndarray, alpha: np.ndarray, colour: tuple[float, ...]) -> np.ndarray:
    """``colour`` painted with coverage ``alpha`` over ``under`` (float)."""
    return under * (1.0 - alpha) + alpha * np.asarray(colour, dtype=np.float32)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def get_renderer(width: int, height: int, framing: str = "crop") -> CartPoleRenderer:
    """A shared renderer per frame size and framing (the background is drawn once)."""
    return CartPoleRenderer(width, height, framing)
