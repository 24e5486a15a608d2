"""The labelling web server over real HTTP: token, validation, path traversal, labels, ratings,
port in use, Ctrl-C, and kill -9 in the middle of labelling."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
from helpers_labels import journal_lines, make_dataset, request, running_server
from PIL import Image

from evalkit.errors import EvalkitError
from evalkit.labels.server import LabelApp, bind_socket
from evalkit.labels.store import LabelStore


@pytest.fixture
def ds(datasets_root):
    return make_dataset(datasets_root, "lab", n_frames=30, n_episodes=3)


def test_every_api_call_needs_the_token(ds):
    with running_server(ds) as srv:
        for method, path, body in [
            ("GET", "/api/session", None),
            ("GET", "/api/labels", None),
            ("POST", "/api/label", {"frame_id": 1, "label": "goal"}),
            ("POST", "/api/labels", {"items": [{"frame_id": 1, "label": "goal"}]}),
            ("POST", "/api/undo", {}),
            ("GET", "/api/frame/1", None),
            ("GET", "/api/episodes", None),
            ("POST", "/api/rate", {"episode": 0, "rating": 50}),
            ("POST", "/api/rate/undo", {}),
        ]:
            for token in (None, "wrong", srv.app.token[:-1]):
                status, _, data = request(srv, method, path, body, token=token)
                assert status == 403, (method, path, token)
                assert "token" in data["error"]
        status, _, _ = request(srv, "GET", f"/api/frame/1?token={srv.app.token}", token=None)
        assert status == 200  # the query parameter works too (for <img src>)
        # the pages themselves hold no data and load without it
        assert request(srv, "GET", "/", token=None)[0] == 200
        assert request(srv, "GET", "/rate", token=None)[0] == 200
    assert not LabelStore(ds).path.exists()


def test_frames_are_served_by_id_only(ds):
    with running_server(ds) as srv:
        status, headers, png = request(srv, "GET", "/api/frame/7")
        assert status == 200 and headers["content-type"] == "image/png"
        assert "max-age" in headers["cache-control"] and headers["etag"]
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), ds.frames[7])
        status, _, thumb = request(srv, "GET", "/api/frame/7.png?size=thumb")
        assert status == 200 and Image.open(io.BytesIO(thumb)).size == (32, 32)  # already small
        status, _, _ = request(
            srv, "GET", "/api/frame/7", headers={"If-None-Match": headers["etag"]}
        )
        assert status == 304
        for path, expected in [
            ("/api/frame/30", 404),
            ("/api/frame/99999999", 404),
            ("/api/frame/-1", 400),
            ("/api/frame/1e3", 400),
            ("/api/frame/abc", 400),
            ("/api/frame/%2e%2e", 400),
            ("/api/frame/..%2F..%2Fmanifest.json", 404),
            ("/api/frame/..%2Fframes.npy", 404),
            ("/api/frame/../manifest.json", 404),
            ("/api/frame/1/../../manifest.json", 404),
            ("/api/frame/7?size=huge", 400),
            ("/static/../manifest.json", 404),
            ("/static/..%2F..%2Fmanifest.json", 404),
            ("/static/server.py", 404),
            ("/manifest.json", 404),
            ("/api/frame/" + "9" * 40, 400),
        ]:
            status, _, body = request(srv, "GET", path)
            assert status == expected, path
            assert b"content_hash" not in (
                body if isinstance(body, bytes) else json.dumps(body).encode()
            )


def test_label_undo_and_session(ds):
    with running_server(ds, labeller="alice", order="episode") as srv:
        status, _, s = request(srv, "GET", "/api/session")
        assert status == 200
        assert s["order"] == list(range(30)) and s["task"]["name"] == "cartpole"
        assert s["task"]["goal_prompt"] == "pole vertically upright on top of the cart"
        assert s["rule"] == ds.labels("cartpole").astype(int).tolist()
        assert s["progress"] == {"total": 30, "goal": 0, "not_goal": 0, "skip": 0, "labelled": 0}

        assert request(srv, "POST", "/api/label", {"frame_id": 3, "label": "goal"})[0] == 200
        assert request(srv, "POST", "/api/label", {"frame_id": 4, "label": "skip"})[0] == 200
        status, _, r = request(
            srv,
            "POST",
            "/api/labels",
            {"items": [{"frame_id": 5, "label": "not_goal"}, {"frame_id": 3, "label": "not_goal"}]},
        )
        assert status == 200 and r["progress"]["labelled"] == 2 and r["progress"]["skip"] == 1
        status, _, r = request(srv, "POST", "/api/undo", {})
        assert r["undone"] == {
            "event_id": r["undone"]["event_id"],
            "frame_id": 3,
            "label": "not_goal",
        }
        assert r["label"] == "goal"  # frame 3 is back to its earlier label
        status, _, r = request(srv, "GET", "/api/labels")
        assert r["labels"] == {"3": "goal", "4": "skip", "5": "not_goal"}
    lines = journal_lines(ds)
    assert [(e["type"], e.get("frame_id"), e.get("label")) for e in lines] == [
        ("label", 3, "goal"),
        ("label", 4, "skip"),
        ("label", 5, "not_goal"),
        ("label", 3, "not_goal"),
        ("undo", 3, None),
    ]
    assert all(e["labeller"] == "alice" and e["source"] == "web" for e in lines)


def test_bad_posts_are_refused_and_write_nothing(ds):
    with running_server(ds) as srv:
        for body, match in [
            ({"frame_id": 30, "label": "goal"}, "does not exist"),
            ({"frame_id": -1, "label": "goal"}, "does not exist"),
            ({"frame_id": True, "label": "goal"}, "integer"),
            ({"frame_id": "3", "label": "goal"}, "integer"),
            ({"frame_id": 3.0, "label": "goal"}, "integer"),
            ({"frame_id": 3, "label": "GOAL"}, "label must be"),
            ({"frame_id": 3}, "label must be"),
            ({"frame_id": "../../etc/passwd", "label": "goal"}, "integer"),
        ]:
            status, _, r = request(srv, "POST", "/api/label", body)
            assert status == 400 and match in r["error"], body
        for raw in (b"not json", b"[1,2]", b"\xff\xfe"):
            status, _, r = request(srv, "POST", "/api/label", raw_body=raw)
            assert status == 400
        status, _, r = request(srv, "POST", "/api/label", raw_body=b"{" + b" " * (2 << 20) + b"}")
        assert status == 413
        status, _, r = request(
            srv,
            "POST",
            "/api/labels",
            {"items": [{"frame_id": 1, "label": "goal"}, {"frame_id": 99, "label": "goal"}]},
        )
        assert status == 400  # the whole batch is refused
        assert request(srv, "POST", "/api/labels", {"items": []})[0] == 400
        assert request(srv, "POST", "/api/undo", {"event_id": 5})[0] == 400
        assert request(srv, "POST", "/api/undo", {"event_id": "nope"})[0] == 400
        assert request(srv, "GET", "/api/label")[0] == 405
    assert not LabelStore(ds).path.exists()


def test_rating_endpoints(ds):
    with running_server(ds, labeller="rita", order="episode") as srv:
        status, _, e = request(srv, "GET", "/api/episodes")
        assert [x["episode"] for x in e["episodes"]] == [0, 1, 2]
        assert e["episodes"][1]["frames"] == list(range(10, 20))
        assert e["rated"] == 0 and e["success_rate"] is None
        request(srv, "POST", "/api/rate", {"episode": 0, "rating": 100})
        status, _, r = request(srv, "POST", "/api/rate", {"episode": 1, "rating": 25})
        assert (
            status == 200 and r["rated"] == 2 and r["successes"] == 1 and r["success_rate"] == 0.5
        )
        for body in (
            {"episode": 7, "rating": 50},
            {"episode": 0, "rating": 60},
            {"episode": 0, "rating": "50"},
        ):
            assert request(srv, "POST", "/api/rate", body)[0] == 400
        status, _, r = request(srv, "POST", "/api/rate/undo", {})
        assert r["undone"] == {"episode": 1, "rating": 25} and r["ratings"] == {"0": 100}
    assert (ds.path / "labels" / "ratings.journal.jsonl").is_file()


def test_port_in_use_is_a_clear_error(ds):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(
            EvalkitError, match=rf"Port {port} on 127.0.0.1 is already in use.*--port \d+"
        ):
            bind_socket("127.0.0.1", port)
    with pytest.raises(EvalkitError, match="not a TCP port"):
        bind_socket("127.0.0.1", 70000)
    with pytest.raises(EvalkitError, match="not an address of this machine"):
        bind_socket("203.0.113.7", 0)


def test_cli_serve_on_a_busy_port_says_so(cli, ds):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = cli("label", "serve", "lab", "--task", "cartpole", "--port", str(port))
    assert res.exit_code == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in res.output and "--port" in res.output


def test_app_refuses_a_task_of_another_family(ds):
    with pytest.raises(EvalkitError, match="humanoid task"):
        LabelApp(ds, "kneeling", "alice")


def _serve(datasets_root, *extra):
    env = {**os.environ, "EVALKIT_DATASETS": str(datasets_root), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from evalkit.cli import main; main()",
            "label",
            "serve",
            "lab",
            "--task",
            "cartpole",
            "--labeller",
            "kim",
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "token=" in line:
            return proc, line.strip(), lines
    proc.kill()
    raise AssertionError("server did not print its URL:\n" + "".join(lines))


def _post(url, path, body):
    base, token = url.split("/?token=")
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Evalkit-Token": token},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_cli_serve_prints_url_and_ctrl_c_stops_cleanly(ds, datasets_root):
    proc, url, _ = _serve(datasets_root)
    assert url.startswith("http://127.0.0.1:")
    _post(url, "/api/label", {"frame_id": 2, "label": "goal"})
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Stopped. kim: 1 of 30 frames labelled" in out
    assert "human-kim" in ds.label_sets() and "human" in ds.label_sets()
    assert ds.label_table("human-kim")["frame_id"].tolist() == [2]


@pytest.mark.slow
def test_kill_9_while_labelling_loses_no_acknowledged_label(ds, datasets_root):
    proc, url, _ = _serve(datasets_root)
    acked = []

    def killer():
        time.sleep(0.6)
        os.kill(proc.pid, signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    try:
        for i in range(100000):
            r = _post(url, "/api/label", {"frame_id": i % 30, "label": ("goal", "not_goal")[i % 2]})
            acked.append(r["event_id"])
    except (OSError, http.client.HTTPException):
        pass  # the server is gone (killed before, or in the middle of, a response)
    proc.wait(timeout=30)
    assert len(acked) > 5
    store = LabelStore(ds)  # reads the journal, a torn last line included (with a warning)
    ids = [e["id"] for e in store.log.events]
    assert set(acked) <= set(ids)
    assert len(ids) - len(acked) <= 1  # at most the label being sent when it died


def test_bench_label_command(cli, tmp_path):
    res = cli(
        "bench", "label", "--n", "20", "--frames", "12", "--size", "32", "--dir", str(tmp_path)
    )
    assert res.exit_code == 0, res.output
    assert "POST /api/label, median" in res.output and "fsync" in res.output
    assert list(tmp_path.iterdir()) == []  # the scratch dataset is gone
