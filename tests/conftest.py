"""Test-wide settings: offline hub, headless rendering, datasets in a temporary root."""

from __future__ import annotations

import os

# Set before any test module imports open_clip / huggingface_hub / mujoco / pygame.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest


@pytest.fixture
def datasets_root(tmp_path, monkeypatch):
    """A fresh, empty datasets root, also set as ``$EVALKIT_DATASETS`` for the CLI."""
    root = tmp_path / "datasets"
    monkeypatch.setenv("EVALKIT_DATASETS", str(root))
    return root


@pytest.fixture
def cli():
    """Run the evalkit CLI in-process: ``cli("collect", "cartpole", ...)`` -> click Result."""
    from typer.testing import CliRunner

    from evalkit.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run
