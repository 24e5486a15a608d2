"""The local labelling web app: a Starlette application served by uvicorn.

Why Starlette + uvicorn: both are already dependencies (no new install), Starlette is a small,
well-kept ASGI toolkit with exactly what this needs (routes, JSON/streaming responses, a test
client) and none of what it does not (templating engines, ORMs, form frameworks), and uvicorn
serves it on a socket we bind ourselves — so a port in use is reported clearly before anything
starts — and shuts down gracefully on Ctrl-C. Blocking work (journal appends with fsync, PNG
encoding) runs in Starlette's thread pool so one slow disk never stalls the page.

Pages (plain HTML/JS/CSS from :mod:`evalkit.labels` ``static/``, no build step):

``/``      label frames one at a time or in a grid (goal / not goal / skip, undo, filters)
``/rate``  the success-rate protocol: rate whole episodes 0/25/50/75/100 %

Every ``/api/...`` call needs the session token (``?token=`` or the ``X-Evalkit-Token``
header), printed in the URL at start, so other local users cannot read frames or post labels.
The client only ever names frame ids and episode ids of the opened dataset — never a path.
"""

from __future__ import annotations

import errno
import io
import json
import secrets
import signal
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evalkit.data.store import Dataset
from evalkit.errors import EvalkitError
from evalkit.labels.journal import check_labeller
from evalkit.labels.rating import RATINGS, SUCCESS_THRESHOLD, RatingStore, episode_frames
from evalkit.labels.stats import rule_labels_or_none
from evalkit.labels.store import LABELS, LabelStore, check_task_for_dataset

TOKEN_HEADER = "X-Evalkit-Token"
THUMB_SIZE = 192
MAX_BODY = 1 << 20
MAX_BATCH = 5000
ORDERS = ("random", "episode")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "rate.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "rate.js": "text/javascript; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The pages load only their own scripts, styles and frames, and cannot be framed by other sites."""


class HTTPProblem(Exception):
    """An error answered to the client as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _static(name: str) -> bytes:
    return resources.files("evalkit.labels").joinpath("static", name).read_bytes()


def frame_order(dataset: Dataset, order: str, seed: int) -> np.ndarray:
    """The order frames are shown in: ``random`` (a seeded permutation) or ``episode`` (by episode, step)."""
    if order == "random":
        return np.random.default_rng(seed).permutation(len(dataset))
    if order == "episode":
        s = dataset.states
        return np.lexsort((s["frame_id"].to_numpy(), s["step"].to_numpy(), s["episode"].to_numpy()))
    raise EvalkitError(f"Unknown order {order!r}; use one of {', '.join(ORDERS)}.")


