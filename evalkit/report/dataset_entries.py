"""The report's dataset entries (parameters, contact sheet) and the environment it was built in."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.data.contact_sheet import contact_sheet
from evalkit.errors import EvalkitError
from evalkit.report.content import SHEETS_DIR, DatasetEntry


def environment() -> list[tuple[str, str]]:
    env = [
        ("evalkit", __version__),
        ("python", platform.python_version()),
        ("platform", platform.platform()),
    ]
    for pkg in ("torch", "open_clip_torch", "numpy", "pandas", "matplotlib", "jinja2"):
        try:
            env.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            pass
    return env


def _flat(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Generator parameters as ``(name, value)`` pairs, nested dicts flattened, floats shortened."""
    out = []
    for k, v in sorted(params.items()):
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", f"{v:.6g}" if isinstance(v, float) else str(v)))
    return out


def dataset_info(ds: Any, sheet: str | None, sheet_caption: str) -> DatasetEntry:
    m = ds.manifest
    h, w, _ = m.frame_shape
    params = ", ".join(f"{k}={v}" for k, v in _flat(m.params))
    return DatasetEntry(
        name=m.name,
        family=m.family,
        generator=m.generator,
        n_frames=m.n_frames,
        n_episodes=m.n_episodes,
        width=w,
        height=h,
        label_sets=ds.label_sets(),
        content_hash=m.content_hash,
        params=params,
        sheet=sheet,
        sheet_caption=sheet_caption,
    )


def write_contact_sheet(ds: Any, folder: Path, n: int) -> tuple[str | None, str]:
    """A contact sheet PNG of ``ds`` (relative path, caption); ``(None, why)`` if it cannot be made."""
    try:
        image = contact_sheet(ds, n)
    except EvalkitError as exc:
        return None, f"(no contact sheet: {exc})"
    name = f"{ds.name}.png"
    image.save(folder / SHEETS_DIR / name, optimize=True)
    return (
        f"{SHEETS_DIR}/{name}",
        f"Contact sheet: {min(n, len(ds))} evenly spaced frames with their goal labels.",
    )
