"""The family objects: progress variables and render variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.envs.family import get_family, progress_values
from evalkit.errors import EvalkitError

STATES = pd.DataFrame({"angle": [0.1, -0.3, 0.0], "position": [-1.0, 0.2, 0.5]})


def test_progress_of_the_built_in_families():
    np.testing.assert_array_equal(get_family("cartpole").progress_values(STATES), [-0.1, -0.3, 0.0])
    np.testing.assert_array_equal(
        get_family("mountaincar").progress_values(STATES), [-1.0, 0.2, 0.5]
    )
    np.testing.assert_array_equal(progress_values(STATES, "position * 2 - angle"), [-2.1, 0.7, 1.0])


@pytest.mark.parametrize(
    "expression, message",
    [
        (None, "has no progress variable"),
        ("-abs(angel)", "cannot be computed from the state columns \\(angle, position\\)"),
        ("angle > 0", None),
    ],
)
def test_progress_errors(expression, message):
    if message is None:
        np.testing.assert_array_equal(progress_values(STATES, expression), [1.0, 0.0, 0.0])
        return
    with pytest.raises(EvalkitError, match=message):
        get_family("humanoid").progress_values(STATES, expression)


def test_variant_names_and_flags():
    mc = get_family("mountaincar")
    assert mc.sweep_dataset_name({"textured": False}) == "mountaincar-sweep-plain"
    assert mc.sweep_dataset_name({}) == "mountaincar-sweep-textured"
    assert mc.variant_flags({"textured": False}) == " --plain"
    with pytest.raises(EvalkitError, match="has no 'fixed_camera' option"):
        mc.resolve_variants({"fixed_camera": True})