def encode_png(frame: np.ndarray, max_side: int | None = None) -> bytes:
    """PNG bytes of one ``uint8 (h, w, 3)`` frame, optionally shrunk to ``max_side`` pixels."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame))
    if max_side is not None and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


@dataclass
class LabelApp:
    """State of one labelling session: the dataset, the task, who labels, and the stores.

    :param dataset: the opened dataset.
    :param task: the task being labelled (must belong to the dataset's family).
    :param labeller: who is labelling (a name, see :func:`evalkit.labels.journal.check_labeller`).
    :param order: ``random`` or ``episode``.
    :param seed: seed of the random order.
    :param token: the secret every API call must carry (random when not given).
    """

    dataset: Dataset
    task: str
    labeller: str
    order: str = "random"
    seed: int = 0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    def __post_init__(self) -> None:
        self.task_info = check_task_for_dataset(self.dataset, self.task)
        check_labeller(self.labeller)
        self.order_ids = frame_order(self.dataset, self.order, self.seed)
        self.labels = LabelStore(self.dataset)
        self._ratings: RatingStore | None = None
        self._episodes: dict[int, list[int]] | None = None
        self._rule: np.ndarray | None | bool = False
        self._encode = lru_cache(maxsize=512)(self._encode_uncached)  # PNGs, tens of MB at most

    # -- derived data -------------------------------------------------------------------------

    @property
    def ratings(self) -> RatingStore:
        if self._ratings is None:
            self._ratings = RatingStore(self.dataset)
        return self._ratings

    @property
    def episodes(self) -> dict[int, list[int]]:
        if self._episodes is None:
            self._episodes = episode_frames(self.dataset)
        return self._episodes

    def rule_labels(self) -> np.ndarray | None:
        """Rule labels of the task, or ``None`` if the task has none (human labels only)."""
        if self._rule is False:
            self._rule = rule_labels_or_none(self.dataset, self.task)
        return self._rule  # type: ignore[return-value]

    def _encode_uncached(self, frame_id: int, thumb: bool) -> bytes:
        return encode_png(self.dataset.frames[frame_id], THUMB_SIZE if thumb else None)

    def progress(self, labels: dict[int, str] | None = None) -> dict[str, int]:
        labels = self.labels.labels_of(self.task, self.labeller) if labels is None else labels
        values = list(labels.values())
        return {
            "total": len(self.dataset),
            "goal": values.count("goal"),
            "not_goal": values.count("not_goal"),
            "skip": values.count("skip"),
            "labelled": values.count("goal") + values.count("not_goal"),
        }

    def rating_summary(self) -> dict[str, Any]:
        ratings = self.ratings.ratings_of(self.task, self.labeller)
        n = len(ratings)
        k = sum(r >= SUCCESS_THRESHOLD for r in ratings.values())
        return {
            "n_episodes": len(self.episodes),
            "rated": n,
            "successes": k,
            "success_rate": (k / n) if n else None,
            "ratings": {str(e): r for e, r in ratings.items()},
        }

    # -- HTTP ----------------------------------------------------------------------------------

    def build(self) -> Starlette:
        """The Starlette application."""
        api = self._api
        routes = [
            Route("/", self._page("index.html")),
            Route("/rate", self._page("rate.html")),
            Route("/static/{name}", self._static_file),
            Route("/api/session", api(self._session)),
            Route("/api/labels", api(self._labels), methods=["GET"]),
            Route("/api/label", api(self._post_label), methods=["POST"]),
            Route("/api/labels", api(self._post_labels), methods=["POST"]),
            Route("/api/undo", api(self._undo), methods=["POST"]),
            Route("/api/frame/{frame_id}", api(self._frame, raw=True)),
            Route("/api/episodes", api(self._episodes_view)),
            Route("/api/rate", api(self._post_rating), methods=["POST"]),
            Route("/api/rate/undo", api(self._undo_rating), methods=["POST"]),
        ]
        return Starlette(routes=routes)

    def _page(self, name: str) -> Callable:
        async def page(request: Request) -> Response:
            return Response(
                _static(name),
                media_type=STATIC_FILES[name],
                headers={
                    "Cache-Control": "no-store",
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": PAGE_CSP,
                    "Referrer-Policy": "no-referrer",
                },
            )

        return page

    async def _static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return JSONResponse({"error": "not found"}, status_code=404)
        return Response(
            _static(name),
            media_type=STATIC_FILES[name],
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    def _api(self, handler: Callable, raw: bool = False) -> Callable:
        """Wrap an API handler: check the token, parse JSON bodies, map errors to 4xx answers."""

        async def endpoint(request: Request) -> Response:
            given = request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or ""
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                return JSONResponse(
                    {"error": "missing or wrong token; open the URL printed by evalkit"},
                    status_code=403,
                )
            try:
                body = None
                if request.method == "POST":
                    data = await request.body()
                    if len(data) > MAX_BODY:
                        raise HTTPProblem(413, "request body too large")
                    try:
                        body = json.loads(data or b"{}")
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise HTTPProblem(400, "the body is not JSON") from None
                    if not isinstance(body, dict):
                        raise HTTPProblem(400, "the body must be a JSON object")
                result = await run_in_threadpool(handler, request, body)
            except HTTPProblem as exc:
                return JSONResponse({"error": str(exc)}, status_code=exc.status)
            except EvalkitError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return result if raw else JSONResponse(result, headers={"Cache-Control": "no-store"})

        return endpoint

    def _session(self, request: Request, body: Any) -> dict[str, Any]:
        states = self.dataset.states
        rule = self.rule_labels()
        labels = self.labels.labels_of(self.task, self.labeller)
        t = self.task_info
        return {
            "dataset": self.dataset.name,
            "family": self.dataset.family,
            "n_frames": len(self.dataset),
            "frame_shape": list(self.dataset.manifest.frame_shape),
            "task": {
                "name": t.name,
                "goal_prompt": t.goal_prompt,
                "baseline_prompt": t.baseline_prompt,
                "criterion": t.criterion,
            },
            "labeller": self.labeller,
            "order_name": self.order,
            "seed": self.seed,
            "order": self.order_ids.tolist(),
            "episode": states["episode"].astype(int).tolist(),
            "step": states["step"].astype(int).tolist(),
            "rule": None if rule is None else rule.astype(int).tolist(),
            "labels": {str(k): v for k, v in labels.items()},
            "progress": self.progress(labels),
            "label_values": list(LABELS),
            "ratings": list(RATINGS),
            "success_threshold": SUCCESS_THRESHOLD,
            "journal": str(self.labels.path),
        }

    def _labels(self, request: Request, body: Any) -> dict[str, Any]:
        labels = self.labels.labels_of(self.task, self.labeller)
        return {"labels": {str(k): v for k, v in labels.items()}, "progress": self.progress(labels)}

    @staticmethod
    def _int(value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise HTTPProblem(400, f"{what} must be an integer, not {value!r}")
        return value

    def _check_item(self, item: Any) -> tuple[int, str]:
        if not isinstance(item, dict):
            raise HTTPProblem(400, "each label must be an object with frame_id and label")
        frame_id = self._int(item.get("frame_id"), "frame_id")
        label = item.get("label")
        if label not in LABELS:
            raise HTTPProblem(400, f"label must be one of {', '.join(LABELS)}, not {label!r}")
        if not 0 <= frame_id < len(self.dataset):
            raise HTTPProblem(
                400, f"frame {frame_id} does not exist (frames are 0..{len(self.dataset) - 1})"
            )
        return frame_id, label

    def _post_label(self, request: Request, body: dict) -> dict[str, Any]:
        frame_id, label = self._check_item(body)
        event = self.labels.add(frame_id, self.task, label, self.labeller, source="web")
        return {
            "event_id": event["id"],
            "frame_id": frame_id,
            "label": label,
            "progress": self.progress(),
        }

    def _post_labels(self, request: Request, body: dict) -> dict[str, Any]:
        items = body.get("items")
        if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
            raise HTTPProblem(400, f"items must be a list of 1..{MAX_BATCH} labels")
        checked = [self._check_item(i) for i in items]
        events = self.labels.add_many(
            [
                {"frame_id": f, "task": self.task, "label": lab, "labeller": self.labeller}
                for f, lab in checked
            ],
            source="web",
        )
        return {"event_ids": [e["id"] for e in events], "progress": self.progress()}

    def _undo(self, request: Request, body: dict) -> dict[str, Any]:
        event_id = body.get("event_id")
        if event_id is not None and not isinstance(event_id, str):
            raise HTTPProblem(400, "event_id must be a string")
        undone = (
            self.labels.undo(self.labeller, event_id=event_id, source="web")
            if event_id
            else self.labels.undo_last(self.labeller, self.task, source="web")
        )
        labels = self.labels.labels_of(self.task, self.labeller)
        if undone is None:
            return {"undone": None, "progress": self.progress(labels)}
        f = undone["frame_id"]
        return {
            "undone": {"event_id": undone["id"], "frame_id": f, "label": undone["label"]},
            "label": labels.get(f),
            "progress": self.progress(labels),
        }

    def _frame_id(self, text: str) -> int:
        name = text[:-4] if text.endswith(".png") else text
        if not name.isdigit() or len(name) > 12:
            raise HTTPProblem(400, "a frame is named by its integer id")
        frame_id = int(name)
        if frame_id >= len(self.dataset):
            raise HTTPProblem(404, f"no frame {frame_id} in this dataset")
        return frame_id

    def _frame(self, request: Request, body: Any) -> Response:
        frame_id = self._frame_id(request.path_params["frame_id"])
        size = request.query_params.get("size", "full")
        if size not in ("full", "thumb"):
            raise HTTPProblem(400, "size must be full or thumb")
        etag = f'"{self.dataset.content_hash}-{frame_id}-{size}"'
        headers = {
            "Cache-Control": "private, max-age=86400, immutable",
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(
            self._encode(frame_id, size == "thumb"), media_type="image/png", headers=headers
        )

    def _episodes_view(self, request: Request, body: Any) -> dict[str, Any]:
        eps = self.episodes
        order = list(eps)
        if self.order == "random":
            order = [order[i] for i in np.random.default_rng(self.seed).permutation(len(order))]
        return {
            "episodes": [{"episode": e, "frames": eps[e]} for e in order],
            **self.rating_summary(),
        }

    def _post_rating(self, request: Request, body: dict) -> dict[str, Any]:
        episode = self._int(body.get("episode"), "episode")
        rating = self._int(body.get("rating"), "rating")
        if episode not in self.episodes:
            raise HTTPProblem(400, f"episode {episode} does not exist")
        if rating not in RATINGS:
            raise HTTPProblem(400, f"rating must be one of {', '.join(map(str, RATINGS))}")
        event = self.ratings.add(episode, self.task, rating, self.labeller, source="web")
        return {"event_id": event["id"], **self.rating_summary()}

    def _undo_rating(self, request: Request, body: dict) -> dict[str, Any]:
        undone = self.ratings.undo(self.labeller, source="web", task=self.task)
        out = self.rating_summary()
        if undone is not None:
            out["undone"] = {"episode": undone["episode"], "rating": undone["rating"]}
        else:
            out["undone"] = None
        return out


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; a port in use is a clear error naming a free one."""
    if not 0 <= port <= 65535:
        raise EvalkitError(
            f"Port {port} is not a TCP port; use 1024..65535 (or 0 for any free one)."
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections (it checks the
    # protocol number); with proto 0, Nagle + delayed ACKs add ~40 ms to every small answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise EvalkitError(
                f"Port {port} on {host} is already in use (another 'evalkit label serve'?); "
                f"pass another port, e.g. --port {free_port(host)}, or --port 0 for any free one."
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(
            exc, socket.gaierror
        ):
            raise EvalkitError(
                f"Cannot listen on {host}: it is not an address of this machine; try --host 127.0.0.1."
            ) from None
        if exc.errno == errno.EACCES:
            raise EvalkitError(
                f"Not allowed to listen on port {port}; pass a port above 1023."
            ) from None
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LabelServer:
    """Serve a :class:`LabelApp` with uvicorn on a socket bound at construction.

    ``serve()`` blocks until Ctrl-C / SIGTERM (then returns normally); ``start()`` / ``stop()``
    run it in a background thread (tests, benchmarks).
    """

    def __init__(self, app: LabelApp, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.app = app
        self.host = host
        self.sock = bind_socket(host, port)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app.build(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
        self._server = _QuietServer(config)
        self._thread: threading.Thread | None = None

    def url(self, page: str = "") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/{page}?token={self.app.token}"

    def serve(self) -> None:
        """Serve until interrupted (Ctrl-C or SIGTERM)."""
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self, timeout: float = 10.0) -> "LabelServer":
        """Serve in a daemon thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.serve, name="evalkit-label-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the label server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class _QuietServer(uvicorn.Server):
    """uvicorn's server, but a Ctrl-C stops it without re-raising the signal afterwards.

    (uvicorn re-raises a captured SIGINT once it has shut down; the CLI wants to finish its own
    work — writing label sets, printing a summary — and exit 0.)
    """

    @contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)
