"""Shared helpers of the label tests: small datasets, a running server, HTTP calls, Chromium."""

from __future__ import annotations

import http.client
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from evalkit.bench.label import synthetic_dataset
from evalkit.data.store import Dataset

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_dataset(
    root: Path,
    name: str = "lab",
    n_frames: int = 40,
    n_episodes: int = 4,
    size: int = 32,
    seed: int = 0,
) -> Dataset:
    """A cartpole-family dataset of synthetic frames (a bar on a block) with an ``angle`` column.

    Written with :class:`evalkit.data.store.DatasetWriter` (through
    :func:`evalkit.bench.label.synthetic_dataset`), so no environment or renderer is needed.
    """
    return synthetic_dataset(
        root, name, n_frames=n_frames, n_episodes=n_episodes, size=size, seed=seed
    )


@contextmanager
def running_server(
    dataset: Dataset, task: str = "cartpole", labeller: str = "alice", **kw: Any
) -> Iterator:
    """A :class:`~evalkit.labels.server.LabelServer` on 127.0.0.1 and a free port, in a thread."""
    from evalkit.labels.server import LabelApp, LabelServer

    app = LabelApp(dataset, task, labeller, **kw)
    server = LabelServer(app, "127.0.0.1", 0).start()
    try:
        yield server
    finally:
        server.stop()


def request(
    server,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = "default",
    headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> tuple[int, dict, Any]:
    """One HTTP request to the server: ``(status, headers, JSON or bytes)``.

    ``token="default"`` sends the server's token in the header; ``None`` sends none.
    """
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    h = dict(headers or {})
    if token == "default":
        token = server.app.token
    if token is not None:
        h["X-Evalkit-Token"] = token
    data = raw_body
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    ctype = resp.getheader("Content-Type", "")
    parsed = json.loads(payload) if ctype.startswith("application/json") else payload
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed


def journal_lines(dataset: Dataset, name: str = "human.journal.jsonl") -> list[dict]:
    path = dataset.path / "labels" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
