"""The model-backend registry: the example plugin's backend (``pixels:N``, the frame as N×N grey
pixels), registered with ``register_backend``, works through ``embed``, ``epic`` and
``models`` with no other file touched; incomplete backends fail when registered or created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers_registry import example_plugin
from helpers_vlm import make_dataset
from PIL import Image

from evalkit.errors import ModelError
from evalkit.vlm import (
    Backend,
    ModelSpec,
    backend_for,
    embed_dataset,
    register_backend,
    registered_backends,
    resolve,
    unregister_backend,
)
from evalkit.vlm.backend import LoadedModel, ResolvedModel
from evalkit.vlm.models import model_parameters
from evalkit.vlm.registry import BackendError

REPO = Path(__file__).resolve().parents[2]


PLUGIN = example_plugin()
PixelsBackend = PLUGIN.PixelsBackend


@pytest.fixture
def pixels():
    """The pixels backend registered for one test; the registry as it was afterwards."""
    before = [b.name for b in registered_backends()]
    register_backend(PixelsBackend)
    yield
    unregister_backend("pixels")
    assert [b.name for b in registered_backends()] == before


def _grey(frames: np.ndarray, n: int) -> np.ndarray:
    """The expected embeddings, independently: Pillow's bilinear resize, channel mean, unit norm."""
    small = np.stack(
        [np.asarray(Image.fromarray(f).resize((n, n), Image.BILINEAR)) for f in frames]
    ).astype(np.float64)
    grey = (small / 255.0).mean(axis=3).reshape(len(frames), -1)
    return grey / np.linalg.norm(grey, axis=1, keepdims=True)


# -- the plugin through the CLI ------------------------------------------------------------------


