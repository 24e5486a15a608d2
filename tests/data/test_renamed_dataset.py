"""A copied or renamed dataset folder goes by its folder's name (the name commands take), not
the name its manifest was written with."""

from __future__ import annotations

import shutil

import pytest

from evalkit.data.store import list_datasets, open_dataset
from evalkit.data.sweeps import collect_sweep
from evalkit.errors import EvalkitError
from evalkit.text import plural, plural_noun


def test_a_renamed_dataset_is_named_by_its_folder(datasets_root, cli):
    ds = collect_sweep("cartpole", n=20, size=16, progress=False).dataset
    shutil.move(ds.path, datasets_root / "renamed")
    renamed = open_dataset("renamed")
    assert renamed.name == "renamed" and renamed.manifest.name == "cartpole-sweep"
    assert [d.name for d in list_datasets()] == ["renamed"]
    result = cli("show", "renamed", "--labels", "nosuch")
    assert result.exit_code == 2
    assert "'renamed'" in result.output and "cartpole-sweep" not in result.output
    assert "evalkit label serve renamed" in result.output


def test_plural_nouns():
    cases = {
        "frame": "frames",
        "environment family": "environment families",
        "day": "days",
        "match": "matches",
        "box": "boxes",
        "task": "tasks",
    }
    for noun, expected in cases.items():
        assert plural_noun(noun) == expected
    assert plural(1, "family") == "1 family" and plural(2, "family") == "2 families"


def test_an_unknown_family_is_said_in_good_english():
    from evalkit.envs.family import get_family

    with pytest.raises(EvalkitError, match="Valid environment families: cartpole"):
        get_family("cartpol")
