"""The textured MountainCar renderer: sky, clouds, a grassy rock mountain, a car and a yellow flag.

The paper (Section 4, Fig. 2b/c) finds that CLIP rewards are badly shaped on gymnasium's
line-drawing MountainCar and well shaped once the mountain and the car are drawn with realistic
textures. This module draws such a scene, every texture generated procedurally from a seed
(:mod:`evalkit.envs.textures`), no image files.

Speed: the static scene (sky, clouds, far ranges, the mountain, the flag) is drawn once per
``(width, height, seed)`` and cached; a frame is a copy of it with the car composited at its
position, tilted with the slope. The car is drawn 4x supersampled and rotated at 2x;
rotated sprites are cached per quarter degree. A 224x224 frame takes well under a
millisecond.

Geometry: the track is gymnasium's, ``height(x) = 0.45 sin(3x) + 0.55`` for
``x in [-1.2, 0.6]``; world units map to pixels with one uniform scale, so what looks uphill
is uphill. The view shows ``x in [-1.36, 0.76]`` (half a car beyond the track at both ends, so the
car is always whole) and more sky when the image is taller than that. The flag stands at the goal,
``x = 0.45``.

>>> r = get_renderer(224, 224, seed=0)
>>> r.render(0.45).shape     # the car next to the flag
(224, 224, 3)
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from evalkit.envs import textures as tx
from evalkit.envs.mountaincar_family import MOUNTAINCAR_GOAL_POSITION

RENDERER_VERSION = 1
"""Bumped whenever the picture changes, so datasets rendered before are not mistaken for new."""

MIN_POSITION, MAX_POSITION = -1.2, 0.6
"""The track's extent (gymnasium's ``Continuous_MountainCarEnv.min_position/max_position``)."""

VIEW_X = (-1.36, 0.76)
"""World x shown across the image width (for images at most 2.12:1.45 wide): the track and
half a car length beyond each end, so the car is whole everywhere on the track."""
VIEW_BOTTOM = -0.06
"""World height at the bottom edge of the image."""
VIEW_HEIGHT = 1.45
"""World height that must be visible above the bottom edge (the peak, the flag, a strip of sky)."""

CAR_LENGTH = 0.28
"""Length of the car in world units (gymnasium's flat car is about 0.12)."""
FLAG_POLE_HEIGHT = 0.36
FLAG_SIZE = (0.2, 0.12)
"""Flag cloth width and height in world units."""

SUPERSAMPLE = 4
ROTATE_SUPERSAMPLE = 2
_ANGLE_STEP_DEG = 0.25


def track_height(x: np.ndarray | float) -> np.ndarray | float:
    """Height of the track at ``x`` (gymnasium's ``Continuous_MountainCarEnv._height``)."""
    return np.sin(3 * np.asarray(x)) * 0.45 + 0.55


def track_slope(x: np.ndarray | float) -> np.ndarray | float:
    """``d height / dx``."""
    return 1.35 * np.cos(3 * np.asarray(x))


class TexturedMountainCarRenderer:
    """Draws textured MountainCar frames of one size with one seed.

    :param width: image width in pixels.
    :param height: image height in pixels.
    :param seed: seed of every procedural texture (clouds, far ranges, rock, grass).
    """

    def __init__(self, width: int, height: int, seed: int = 0) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"Image size must be positive, got {width}x{height}.")
        self.width, self.height, self.seed = int(width), int(height), int(seed)
        span = VIEW_X[1] - VIEW_X[0]
        self.scale = min(self.width / span, self.height / VIEW_HEIGHT)
        """Pixels per world unit."""
        self.x_center = 0.5 * (VIEW_X[0] + VIEW_X[1])
        self.background = np.ascontiguousarray(self._draw_background())
        """The static scene, ``uint8 (height, width, 3)``, C-contiguous (a frame is one memcpy of it)."""
        self.background.setflags(write=False)
        # The car is drawn at SUPERSAMPLE x, rotated at ROTATE_SUPERSAMPLE x (cheaper, and
        # still smooth once box-filtered down to 1 x).
        car = _car_sprite(CAR_LENGTH * self.scale * SUPERSAMPLE)
        side = car.size[0] * ROTATE_SUPERSAMPLE // SUPERSAMPLE
        self._car_hi = car.resize((side, side), Image.Resampling.BOX)
        self._sprites: dict[int, np.ndarray] = {}

    # -- geometry ---------------------------------------------------------------------------

    def to_pixel(
        self, x: np.ndarray | float, h: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (column, row; continuous, 0 at the left/top edge) of world (x, h)."""
        col = (np.asarray(x) - self.x_center) * self.scale + self.width / 2
        row = self.height - (np.asarray(h) - VIEW_BOTTOM) * self.scale
        return col, row

    def column_x(self) -> np.ndarray:
        """World x at the centre of every pixel column."""
        return self.x_center + (np.arange(self.width) + 0.5 - self.width / 2) / self.scale

    # -- frames -----------------------------------------------------------------------------

    def render(self, position: float) -> np.ndarray:
        """A frame with the car at world ``position``: ``uint8 (height, width, 3)``, a new array."""
        half = 0.3 * CAR_LENGTH  # the wheels' distance from the car's centre
        x0, x1 = position - half, position + half
        h0, h1 = float(track_height(x0)), float(track_height(x1))
        angle = math.degrees(math.atan2(h1 - h0, x1 - x0))
        # The sprite's centre is the point between the wheels' contact points.
        col, row = self.to_pixel(position, 0.5 * (h0 + h1))
        sprite = self._sprite(angle)
        frame = self.background.copy()
        _blit_premultiplied(frame, sprite, float(col), float(row))
        return frame

    def _sprite(self, angle_deg: float) -> np.ndarray:
        key = int(round(angle_deg / _ANGLE_STEP_DEG))
        sprite = self._sprites.get(key)
        if sprite is None:
            hi = self._car_hi.rotate(key * _ANGLE_STEP_DEG, resample=Image.Resampling.BICUBIC)
            size = hi.size[0] // ROTATE_SUPERSAMPLE
            sprite = np.asarray(hi.resize((size, size), Image.Resampling.BOX))  # premultiplied RGBa
            self._sprites[key] = sprite
        return sprite

    # -- the static scene -------------------------------------------------------------------

    def _draw_background(self) -> np.ndarray:
        H, W, s = self.height, self.width, self.scale
        world_w, world_h = W / s, H / s
        rows = np.arange(H, dtype=np.float32)[:, None] + 0.5
        xs = self.column_x()
        ground_row = self.to_pixel(xs, track_height(xs))[1].astype(np.float32)[None, :]

        # Sky: deep blue at the top, hazy near the horizon.
        image = tx.vertical_gradient(
            H, W, [(0.0, (62, 118, 196)), (0.45, (122, 172, 226)), (1.0, (206, 226, 240))]
        )
        # Clouds: fractal noise, thresholded, stretched sideways, thinning towards the horizon.
        noise = tx.fbm((H, W), (world_h * 2.2, world_w * 1.1), 6, tx.layer_rng(self.seed, "clouds"))
        height_fade = 1.0 - tx.smoothstep(0.35, 0.75, rows / H)
        cover = tx.smoothstep(0.52, 0.78, noise) * height_fade
        shade = tx.smoothstep(0.5, 0.95, noise)  # thicker parts brighter, edges greyer
        cloud_rgb = tx.mix(
            np.full((H, W, 3), (196, 206, 222), np.float32),
            np.array((252, 252, 253), np.float32),
            shade,
        )
        tx.composite(image, cloud_rgb, cover * 0.92)

        # Two far ranges in atmospheric blue, the farther one paler.
        for name, low, amp, colour, cells in (
            ("far", 0.52, 0.42, (150, 172, 204), 1.6),
            ("mid", 0.3, 0.36, (108, 138, 160), 2.4),
        ):
            ridge = low + amp * tx.fbm_1d(W, world_w * cells, 6, tx.layer_rng(self.seed, name))
            ridge_row = self.to_pixel(xs, ridge)[1].astype(np.float32)[None, :]
            depth = (rows - ridge_row) / s
            texture = tx.fbm(
                (H, W), (world_h * 8, world_w * 8), 4, tx.layer_rng(self.seed, name + "-tex")
            )
            rgb = np.array(colour, np.float32) * (0.93 + 0.12 * texture[..., None])
            fog = tx.smoothstep(0.0, 0.35, depth)
            rgb = tx.mix(rgb, np.array((196, 214, 232), np.float32), fog * 0.45)
            tx.composite(image, rgb, np.clip(rows - ridge_row + 0.5, 0.0, 1.0))

        tx.composite(
            image, self._mountain(rows, xs, ground_row), np.clip(rows - ground_row + 0.5, 0.0, 1.0)
        )
        flag = _supersampled_layer(W, H, self._draw_flag)
        image = image * (1.0 - flag[..., 3:4]) + flag[..., :3]
        return tx.to_uint8(image)

    def _mountain(self, rows: np.ndarray, xs: np.ndarray, ground_row: np.ndarray) -> np.ndarray:
        """Colour of the mountain body (valid below the ground line): grass over layered rock,
        lit from the upper left."""
        H, W, s = self.height, self.width, self.scale
        world_w, world_h = W / s, H / s
        depth = np.maximum(rows - ground_row, 0.0) / s  # world units below the surface
        slope = track_slope(xs).astype(np.float32)[None, :]

        # Rock: two-tone fractal noise, strata that follow the surface, dark cracks, fine grain.
        rock_noise = tx.fbm((H, W), (world_h * 6, world_w * 6), 6, tx.layer_rng(self.seed, "rock"))
        strata_noise = tx.fbm(
            (H, W), (world_h * 3, world_w * 10), 3, tx.layer_rng(self.seed, "strata")
        )
        strata = 0.5 + 0.5 * np.sin(depth * 55.0 + strata_noise * 7.0)
        rock = tx.mix(
            np.array((84, 78, 74), np.float32),
            np.array((158, 148, 136), np.float32),
            np.clip(0.7 * rock_noise + 0.3 * strata, 0.0, 1.0),
        )
        crack_noise = tx.fbm(
            (H, W), (world_h * 5, world_w * 5), 5, tx.layer_rng(self.seed, "cracks")
        )
        cracks = tx.smoothstep(0.92, 0.985, 1.0 - np.abs(2.0 * crack_noise - 1.0))
        rock = rock * (1.0 - 0.35 * cracks)[..., None]
        grain = tx.layer_rng(self.seed, "grain").normal(0.0, 6.0, (H, W, 1)).astype(np.float32)
        rock = rock + grain

        # Grass: a layer on top, thinner on steep slopes, with a ragged lower edge.
        thick_noise = tx.fbm_1d(W, world_w * 7, 5, tx.layer_rng(self.seed, "grass-depth"))[None, :]
        steep = tx.smoothstep(0.7, 1.35, np.abs(slope))
        thickness = (0.025 + 0.06 * thick_noise) * (1.0 - 0.65 * steep)
        edge_noise = tx.fbm(
            (H, W), (world_h * 14, world_w * 14), 3, tx.layer_rng(self.seed, "grass-edge")
        )
        grass_cover = 1.0 - tx.smoothstep(0.0, 0.012, depth - thickness + 0.02 * (edge_noise - 0.5))
        grass_noise = tx.fbm(
            (H, W), (world_h * 12, world_w * 12), 5, tx.layer_rng(self.seed, "grass")
        )
        grass = tx.mix(
            np.array((58, 112, 38), np.float32), np.array((120, 176, 64), np.float32), grass_noise
        )
        blades = tx.layer_rng(self.seed, "blades").normal(0.0, 9.0, (H, W, 1)).astype(np.float32)
        grass = grass + blades * np.array((0.6, 1.0, 0.4), np.float32)
        body = tx.mix(rock, grass, grass_cover)

        # Snow on the summit around the flag: the surface layer where the track is highest.
        surface_h = track_height(xs).astype(np.float32)[None, :]
        snow_line = tx.fbm_1d(W, world_w * 9, 4, tx.layer_rng(self.seed, "snow-line"))[None, :]
        snow_depth = tx.smoothstep(0.84, 0.97, surface_h) * (
            0.075 + 0.07 * (snow_line - 0.5) + 0.03 * (edge_noise - 0.5)
        )
        snow_cover = (1.0 - tx.smoothstep(0.0, 0.008, depth - snow_depth)) * (
            1.0 - tx.smoothstep(0.66, 0.72, rock_noise)
        )
        snow = tx.mix(
            np.array((178, 194, 218), np.float32),
            np.array((248, 250, 253), np.float32),
            tx.smoothstep(0.25, 0.75, grass_noise),
        )
        body = tx.mix(body, snow, snow_cover)

        # Light from the upper left on the surface normal; darker deeper inside.
        normal = (
            np.stack([-slope, np.ones_like(slope)], axis=-1) / np.sqrt(1.0 + slope**2)[..., None]
        )
        light = np.array((-0.45, 0.89), np.float32)
        lambert = np.clip((normal * light).sum(-1), 0.0, 1.0)
        shading = (0.6 + 0.5 * lambert) * (1.0 - 0.3 * tx.smoothstep(0.0, 0.6, depth))
        # A thin darker rim right at the surface gives the silhouette a crisp edge.
        rim = 1.0 - 0.25 * (1.0 - tx.smoothstep(0.0, 1.6 / s, depth))
        return body * (shading * rim)[..., None]

    def _draw_flag(self, draw: ImageDraw.ImageDraw, k: float) -> None:
        """The goal flag: a white pole and a waving yellow cloth (drawn at ``k`` x resolution)."""
        s = self.scale * k
        col, row = self.to_pixel(MOUNTAINCAR_GOAL_POSITION, track_height(MOUNTAINCAR_GOAL_POSITION))
        base_x, base_y = float(col) * k, float(row) * k + 0.01 * s
        top_y = base_y - FLAG_POLE_HEIGHT * s
        pole_w = max(0.014 * s, 1.2 * k)
        draw.rectangle(
            [base_x - pole_w / 2 - k * 0.5, top_y - k * 0.5, base_x + pole_w / 2 + k * 0.5, base_y],
            fill=(60, 60, 64, 255),
        )
        draw.rectangle(
            [base_x - pole_w / 2, top_y, base_x + pole_w / 2, base_y], fill=(236, 236, 232, 255)
        )
        draw.ellipse(
            [base_x - pole_w, top_y - pole_w * 1.2, base_x + pole_w, top_y + pole_w * 0.8],
            fill=(250, 210, 40, 255),
            outline=(120, 90, 10, 255),
        )
        fw, fh = FLAG_SIZE[0] * s, FLAG_SIZE[1] * s
        x0, y0 = base_x + pole_w / 2, top_y + pole_w * 0.5
        n = 24
        us = np.linspace(0.0, 1.0, n)
        wave = 0.11 * fh * np.sin(us * 2.2 * math.pi) * us
        top = [(x0 + u * fw, y0 + w) for u, w in zip(us, wave)]
        bottom = [(x0 + u * fw, y0 + fh + w - 0.08 * fh * u) for u, w in zip(us, wave)]
        # Folds: opaque bands, darker or lighter with the slope of the wave.
        for i in range(n - 1):
            tone = float(np.clip((wave[i + 1] - wave[i]) / (0.03 * fh + 1e-9), -1.0, 1.0))
            colour = (
                (255, int(212 + 28 * tone), int(max(0.0, 40 * tone)), 255)
                if tone > 0
                else (int(255 + 25 * tone), int(212 + 40 * tone), 0, 255)
            )
            draw.polygon([top[i], top[i + 1], bottom[i + 1], bottom[i]], fill=colour)
        draw.line(top + bottom[::-1] + top[:1], fill=(150, 110, 0, 255), width=max(1, int(k * 0.6)))


def _supersampled_layer(
    width: int, height: int, draw_fn: Callable[[ImageDraw.ImageDraw, float], None]
) -> np.ndarray:
    """Draw with PIL at ``SUPERSAMPLE`` x resolution and box-filter down: premultiplied
    ``float32 (height, width, 4)``, colour in ``[0, 255]`` and alpha in ``[0, 1]``."""
    k = SUPERSAMPLE
    layer = Image.new("RGBA", (width * k, height * k), (0, 0, 0, 0))
    draw_fn(ImageDraw.Draw(layer, "RGBA"), float(k))
    small = layer.convert("RGBa").resize((width, height), Image.Resampling.BOX)
    out = np.asarray(small, dtype=np.float32).copy()
    out[..., 3] /= 255.0
    return out


def _car_sprite(length_px: float) -> Image.Image:
    """A side view of a red hatchback facing right, ``length_px`` long, as a premultiplied RGBa
    square image whose centre is the point between the wheels' ground contacts (the pivot for
    tilting with the slope)."""
    L = max(float(length_px), 8.0 * SUPERSAMPLE)
    size = int(math.ceil(1.7 * L / SUPERSAMPLE)) * SUPERSAMPLE
    c = size / 2
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img, "RGBA")

    def pt(u: float, v: float) -> tuple[float, float]:  # car units: u along, v up, from the pivot
        return (c + u * L, c - v * L)

    def box(u0: float, v0: float, u1: float, v1: float) -> list[float]:
        (x0, y0), (x1, y1) = pt(u0, v1), pt(u1, v0)
        return [x0, y0, x1, y1]

    outline = (40, 12, 14, 255)
    w = max(1, int(round(0.012 * L)))
    # Body: lower shell with a sloped bonnet and rounded rear.
    shell = [
        pt(-0.5, 0.14),
        pt(-0.5, 0.36),
        pt(-0.44, 0.40),
        pt(-0.30, 0.41),
        pt(0.30, 0.40),
        pt(0.47, 0.33),
        pt(0.51, 0.26),
        pt(0.51, 0.14),
        pt(0.45, 0.10),
        pt(-0.45, 0.10),
    ]
    # Cabin (glasshouse) on top.
    cabin = [pt(-0.40, 0.40), pt(-0.30, 0.60), pt(0.06, 0.61), pt(0.26, 0.41)]
    d.polygon(cabin, fill=(196, 28, 34, 255), outline=outline, width=w)
    d.polygon(shell, fill=(206, 32, 38, 255), outline=outline, width=w)
    # Shading: darker lower third, a light reflection line along the flank.
    d.polygon(
        [pt(-0.49, 0.13), pt(0.50, 0.13), pt(0.50, 0.21), pt(-0.49, 0.21)], fill=(120, 14, 20, 150)
    )
    d.line(
        [pt(-0.44, 0.33), pt(0.40, 0.33)], fill=(255, 140, 140, 170), width=max(1, int(0.02 * L))
    )
    # Windows: rear and front side windows with a pillar between.
    glass, glass_hi = (150, 200, 232, 255), (215, 238, 250, 255)
    d.polygon(
        [pt(-0.35, 0.42), pt(-0.28, 0.57), pt(-0.08, 0.575), pt(-0.08, 0.42)],
        fill=glass,
        outline=outline,
        width=w,
    )
    d.polygon(
        [pt(-0.04, 0.42), pt(-0.04, 0.575), pt(0.05, 0.575), pt(0.21, 0.42)],
        fill=glass,
        outline=outline,
        width=w,
    )
    d.polygon([pt(-0.30, 0.43), pt(-0.26, 0.52), pt(-0.20, 0.52), pt(-0.24, 0.43)], fill=glass_hi)
    d.polygon([pt(0.0, 0.43), pt(0.0, 0.50), pt(0.05, 0.50), pt(0.10, 0.43)], fill=glass_hi)
    # Door line and handle, lights, bumpers.
    d.line([pt(-0.06, 0.41), pt(-0.06, 0.15)], fill=(110, 16, 20, 255), width=w)
    d.rectangle(box(0.02, 0.33, 0.10, 0.35), fill=(90, 20, 22, 255))
    d.polygon(
        [pt(0.44, 0.33), pt(0.50, 0.29), pt(0.50, 0.25), pt(0.43, 0.27)],
        fill=(255, 236, 150, 255),
        outline=outline,
    )
    d.rectangle(box(-0.50, 0.28, -0.46, 0.35), fill=(255, 70, 40, 255), outline=outline)
    d.rectangle(box(0.43, 0.11, 0.52, 0.17), fill=(55, 55, 60, 255))
    d.rectangle(box(-0.51, 0.11, -0.44, 0.17), fill=(55, 55, 60, 255))
    # Wheels: dark arches, tyres, silver rims with a hub.
    for u in (-0.3, 0.3):
        d.ellipse(box(u - 0.15, 0.0 - 0.02, u + 0.15, 0.28), fill=(30, 10, 12, 255))
        d.ellipse(box(u - 0.13, 0.0, u + 0.13, 0.26), fill=(22, 22, 24, 255))
        d.ellipse(
            box(u - 0.075, 0.055, u + 0.075, 0.205),
            fill=(186, 188, 194, 255),
            outline=(90, 90, 96, 255),
            width=w,
        )
        d.ellipse(box(u - 0.025, 0.105, u + 0.025, 0.155), fill=(70, 70, 76, 255))
    return img.convert("RGBa")


def _blit_premultiplied(
    frame: np.ndarray, sprite: np.ndarray, center_col: float, center_row: float
) -> None:
    """Composite a premultiplied ``uint8`` RGBa sprite over ``frame`` (in place), its centre
    at the given pixel position; parts outside the frame are clipped."""
    size = sprite.shape[0]
    x0 = int(round(center_col - size / 2))
    y0 = int(round(center_row - size / 2))
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + size, frame.shape[1]), min(y0 + size, frame.shape[0])
    if fx0 >= fx1 or fy0 >= fy1:
        return
    spr = sprite[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(np.float32)
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    alpha = spr[..., 3:4] * (1.0 / 255.0)
    frame[fy0:fy1, fx0:fx1] = np.clip(
        np.rint(region * (1.0 - alpha) + spr[..., :3]), 0, 255
    ).astype(np.uint8)


@lru_cache(maxsize=8)
def get_renderer(width: int, height: int, seed: int = 0) -> TexturedMountainCarRenderer:
    """The shared renderer for one ``(width, height, seed)``: the scene is drawn only once."""
    return TexturedMountainCarRenderer(width, height, seed)
