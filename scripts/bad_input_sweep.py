"""Sweep of bad inputs over evalkit's commands: each must end in one sentence, exit ≠ 0, and
write nothing.

Builds a sandbox (a small embedded CartPole sweep, a MountainCar sweep, a trained run, a fitted
head, corrupt and odd files), runs every case in-process, and classifies it:

- ``sentence``: exit ≠ 0, no traceback, and the output ends in one error sentence (``error: ...``
  or a usage error box);
- ``sentence, cache kept``: the same, after caching finished embeddings (e.g. the task's prompt
  embeddings, written whole before the bad input was reached, and reused by the next run);
- ``wrote``: the command also created or changed another file (lock files aside);
- ``traceback``: an exception escaped; ``accepted``: it exited 0 (or ran past the time limit).

Run:  ``PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/bad_input_sweep.py [--only WORD] [-v]``
(about 5 minutes on two cores); the counts are printed at the end. ``tests/cli/test_bad_input_sweep.py``
runs a representative subset.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("MPLBACKEND", "Agg")

TINY = ["-m", "evalkit-tiny-vit", "--pretrained", "none"]
DS = "cartpole-sweep"
MC = "mountaincar-sweep-textured"
VR = "video-rollouts"
"""A dataset of short episodes (3 of 6 frames, then one of 2) for the window and episode cases."""
AVG = "avg:evalkit-tiny-vit:none"
USAGE_MARKERS = (
    "Invalid value",
    "No such option",
    "Missing argument",
    "Missing option",
    "Got unexpected extra argument",
    "No such command",
    "requires an argument",
    "Option '",
)


@dataclass(frozen=True)
class Case:
    """One bad input: the words after ``evalkit`` (``{X}`` filled from the sandbox)."""

    args: tuple[str, ...]
    why: str


def C(line: str, why: str = "") -> Case:
    """A case from a command line (words split on spaces; ``''`` is an empty word and
    ``<space>`` a blank one)."""
    words = tuple({"''": "", "<space>": " "}.get(w, w) for w in line.split())
    return Case(words, why or line)


def cases() -> list[Case]:
    """Every bad input of the sweep."""
    t = " ".join(TINY)
    a = f"align {DS} -t cartpole {t}"
    s = f"select {DS} -t cartpole {t}"
    e = "epic -t cartpole"
    return [
        # --- align ----------------------------------------------------------------------
        C(f"{a} --seed -1"),
        C(f"{a} --seed 99999999999"),
        C(f"{a} --seed x"),
        C(f"{a} --folds 1"),
        C(f"{a} --folds x"),
        C(f"{a} --bootstrap -1"),
        C(f"{a} --bootstrap 5"),
        C(f"{a} --labels nosuch"),
        C(f"{a} --eval-labels nosuch"),
        C(f"{a} --eval-dataset {DS} --eval-labels nosuch"),
        C(f"{a} --eval-dataset nosuch"),
        C(f"{a} --eval-dataset {MC}"),
        C(f"{a} --curve-out c.png"),
        C(f"{a} --curve-repeats 3"),
        C(f"{a} --label-curve --curve-out c.xyz"),
        C(f"{a} --label-curve --curve-out c.gif"),
        C(f"{a} --out {{tmp}}"),
        C(f"{a} --out h.txt"),
        C(f"{a} --out {{afile}}/h.json"),
        C(f"align {DS} -t mountaincar {t}"),
        C(f"align {DS} -t nosuch {t}"),
        C(f"align nosuch -t cartpole {t}"),
        C(f"align {{broken}} -t cartpole {t}"),
        C(f"align {DS} -t cartpole -m nosuch-model --pretrained none"),
        C(f"align {DS} -t cartpole {t} --devices nosuchdevice"),
        C(f"align {DS} -t cartpole"),
        C(f"align {DS} -t cartpole {t} --curve-repeats 0"),
        # --- select ---------------------------------------------------------------------
        C(f"{s} --seed -1"),
        C(f"{s} --folds 1"),
        C(f"{s} --bootstrap 7"),
        C(f"{s} --alphas 2"),
        C(f"{s} --alphas x"),
        C(f"{s} --alphas ''"),
        C(f"{s} --alphas 0.5,0.5"),
        C(f"{s} --labels nosuch --heads"),
        C(f"{s} --out {{tmp}} --heads"),
        C(f"{s} --out s.csv --heads"),
        C(f"{s} --out s.json --no-save --heads"),
        C(f"{s} --top 3 --json --heads"),
        C(f"{s} --top -1 --heads"),
        C(f"{s}", "select without candidates"),
        C(f"{s} --prompts nosuch.txt"),
        C(f"{s} --prompts {{empty}}"),
        C(f"{s} --prompts {{tmp}}"),
        C(f"{s} --baseline-frames ids:1,2 --heads"),
        C(f"{s} --goal-frames nonsense"),
        C(f"{s} --goal-frames ids:999999"),
        C(f"{s} --goal-frames ids:-1"),
        C(f"{s} --goal-frames labels:nosuch"),
        C(f"{s} --goal-frames {{tmp}}/nosuchfolder"),
        C(f"select {DS} -t mountaincar {t} --heads"),
        C(f"select nosuch -t cartpole {t} --heads"),
        C(f"select {{broken}} -t cartpole {t} --heads"),
        C(f"select {DS} -t cartpole -m RN50 --pretrained openai --heads", "select: not embedded"),
        # --- epic -----------------------------------------------------------------------
        C(f"{e}", "epic without a reward"),
        C(f"{e} {t} --reward head:{{head}}", "two rewards"),
        C(f"{e} {t} --alpha 1.5"),
        C(f"{e} {t} --alpha -0.1"),
        C(f"{e} {t} --alpha a,b"),
        C(f"{e} {t} --bootstrap 3"),
        C(f"{e} {t} --ci nosuch"),
        C(f"{e} {t} --confidence 1.5"),
        C(f"{e} {t} --confidence 0"),
        C(f"{e} {t} --format xml"),
        C(f"{e} {t} --metrics nosuch"),
        C(f"{e} {t} --metrics ''"),
        C(f"{e} {t} --progress angle"),
        C(f"{e} {t} --metrics spearman --progress 'nosuchcolumn'"),
        C(f"{e} {t} --seed -4"),
        C(f"{e} {t} --labels nosuch"),
        C(f"{e} {t} --dataset nosuch"),
        C(f"{e} {t} --dataset {MC}"),
        C(f"{e} {t} --dataset {{broken}}"),
        C(f"{e} {t} --baseline-frames ids:1"),
        C(f"{e} --goal-frames ids:1 --reward head:{{head}}"),
        C(f"{e} --reward nosuchmodule:f"),
        C(f"{e} --reward os:nosuchfunction"),
        C(f"{e} --reward nocolon"),
        C(f"{e} --reward head:"),
        C(f"{e} --reward head:nosuch.json"),
        C(f"{e} --reward head:{{notjson}}"),
        C(f"{e} --reward head:{{head}} --alpha 0.5"),
        C(f"{e} --reward head:{{head}} --pretrained openai"),
        C(f"{e} --reward-column nosuch.csv"),
        C(f"{e} --reward-column {{empty}}"),
        C(f"{e} --reward-column {{notjson}}"),
        C("epic -t nosuch --reward head:{head}"),
        C("epic -t mountaincar --reward head:{head}"),
        C(f"epic {t}", "epic without --task"),
        # --- windows and episodes (video rewards) -----------------------------------------
        C(f"{e} --dataset {VR} --reward window:0:1:{AVG}", "a window of 0 frames"),
        C(f"{e} --dataset {VR} --reward window:2:0:{AVG}", "a stride of 0"),
        C(f"{e} --dataset {VR} --reward window:7:1:{AVG}", "a window longer than every episode"),
        C(
            f"{e} --dataset {VR} --reward window:2:1:evalkit-tiny-vit:none",
            "an image model's window",
        ),
        C(f"{e} --dataset {VR} --reward episode:evalkit-tiny-vit:none", "an image model's episode"),
        C(f"{e} --dataset {VR} --reward window:2:1:{AVG} --goal-video {VR}@episode:9"),
        C(f"{e} --dataset {VR} --reward window:2:1:{AVG} --goal-video nosuch@episode:0"),
        C(f"{e} --dataset {VR} --reward window:2:1:{AVG} --goal-video {{tmp}}/nosuchfolder"),
        C(f"{e} --dataset {VR} --reward window:2:1:{AVG} --goal-video {{tmp}}", "no frames there"),
        C(
            f"{e} --dataset {VR} --reward window:4:1:{AVG} --goal-video {VR}@episode:3",
            "a short demo",
        ),
        C(f"{e} --dataset {VR} --reward window:2:1:{AVG} --goal-video {VR}@ids:1"),
        C(
            f"{e} --dataset {VR} --reward window:2:1:{AVG}|{VR}@episode:0 --goal-video {VR}@episode:1"
        ),
        C(f"{e} --dataset {VR} {t} --goal-video {VR}@episode:0", "a demo for the CLIP reward"),
        C(f"{e} --dataset {VR} --reward episode:{AVG}", "episodes shorter than the frame count"),
        C(f"embed {VR} -m {AVG}", "a video model given single frames"),
        C(f"{s} --windows 0:1"),
        C(f"{s} --windows x"),
        C(f"{s} --windows 4:1", "a window longer than the sweep's one-frame episodes"),
        C(f"{s} --goal-video {VR}@episode:0", "a demo without windows"),
        C(f"select {VR} -t cartpole -m {AVG} --heads", "a video model with heads"),
        C(f"landscape cartpole --dataset {DS} --reward window:2:1:{AVG}", "a window on a sweep"),
        C(
            f"landscape cartpole --episode 1 --reward window:2:1:{AVG}",
            "--episode without --dataset",
        ),
        C(f"landscape cartpole --dataset {VR} --episode 9 --reward window:2:1:{AVG}"),
        C(f"train --task cartpole --reward window:0:1:{AVG} --steps 64 --out {{tmp}}/tv1"),
        C(
            f"train --task cartpole --reward episode:{AVG} --goal-video nosuch@episode:0 --steps 64 --out {{tmp}}/tv2"
        ),
        C(f"train --task cartpole {t} --goal-video {VR}@episode:0 --steps 64 --out {{tmp}}/tv3"),
        # --- embed ----------------------------------------------------------------------
        C("embed nosuch -m evalkit-tiny-vit --pretrained none"),
        C(f"embed {DS} -m nosuch-model --pretrained none"),
        C(f"embed {DS} -m evalkit-tiny-vit --pretrained nosuchtag"),
        C(f"embed {DS} -m evalkit-tiny-vit --pretrained /nosuch/weights.pt"),
        C(f"embed {DS} {t} --precision fp7"),
        C(f"embed {DS} {t} --batch-size 0"),
        C(f"embed {DS} {t} --batch-size -3"),
        C(f"embed {DS} {t} --devices nosuch"),
        C(f"embed {DS} {t} --devices cuda:7"),
        C(f"embed {DS} {t} --root {{afile}}"),
        C("embed {brokenframes} -m evalkit-tiny-vit --pretrained none"),
        C(f"embed {DS} -m hf:nosuch/model"),
        C(f"embed {DS} -m hf:{{tmp}}"),
        # --- figures --------------------------------------------------------------------
        C(f"histogram -t cartpole {t} --bins 1000000"),
        C(f"histogram -t cartpole {t} --bins 0"),
        C(f"histogram -t cartpole {t} --out h.jpg"),
        C(f"histogram -t cartpole {t} --out h.xyz"),
        C(f"histogram -t cartpole {t} --alpha 3"),
        C(f"histogram -t cartpole {t} --labels nosuch"),
        C(f"histogram -t cartpole {t} --dataset nosuch"),
        C("histogram -t cartpole", "histogram without a reward"),
        C(f"histogram -t nosuch {t}"),
        C(
            f"scaling -t cartpole --models evalkit-tiny-vit --pretrained none --dataset {DS} --metric nosuch"
        ),
        C(
            f"scaling -t cartpole --models evalkit-tiny-vit --pretrained none --dataset {DS} --alpha 9"
        ),
        C(
            f"scaling -t cartpole --models evalkit-tiny-vit --pretrained none --dataset {DS} --bootstrap 2"
        ),
        C(
            f"scaling -t cartpole --models evalkit-tiny-vit --pretrained none --dataset {DS} --out s.tiff"
        ),
        C(f"scaling -t cartpole --models RN50 --pretrained openai --dataset {DS} --saved-only"),
        C(f"scaling -t cartpole --models '' --dataset {DS}"),
        C(f"scaling -t cartpole --models evalkit-tiny-vit --pretrained a,b --dataset {DS}"),
        C(f"landscape cartpole -t cartpole {t} --dataset {{broken}}"),
        C(f"landscape cartpole -t cartpole {t} --alpha 2"),
        C(f"landscape cartpole -t cartpole {t} --out l.bmp"),
        C(f"landscape cartpole -t cartpole {t} --n 0"),
        C(f"landscape cartpole -t cartpole {t} --size 0"),
        C("landscape cartpole -t cartpole", "landscape without a reward"),
        C(f"landscape cartpole -t nosuch {t}"),
        # --- show -----------------------------------------------------------------------
        C("show nosuch"),
        C(f"show {DS} --out s.jpg"),
        C(f"show {DS} --out {{tmp}}"),
        C(f"show {DS} --out {{afile}}/s.png"),
        C(f"show {DS} --labels nosuch"),
        C(f"show {DS} --task mountaincar"),
        C(f"show {DS} --task nosuch"),
        C(f"show {DS} --n 0"),
        C(f"show {DS} --n -5"),
        C("show {broken}"),
        # --- report ---------------------------------------------------------------------
        C("report --run {tmp}/nosuchrun"),
        C("report --labels nosuch"),
        C("report --out {afile}/rep"),
        C("report --histogram-alpha 2"),
        C("report --sheet-frames 0"),
        C("report --task nosuch"),
        # --- runs, train, evaluate --------------------------------------------------------
        C("runs {tmp}/nosuchfolder"),
        C("runs {afile}"),
        C("runs {corruptrun_parent}"),
        C("train --task nosuch --reward ground-truth --steps 64 --out {tmp}/t1"),
        C("train --task cartpole --reward nosuch --steps 64 --out {tmp}/t2"),
        C("train --task cartpole --reward ground-truth --steps 0 --out {tmp}/t3"),
        C("train --task cartpole --reward ground-truth --steps -5 --out {tmp}/t4"),
        C("train --task cartpole --reward ground-truth --steps 64 --seed -1 --out {tmp}/t5"),
        C("train --task cartpole --reward ground-truth --steps 64 --algo nosuch --out {tmp}/t6"),
        C("train --task cartpole --reward ground-truth --steps 64 --envs 0 --out {tmp}/t7"),
        C("train --task cartpole --reward ground-truth --steps 64 --out {afile}/run"),
        C(
            "train --task cartpole --reward ground-truth --steps 64 --config {notjson} --out {tmp}/t8"
        ),
        C("train --task cartpole --reward head:{tmp}/nosuch.json --steps 64 --out {tmp}/t9"),
        C("train --task cartpole --reward ground-truth --steps 64 --render-size 0 --out {tmp}/ta"),
        C("train --task cartpole --reward ground-truth --steps 64 --precision fp7 --out {tmp}/tb"),
        C("train --out {tmp}/nosuchrun --resume --steps 100", "resume a run that is not there"),
        C("evaluate {tmp}/nosuchrun"),
        C("evaluate {run} --dataset foo --no-dataset"),
        C("evaluate {run} --overwrite --no-dataset"),
        C("evaluate {run} --root {tmp} --no-dataset"),
        C("evaluate {run} --checkpoint nosuch.zip"),
        C("evaluate {run} --checkpoint {notjson}"),
        C("evaluate {run} --episodes 0"),
        C("evaluate {run} --episodes -1"),
        C("evaluate {run} --seed -1"),
        C("evaluate {run} --device nosuch"),
        C("evaluate {run} --dataset ../escape"),
        C("evaluate {run_noidx}", "an index listing deleted checkpoints"),
        C("evaluate {afile}"),
        # --- collect, datasets, delete, tasks, models ------------------------------------
        C("collect cartpole --n 0 --name c0"),
        C("collect cartpole --n -1 --name c1"),
        C("collect cartpole --size 0 --name c2"),
        C("collect cartpole --seed -1 --name c3"),
        C("collect cartpole --name .hidden"),
        C("collect cartpole --name a/b"),
        C("collect cartpole --name ''"),
        C(f"collect cartpole --n 100 --size 32 --name {DS}", "exists, without --overwrite"),
        C("collect cartpole --n 10 --root {afile}"),
        C("collect cartpole --spacing nosuch --name c4"),
        C("collect mountaincar --n 0 --name m0"),
        C("collect humanoid --policy {notjson} --name hp"),
        C("collect humanoid --policy {tmp}/nosuch.zip --name hp2"),
        C("collect humanoid --poses nosuch --name hp3"),
        C("collect humanoid --episodes 0 --name hp4"),
        C("collect nosuchfamily"),
        C("datasets --root {afile}"),
        C("delete nosuch --yes"),
        C("delete ../escape --yes"),
        C("delete '' --yes"),
        C("tasks --format xml"),
        C("--tasks-file {tmp}/nosuch.toml tasks"),
        C("--tasks-file {notjson} tasks"),
        C("nosuchcommand"),
        # --- Meta-World: a task's own default dataset, ground truth, render bench -------
        C(
            "epic -t drawer-close -m evalkit-tiny-vit --pretrained none",
            "no metaworld-drawer-close",
        ),
        C(
            "scaling -t window-open --models evalkit-tiny-vit --pretrained none",
            "no default dataset",
        ),
        C("confusion --tasks drawer-open,drawer-close -m evalkit-tiny-vit --pretrained none"),
        C("epic -t drawer-close --reward ground-truth --dataset " + DS, "another family's dataset"),
        C(f"epic -t cartpole --reward ground-truth --dataset {DS}", "a sweep stores no gt_reward"),
        C("collect metaworld --task drawer-opn"),
        C("collect metaworld --task reach --epsilons 1.5"),
        C("collect metaworld --task reach --camera side"),
        C("bench render --env nosuch"),
        C("bench render --env cartpole --task drawer-open"),
        C("bench render --task drawer-open", "--task without --env"),
        C("bench render --env metaworld --profile shiny"),
        C("bench render --env metaworld --frames 0"),
        # --- labels ---------------------------------------------------------------------
        C("label serve '' -t cartpole"),
        C("label serve nosuch -t cartpole"),
        C(f"label serve {DS} -t mountaincar"),
        C(f"label serve {DS} -t nosuch"),
        C(f"label serve {DS} -t cartpole --host ''"),
        C(f"label serve {DS} -t cartpole --labeller <space>"),
        C(f"label serve {DS} -t cartpole --port -1"),
        C(f"label serve {DS} -t cartpole --port 70000"),
        C(f"label serve {DS} -t cartpole --order sideways"),
        C(f"label serve {DS} -t cartpole --seed -1"),
        C(f"label serve {DS} -t cartpole --host 999.1.1.1"),
        C("label rate '' -t cartpole"),
        C("label rate nosuch -t cartpole"),
        C("label rate {run} -t cartpole", "a run without rollouts"),
        C(f"label rate {DS} -t mountaincar"),
        C(f"label rate {DS} -t cartpole --port -2"),
        C(f"label rate {DS} -t cartpole --host ''"),
        C(f"label import {DS} nosuch.csv"),
        C(f"label import {DS} {{empty}}"),
        C(f"label import {DS} {{notjson}}"),
        C(f"label import {DS} {{badcsv}}"),
        C(f"label import {DS} {{tmp}}"),
        C("label import nosuch {badcsv}"),
        C(f"label export {DS} --out {{afile}}/l.csv"),
        C(f"label export {DS} --task nosuch"),
        C("label export nosuch"),
        C(f"label stats {DS} --task nosuch"),
        C("label stats nosuch"),
    ]


def build_sandbox(base: Path) -> dict[str, str]:
    """Datasets, a run, a head and odd files under ``base``; the ``{X}`` values of the cases."""
    from evalkit.data.sweeps import collect_sweep
    from evalkit.train.runner import INDEX_FILE, TrainConfig, train
    from evalkit.vlm import embed_dataset, resolve
    from evalkit.vlm.models import ModelSpec

    root = base / "datasets"
    os.environ["EVALKIT_DATASETS"] = str(root)
    os.environ["EVALKIT_RUNS"] = str(base / "runs")
    os.environ["EVALKIT_REPORTS"] = str(base / "reports")
    ds = collect_sweep("cartpole", 150, 32, root=root, progress=False).dataset
    embed_dataset(ds, resolve(ModelSpec("evalkit-tiny-vit", "none")), devices="cpu", progress=False)
    collect_sweep("mountaincar", 60, 32, root=root, progress=False)
    _video_rollouts(root)
    broken = base / "broken" / "brokenset"
    shutil.copytree(ds.path, broken)
    (broken / "states.parquet").write_bytes(b"PAR1 torn")
    broken_frames = base / "broken" / "brokenframes"
    shutil.copytree(ds.path, broken_frames)
    (broken_frames / "frames.npy").write_bytes(b"\x93NUMPY torn")
    from evalkit.pipeline import align

    head = base / "heads" / "h.json"
    align(
        ds, "cartpole", ModelSpec("evalkit-tiny-vit", "none"), folds=3, n_bootstrap=0, save_to=head
    )
    run = base / "runs" / "run"
    config = TrainConfig(task="cartpole", reward="ground-truth", steps=160, checkpoint_every=80)
    train(config, run)
    run_noidx = base / "runs-noidx" / "run"
    shutil.copytree(run, run_noidx)
    shutil.rmtree(run_noidx / "checkpoints")
    corrupt = base / "runs-corrupt" / "run"
    shutil.copytree(run, corrupt)
    (corrupt / INDEX_FILE).write_text("{ torn")
    files = base / "files"
    files.mkdir()
    (files / "empty.txt").write_text("")
    (files / "notjson.json").write_text("{ torn")
    (files / "bad.csv").write_text("frame_id,task,label\nx,cartpole,maybe\n")
    (files / "afile").write_text("a file where a folder is expected")
    return {
        "tmp": str(files),
        "afile": str(files / "afile"),
        "empty": str(files / "empty.txt"),
        "notjson": str(files / "notjson.json"),
        "badcsv": str(files / "bad.csv"),
        "broken": str(broken),
        "brokenframes": str(broken_frames),
        "head": str(head),
        "run": str(run),
        "run_noidx": str(run_noidx),
        "corruptrun_parent": str(corrupt.parent),
    }


def _video_rollouts(root: Path) -> None:
    """:data:`VR`: random 32-pixel cartpole frames in episodes of 6, 6, 6 and 2 steps."""
    import numpy as np
    import pandas as pd

    from evalkit.data.store import DatasetWriter

    episodes = np.repeat([0, 1, 2, 3], [6, 6, 6, 2])
    steps = np.concatenate([np.arange(n) for n in (6, 6, 6, 2)])
    rows = pd.DataFrame(
        {
            "episode": episodes,
            "step": steps,
            "angle": np.linspace(-0.3, 0.3, 20),
            "cart_position": 0.0,
        }
    )
    frames = np.random.default_rng(0).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    with DatasetWriter(
        root, VR, family="cartpole", env_id="evalkit/CartPole-v0", generator="test",
        params={}, render={"size": [32, 32]}, n_frames=20, frame_shape=(32, 32, 3),
    ) as w:  # fmt: skip
        w.add(frames, rows)


def snapshot(base: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``base`` (lock files and bytecode aside) with its size and mtime."""
    out = {}
    for p in base.rglob("*"):
        if p.is_file() and not p.name.endswith((".lock", ".pyc")):
            st = p.stat()
            out[str(p.relative_to(base))] = (st.st_size, st.st_mtime_ns)
    return out


