"""A synthetic labelling dataset and the label round-trip benchmark (``evalkit bench label``).

:func:`synthetic_dataset` writes a small cartpole-family dataset with frames of simple shapes
(no environment, no renderer needed) — for tests, demos and the benchmark.
:func:`measure_label_latency` starts the real web server on 127.0.0.1 and times ``POST
/api/label`` → journal append + fsync → response, over one kept-alive HTTP connection, the way
the page sends labels.
"""

from __future__ import annotations

import http.client
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.store import Dataset, DatasetWriter
from evalkit.labels.journal import Journal
from evalkit.labels.server import LabelApp, LabelServer


def synthetic_frames(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` frames of a tilted bar on a cart-like block, and the bar's angle (radians).

    The angle sweeps ``[-pi/2, pi/2]`` (like the cartpole sweep) so that about a seventh of the
    frames are "upright" by the cartpole rule; colours vary with the seed.
    """
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-math.pi / 2, math.pi / 2, size=n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    frames = np.empty((n, size, size, 3), dtype=np.uint8)
    base = np.array([236, 240, 245], dtype=np.uint8)
    for i, a in enumerate(angles):
        img = np.empty((size, size, 3), dtype=np.uint8)
        img[:] = base
        img[int(size * 0.78) :, :] = (90, 94, 102)  # ground
        cx, cy = size * (0.5 + 0.15 * math.sin(3 * a)), size * 0.72  # cart
        cart = (np.abs(xx - cx) < size * 0.14) & (np.abs(yy - cy) < size * 0.06)
        img[cart] = (40, 60, 90)
        # pole: points within 2.5 px of the segment from the cart, at angle a from vertical
        length = size * 0.45
        dx, dy = math.sin(a), -math.cos(a)
        t = np.clip((xx - cx) * dx + (yy - cy) * dy, 0, length)
        dist = np.hypot(xx - (cx + t * dx), yy - (cy + t * dy))
        img[dist < max(1.5, size / 40)] = (200, 120, 40) if abs(a) > 0.2 else (40, 160, 90)
        frames[i] = img
    return frames, angles


def synthetic_dataset(
    root: str | Path,
    name: str = "label-demo",
    n_frames: int = 200,
    n_episodes: int = 10,
    size: int = 64,
    seed: int = 0,
) -> Dataset:
    """Write (or overwrite) a cartpole-family dataset of synthetic frames under ``root``."""
    frames, angles = synthetic_frames(n_frames, size, seed)
    episodes = np.arange(n_frames) * n_episodes // n_frames
    steps = np.arange(n_frames) - np.searchsorted(episodes, episodes)
    rows = pd.DataFrame(
        {
            "episode": episodes,
            "step": steps,
            "x": np.zeros(n_frames),
            "x_dot": np.zeros(n_frames),
            "angle": angles,
            "angle_dot": np.zeros(n_frames),
        }
    )
    with DatasetWriter(
        Path(root),
        name,
        family="cartpole",
        env_id="evalkit/CartPole-v0",
        generator="synthetic",
        params={"seed": seed, "n_episodes": n_episodes},
        render={"size": size},
        n_frames=n_frames,
        frame_shape=(size, size, 3),
        overwrite=True,
    ) as w:
        w.add(frames, rows)
    assert w.dataset is not None
    return w.dataset


@dataclass
class LatencyResult:
    """Round-trip times of label posts, milliseconds."""

    n: int
    median_ms: float
    p95_ms: float
    max_ms: float
    fsync_median_ms: float
    frame_cold_ms: float
    frame_warm_ms: float
    journal: Path


def measure_label_latency(dataset: Dataset, n: int = 200, task: str = "cartpole") -> LatencyResult:
    """Time ``n`` label posts through the real server (see the module docstring)."""
    app = LabelApp(dataset, task, labeller="bench", order="episode")
    server = LabelServer(app, "127.0.0.1", 0).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Content-Type": "application/json", "X-Evalkit-Token": app.token}
        times = []
        labels = ("goal", "not_goal", "skip")
        for i in range(n):
            body = json.dumps({"frame_id": i % len(dataset), "label": labels[i % 3]})
            t0 = time.perf_counter()
            conn.request("POST", "/api/label", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            times.append(time.perf_counter() - t0)
            if resp.status != 200:
                raise RuntimeError(f"label post answered {resp.status}")
        frame_times = []
        # frame 0 warms up (imports Pillow); then frame 1 is encoded, then served from the cache
        for frame_id in (0, 1, 1):
            t0 = time.perf_counter()
            conn.request("GET", f"/api/frame/{frame_id % len(dataset)}", headers=headers)
            conn.getresponse().read()
            frame_times.append(time.perf_counter() - t0)
        conn.close()
    finally:
        server.stop()
    scratch = Journal(dataset.path / "labels" / ".bench.journal.jsonl")
    fsyncs = []
    for i in range(min(n, 100)):
        t0 = time.perf_counter()
        scratch.append([{"id": str(i), "type": "bench"}])
        fsyncs.append(time.perf_counter() - t0)
    scratch.path.unlink(missing_ok=True)
    ms = np.array(times) * 1000
    return LatencyResult(
        n=n,
        median_ms=float(np.median(ms)),
        p95_ms=float(np.percentile(ms, 95)),
        max_ms=float(ms.max()),
        fsync_median_ms=float(np.median(fsyncs) * 1000),
        frame_cold_ms=frame_times[1] * 1000,
        frame_warm_ms=frame_times[2] * 1000,
        journal=app.labels.path,
    )
