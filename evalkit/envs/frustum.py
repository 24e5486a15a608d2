"""Leave out of a MuJoCo scene the geoms a fixed camera cannot see, before rendering.

MuJoCo draws every geom of a scene; the GPU (or Mesa's software renderer) clips what lies outside
the camera's view only after processing its vertices, which is most of the time of a frame in
software rendering when the scene holds large meshes (Meta-World's Sawyer arm: 67 795
triangles). :func:`cull_outside_view` marks a geom as not drawn when its bounding sphere
(``model.geom_rbound`` around the geom's position) lies entirely outside the camera's view
frustum, so the frame is the same, pixel for pixel: only geoms without a single visible point are
left out. With shadows or reflections on, a geom outside the view can still darken or show in
what is inside it, so culling is for renders with both off (evalkit's ``fast`` profile).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

NOT_DRAWN = 1001
"""``mjtGeom.mjGEOM_NONE``: a scene geom of this type is skipped by ``mjr_render``."""

OBJ_GEOM = 5
"""``mjtObj.mjOBJ_GEOM``: scene geoms that stand for a model geom (not sites, decor...)."""


def cull_outside_view(
    model: Any, data: Any, scene: Any, camera_id: int, width: int, height: int
) -> int:
    """Mark the scene's geoms whose bounding spheres lie wholly outside the view of fixed camera
    ``camera_id`` (a perspective one) as not drawn; the number marked.

    Call it after ``mjv_updateScene`` (``Renderer.update_scene``) and before rendering.

    :param model: the ``MjModel``.
    :param data: the ``MjData`` the scene was made from.
    :param scene: the ``MjvScene``.
    :param camera_id: index of the camera rendered from.
    :param width: frame width in pixels (the view's aspect ratio with ``height``).
    :param height: frame height in pixels.
    """
    if model.cam_orthographic[camera_id]:
        return 0
    position = np.asarray(data.cam_xpos[camera_id])
    axes = np.asarray(data.cam_xmat[camera_id]).reshape(3, 3)  # columns: right, up, backward
    half_y = math.radians(float(model.cam_fovy[camera_id])) / 2
    half_x = math.atan(math.tan(half_y) * width / height)
    near = float(model.vis.map.znear * model.stat.extent)
    cos_x, sin_x, cos_y, sin_y = (
        math.cos(half_x),
        math.sin(half_x),
        math.cos(half_y),
        math.sin(half_y),
    )
    marked = 0
    for i in range(scene.ngeom):
        geom = scene.geoms[i]
        if geom.objtype != OBJ_GEOM:
            continue
        radius = float(model.geom_rbound[geom.objid])
        if radius <= 0:  # planes and heightfields: unbounded
            continue
        x, y, z = (np.asarray(geom.pos) - position) @ axes
        depth = -z
        outside = (
            depth + radius < near
            or x * cos_x - depth * sin_x > radius
            or -x * cos_x - depth * sin_x > radius
            or y * cos_y - depth * sin_y > radius
            or -y * cos_y - depth * sin_y > radius
        )
        if outside:
            geom.type = NOT_DRAWN
            marked += 1
    return marked