class _TooLong(Exception):
    pass


def run_case(
    case: Case, values: dict[str, str], base: Path, limit: int = 90
) -> tuple[str, str, list[str]]:
    """Run one case in-process; (verdict, last line of output, files it wrote)."""
    from typer.testing import CliRunner

    from evalkit.cli import app

    args = [a.format(**values) for a in case.args]
    before = snapshot(base)

    def stop(signum: int, frame: object) -> None:
        raise _TooLong()

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(limit)
    try:
        result = CliRunner().invoke(app, args, catch_exceptions=True)
    except _TooLong:
        return "accepted", f"ran past {limit} s", []
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    after = snapshot(base)
    wrote = sorted(k for k, v in after.items() if before.get(k) != v)
    text = result.output
    lines = [line for line in text.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    flat = " ".join(text.replace("│", " ").split())
    if isinstance(result.exception, _TooLong):
        return "accepted", f"ran past {limit} s", wrote
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "traceback", f"{type(result.exception).__name__}: {result.exception}", wrote
    if result.exit_code == 0:
        return "accepted", last, wrote
    one = last.startswith("error: ") or any(m in flat for m in USAGE_MARKERS)
    if not one or "Traceback" in text:
        return "unclear", last, wrote
    said = last if last.startswith("error") else flat[-200:]
    if wrote and all(_is_cache(w) for w in wrote):
        return "sentence, cache kept", said, wrote
    if wrote:
        return "wrote", last, wrote
    return "sentence", said, wrote


def _is_cache(path: str) -> bool:
    """Whether ``path`` is a finished embedding-cache file (whole, reused by the next run)."""
    return "/embeddings/" in f"/{path}" and not Path(path).name.startswith(".")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="Run only the cases whose command line has this word.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Print every case.")
    parser.add_argument("--json", type=Path, help="Also write every case's verdict here.")
    opts = parser.parse_args()
    chosen = [c for c in cases() if not opts.only or opts.only in " ".join(c.args)]
    counts: dict[str, int] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="evalkit-sweep-") as tmp:
        base = Path(tmp)
        os.chdir(base)
        t0 = time.perf_counter()
        values = build_sandbox(base)
        print(f"sandbox ready in {time.perf_counter() - t0:.0f} s; {len(chosen)} cases", flush=True)
        for case in chosen:
            verdict, last, wrote = run_case(case, values, base)
            counts[verdict] = counts.get(verdict, 0) + 1
            rows.append({"case": case.why, "verdict": verdict, "last": last, "wrote": wrote})
            if opts.verbose or not verdict.startswith("sentence"):
                print(f"[{verdict}] {case.why}\n    {last[:240]}", flush=True)
                if wrote:
                    print(f"    wrote: {', '.join(wrote[:5])}", flush=True)
    total = sum(counts.values())
    print(f"\n{total} bad inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if opts.json:
        opts.json.write_text(json.dumps({"counts": counts, "cases": rows}, indent=2))
    good = counts.get("sentence", 0) + counts.get("sentence, cache kept", 0)
    return 0 if good == total else 1


if __name__ == "__main__":
    sys.exit(main())
