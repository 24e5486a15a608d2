"""What ``evalkit train`` asks for, turned into the config and the run folder that
:func:`evalkit.train.runner.train` takes: :class:`TrainRequest`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from evalkit.config import runs_root
from evalkit.errors import EvalkitError
from evalkit.train.config import TrainConfig

CLIP_ONLY = ("model", "pretrained", "alpha")
"""Settings that only the CLIP reward reads."""


@dataclass(frozen=True)
class TrainRequest:
    """A training run as asked for on the command line.

    :param settings: :class:`TrainConfig` fields given explicitly (``None``: not given); they win
        over the config file's.
    :param config_file: a TOML or YAML file of settings.
    :param out: the run folder (default: a folder under the runs root named after the run).
    :param resume: go on with the run in ``out`` (or in the folder its settings name).
    """

    settings: Mapping[str, Any]
    config_file: Path | None = None
    out: Path | None = None
    resume: bool = False

    def plan(self) -> tuple[TrainConfig, Path]:
        """The config to train with (on resume, the settings given, compared with the saved
        ones) and the run folder.

        :raises EvalkitError: settings that contradict each other, or a resume that names no run.
        """
        given = {k: v for k, v in self.settings.items() if v is not None}
        envs = given.get("n_envs")
        if envs is not None and envs < 1:
            raise EvalkitError(f"{TrainConfig.flag('n_envs')} must be at least 1, not {envs}.")
        if given.get("reward") == "ground-truth":
            _refuse_clip_settings(given)
        if not self.resume:
            config = TrainConfig.from_sources(given, self.config_file)
            return config, self.out or runs_root() / config.resolved().default_run_name()
        out = self.out
        if out is None:
            if "task" not in given:
                raise EvalkitError(
                    "--resume needs the run folder: --out runs/NAME, or the --task (and settings) that made it."
                )
            named = TrainConfig.from_sources(given, self.config_file).resolved()
            out = runs_root() / named.default_run_name()
        task = given.get("task") or ""
        return TrainConfig.from_sources({**given, "task": task}, self.config_file), out


def _refuse_clip_settings(given: Mapping[str, Any]) -> None:
    """Settings of the CLIP reward given with the ground-truth reward are a mistake, said once."""
    flags = [TrainConfig.flag(name) for name in CLIP_ONLY if name in given]
    if flags:
        many = len(flags) > 1
        raise EvalkitError(
            f"{' and '.join(flags)} only {'apply' if many else 'applies'} to the CLIP reward; drop {'them' if many else 'it'} with --reward ground-truth."
        )
