"""A real browser labels frames with the keyboard: headless Debian Chromium driven by Playwright.

The browser must be installed (``bash scripts/install-system-deps.sh``; ``setup.sh`` runs it): if it
is missing, these tests FAIL — they are never skipped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers_labels import CHROMIUM, CHROMIUM_ARGS, journal_lines, make_dataset, running_server

from evalkit.labels.store import LabelStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: install it with 'bash scripts/install-system-deps.sh' (Debian chromium)."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: .venv/bin/pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))  # CSP, 404s...
    yield pg
    ctx.close()
    assert pg.errors == [], pg.errors


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def journal_count(ds, name="human.journal.jsonl"):
    path = ds.path / "labels" / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("body.ready", timeout=15000)


def shown_frame(page) -> int:
    return int(page.inner_text("#info-frame").lstrip("#"))


def test_chromium_is_installed():
    assert Path(CHROMIUM).is_file(), "run 'bash scripts/install-system-deps.sh'"


def test_label_with_keyboard_undo_reload(page, datasets_root, tmp_path):
    ds = make_dataset(datasets_root, "lab", n_frames=40, n_episodes=4, size=48)
    with running_server(ds, labeller="alice", order="random", seed=3) as srv:
        open_page(page, srv.url())
        order = page.evaluate(
            "() => fetch('/api/session', {headers: {'X-Evalkit-Token': EK.token}})"
            ".then(r => r.json()).then(s => s.order)"
        )
        assert sorted(order) == list(range(40)) and order != list(range(40))
        assert shown_frame(page) == order[0]
        assert "pole vertically upright" in page.inner_text("#goal-prompt")
        assert "12°" in page.inner_text("#criterion")

        for key in ("g", "n", "s", "g"):
            page.keyboard.press(key)
        wait_for(lambda: journal_count(ds) == 4, what="4 labels in the journal")
        assert shown_frame(page) == order[4]  # each label moves on
        page.keyboard.press("u")
        wait_for(lambda: journal_count(ds) == 5, what="the undo in the journal")
        page.wait_for_function(
            "() => document.querySelector('#status').textContent.includes('Undid')"
        )
        assert shown_frame(page) == order[3]  # back on the undone frame
        assert "unlabelled" in page.inner_text("#info-label")

        events = journal_lines(ds)
        assert [(e["type"], e["frame_id"], e.get("label")) for e in events] == [
            ("label", order[0], "goal"),
            ("label", order[1], "not_goal"),
            ("label", order[2], "skip"),
            ("label", order[3], "goal"),
            ("undo", order[3], None),
        ]
        assert events[4]["undoes"] == events[3]["id"]
        assert LabelStore(ds).labels_of("cartpole", "alice") == {
            order[0]: "goal",
            order[1]: "not_goal",
            order[2]: "skip",
        }

        page.reload()
        page.wait_for_selector("body.ready")
        text = page.inner_text("#progress-text")
        assert "2 / 40 labelled" in text and "1 goal" in text and "1 skipped" in text
        assert shown_frame(page) == order[3]  # continues at the first unlabelled frame
        page.keyboard.press("ArrowLeft")
        assert shown_frame(page) == order[2]
        assert page.inner_text("#frame-badge").strip().lower() == "skipped"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert shown_frame(page) == order[4]
        page.screenshot(path=str(tmp_path / "label-single.png"))

        # the image is really the frame, served by id
        size = page.evaluate(
            "() => [document.querySelector('#frame').naturalWidth, "
            "document.querySelector('#frame').complete]"
        )
        assert size == [48, True]


def test_grid_mode_and_filters(page, datasets_root):
    ds = make_dataset(datasets_root, "lab", n_frames=40, n_episodes=4, size=48)
    rule = ds.labels("cartpole")
    with running_server(ds, labeller="bo", order="episode") as srv:
        open_page(page, srv.url())
        page.keyboard.press("v")
        page.wait_for_selector(".tile")
        tiles = page.query_selector_all(".tile")
        n = len(tiles)
        assert n >= 8
        page.click(".tile:nth-child(2)")
        page.click(".tile:nth-child(5)")
        assert "2 selected" in page.inner_text("#grid-position")
        page.keyboard.press("Enter")
        wait_for(lambda: journal_count(ds) == n, what="one label per tile")
        labels = LabelStore(ds).labels_of("cartpole", "bo")
        assert labels == {f: ("goal" if f in (1, 4) else "not_goal") for f in range(n)}
        # the next page starts after the saved one
        assert page.get_attribute(".tile", "data-fid") == str(n)

        # only unlabelled, back in the single view: the first frame shown is frame n
        page.keyboard.press("v")
        page.check("#only-unlabelled")
        assert shown_frame(page) == n
        page.uncheck("#only-unlabelled")
        # disagreements with rule labels: exactly the labelled frames whose label differs
        page.check("#disagree")
        expected = [f for f in range(n) if (labels[f] == "goal") != bool(rule[f])]
        assert len(expected) >= 2
        seen = [shown_frame(page)]
        for _ in range(len(expected) + 2):
            page.keyboard.press("ArrowRight")
            if shown_frame(page) != seen[-1]:
                seen.append(shown_frame(page))
        assert seen == expected


def test_rate_page(page, datasets_root, tmp_path):
    ds = make_dataset(datasets_root, "lab", n_frames=30, n_episodes=3, size=48)
    with running_server(ds, labeller="rita", order="episode") as srv:
        open_page(page, srv.url("rate"))
        assert page.inner_text("#info-episode") == "0"
        page.wait_for_function("() => document.querySelector('#loading').textContent === ''")
        page.keyboard.press("3")  # 50 %
        wait_for(lambda: journal_count(ds, "ratings.journal.jsonl") == 1, what="the rating")
        assert page.inner_text("#info-episode") == "1"  # on to the next unrated episode
        page.keyboard.press("2")  # 25 %
        wait_for(lambda: journal_count(ds, "ratings.journal.jsonl") == 2, what="the second rating")
        page.wait_for_function(
            "() => document.querySelector('#progress-text').textContent.includes('50 %')"
        )
        assert "2 / 3 rated" in page.inner_text("#progress-text")
        page.screenshot(path=str(tmp_path / "rate.png"))
    events = journal_lines(ds, "ratings.journal.jsonl")
    assert [(e["episode"], e["rating"]) for e in events] == [(0, 50), (1, 25)]