def test_a_registered_backend_embeds_through_the_cli(pixels, cli, datasets_root):
    ds = make_dataset(datasets_root, "toy", n=12, hw=(40, 48))
    r = cli("embed", "toy", "--model", "pixels:8", "--devices", "cpu", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "Embedded 12 frames" in r.output and "64-dim" in r.output
    cached = embed_dataset(ds, "pixels:8", devices="cpu", progress=False)
    assert cached.computed == 0  # what the command wrote, read back
    np.testing.assert_allclose(cached.values, _grey(np.asarray(ds.frames), 8), atol=5e-3)


def test_a_registered_backend_scores_rewards_with_epic(pixels, cli, datasets_root):
    r = cli("collect", "cartpole", "--n", "20", "--size", "32")
    assert r.exit_code == 0, r.output
    r = cli(
        "epic", "--task", "cartpole", "--model", "pixels:8", "--alpha", "0,1",
        "--devices", "cpu", "--bootstrap", "100", "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout[r.stdout.index("[") :])
    assert [row["alpha"] for row in rows] == [0.0, 1.0]
    assert all(0.0 <= row["distance"] <= 1.0 for row in rows)
    assert all("pixels:8" in json.dumps(row) for row in rows)


def test_models_lists_every_registered_backend(pixels, cli):
    r = cli("models")
    assert r.exit_code == 0, r.output
    assert "pixel models" in r.output and "pixels:16" in r.output
    assert "No weights: every size is here." in r.output
    assert "ViT-H-14" in r.output and "hf:openai/clip-vit-base-patch32" in r.output


def test_a_backend_that_lists_nothing_shows_how_to_name_its_models(cli):
    class Unlisted(PixelsBackend):
        name = "unlisted"
        prefix = "unlisted:"
        usage = "unlisted:N — nothing to list"

        def catalogue(self, include_all: bool = False) -> None:
            return None

    register_backend(Unlisted)
    try:
        r = cli("models")
    finally:
        unregister_backend("unlisted")
    assert (
        r.exit_code == 0 and "unlisted models (no list): unlisted:N — nothing to list" in r.output
    )


def test_the_bench_refuses_a_backend_without_a_naive_reference(pixels, cli):
    r = cli("bench", "embed", "--model", "pixels:8", "--n", "2", "--devices", "cpu")
    assert r.exit_code == 2 and "no naive reference" in r.output


def test_names_go_to_their_backend_and_questions_are_asked_of_it(pixels):
    assert backend_for("pixels:8").name == "pixels" and backend_for("PIXELS:8").name == "pixels"
    assert backend_for("hf:org/name").name == "hf"
    assert backend_for("ViT-B-32").name == "open_clip"
    assert ModelSpec.coerce("pixels:8") == ModelSpec("pixels:8")
    assert ModelSpec.coerce("ViT-B-32:openai") == ModelSpec("ViT-B-32", "openai")
    assert model_parameters("pixels:8") == 0
    assert resolve("pixels:4").embed_dim == 16
    with pytest.raises(ModelError, match="pixels:N"):
        resolve("pixels:x")


# -- what registration refuses ------------------------------------------------------------------


class NoResolve(Backend):
    name = "broken"
    prefix = "broken:"
    usage = "broken:X"


@pytest.mark.parametrize(
    "backend, message",
    [
        (NoResolve, "NoResolve lacks resolve"),
        (type("NoUsage", (PixelsBackend,), {"name": "nousage", "usage": ""}), "usage line"),
        (type("BadPrefix", (PixelsBackend,), {"name": "badprefix", "prefix": "Bad"}), "prefix"),
        (type("BadName", (PixelsBackend,), {"name": "bad name"}), "an identifier"),
        (object(), "subclass of evalkit.vlm.Backend"),
    ],
)
def test_an_incomplete_backend_fails_at_registration(backend, message):
    before = [b.name for b in registered_backends()]
    with pytest.raises(BackendError, match=message):
        register_backend(backend)
    assert [b.name for b in registered_backends()] == before


def test_a_name_or_prefix_is_taken_once_unless_replaced(pixels):
    with pytest.raises(BackendError, match="registered already"):
        register_backend(PixelsBackend)

    class Other(PixelsBackend):
        name = "other"

    with pytest.raises(BackendError, match="prefix 'pixels:'.*'pixels' has"):
        register_backend(Other)

    class NewDefault(PixelsBackend):
        name = "newdefault"
        prefix = None

    with pytest.raises(BackendError, match="default backend.*'open_clip' has"):
        register_backend(NewDefault)
    replaced = register_backend(Other, replace=True)
    assert backend_for("pixels:8") is replaced
    unregister_backend("other")
    register_backend(PixelsBackend)  # as the fixture left it


def test_a_model_class_missing_a_required_attribute_fails_when_created():
    with pytest.raises(BackendError, match="NoName lacks display_name, preprocess"):

        @dataclass(frozen=True)
        class NoName(ResolvedModel):
            spec: Any
            backend = "x"

    with pytest.raises(BackendError, match="NoDevice lacks device"):

        class NoDevice(LoadedModel):
            resolved: ResolvedModel


def test_the_registry_imports_no_torch():
    # Registering a plugin's backend and looking its names up import neither torch nor the
    # built-in backends; listing every backend imports them.
    code = (
        "import sys\n"
        "from evalkit.vlm import Backend, ModelSpec, backend_for, register_backend, registered_backends\n"
        "class Light(Backend):\n"
        "    name, prefix, usage = 'light', 'light:', 'light:N'\n"
        "    def resolve(self, spec): raise NotImplementedError\n"
        "register_backend(Light)\n"
        "assert backend_for('LIGHT:3').name == 'light'\n"
        "assert ModelSpec.coerce('light:3') == ModelSpec('light:3')\n"
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules, 'torch imported'\n"
        "from evalkit.vlm.registry import BUILTIN_BACKENDS\n"
        "assert [b.name for b in registered_backends()] == [b.name for b in BUILTIN_BACKENDS] + ['light']\n"
        "assert 'open_clip' in sys.modules\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
