"""Rule labels for the eight humanoid tasks, computed from the physical state alone.

Each rule is a vectorised predicate on a state table whose columns are made by
:func:`evalkit.envs.humanoid.body_state` (key-point positions, their height above the floor
``*_clear``, their position in the body's heading frame ``*_fwd``/``*_lat``, the chest's
uprightness ``torso_up``). The rules follow the paper's human success criteria (Table 2, quoted
above each rule) as closely as the physical state allows. They are a proxy for human labels and
are stored as their own label set (``rule``), never mixed with human labels.

Every threshold lives in :data:`THRESHOLDS` (one :class:`Thresholds` instance); a task can
override any of them through its ``rule_params``::

    Task(..., rule="kneeling", rule_params={"on_floor": 0.08})

Heights are in metres. For scale: the humanoid's head is ≈ 1.6 m high when it stands, its legs
are ≈ 0.85 m from hip to sole, its hip joints are 0.2 m apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    """All thresholds of the humanoid rules, in one place (metres unless stated)."""

    on_floor: float = 0.05
    """A limb touches the floor when its surface is at most this high (``*_clear``)."""
    off_floor: float = 0.10
    """A foot is clearly lifted when its sole is at least this high."""
    upright: float = 0.75
    """The chest counts as upright when its up axis has at least this vertical component (≈ 41°)."""
    stand_head: float = 1.25
    """Standing: the head is at least this high (1.6 m when standing straight)."""
    stand_pelvis: float = 0.70
    """Standing: the pelvis is at least this high (≈ 0.9 m when standing straight)."""
    kneel_pelvis: float = 0.20
    """Kneeling: the pelvis is higher than this (not sitting on the floor)."""
    feet_behind: float = 0.10
    """Kneeling: each foot is at least this far behind its knee (heading frame)."""
    lotus_knee: float = 0.15
    """Lotus: both knees are at most this high (their surface), i.e. resting on or near the floor."""
    lotus_knee_apart: float = 0.45
    """Lotus: the knees are at least this far apart sideways (facing outwards)."""
    lotus_feet_inside: float = 0.05
    """Lotus: each foot is at least this much closer to the midline than its knee (inwards)."""
    lotus_foot_high: float = 0.30
    """Lotus: the feet are no higher than this (resting on the opposite thigh or shin)."""
    splits_feet_apart: float = 1.20
    """Splits: the feet are at least this far apart sideways (legs ≈ 0.85 m each)."""
    splits_pelvis: float = 0.25
    """Splits: the pelvis' surface is at most this high (the body is down on the floor)."""
    splits_knee: float = 0.15
    """Splits: both knees' surface at most this high (legs stretched on the floor)."""
    hand_above_head: float = 0.0
    """Arms raised: each hand is at least this much above the head's centre."""
    hips_hand_distance: float = 0.15
    """Hands on hips: each hand is within this distance of its own hip joint."""
    hips_hand_below_chest: float = 0.15
    """Hands on hips: each hand is at least this far below the chest (not on the chest)."""
    hips_arm_bent: float = 0.50
    """Hands on hips: each hand is at most this far from its shoulder — the elbow is bent, the
    hand placed on the hip, not an arm hanging down beside it (a straight arm reaches 0.6 m)."""
    crossed_past_midline: float = 0.03
    """Arms crossed: each hand is at least this far past the body's midline, on the other side."""
    crossed_hand_height: float = 0.45
    """Arms crossed: each hand is within this distance (vertically) of the chest."""
    crossed_in_front: float = 0.0
    """Arms crossed: each hand is at least this far in front of the pelvis (heading frame)."""


THRESHOLDS = Thresholds()
"""The thresholds the built-in tasks use."""


def _t(params: dict[str, Any]) -> Thresholds:
    return replace(THRESHOLDS, **params) if params else THRESHOLDS


def _col(states: Any, name: str) -> np.ndarray:
    return np.asarray(states[name], dtype=float)


def _distance(states: Any, a: str, b: str) -> np.ndarray:
    return np.sqrt(sum((_col(states, f"{a}_{x}") - _col(states, f"{b}_{x}")) ** 2 for x in "xyz"))


def _on_floor(states: Any, point: str, t: Thresholds) -> np.ndarray:
    return _col(states, f"{point}_clear") <= t.on_floor


def _both(states: Any, fn: Callable[[str], np.ndarray]) -> np.ndarray:
    return fn("left") & fn("right")


def _upright(states: Any, t: Thresholds) -> np.ndarray:
    return _col(states, "torso_up") >= t.upright


def _no_support_but_feet(states: Any, t: Thresholds) -> np.ndarray:
    """No knee, hand, pelvis or head on the floor."""
    down = np.zeros(len(_col(states, "torso_up")), dtype=bool)
    for point in ("left_knee", "right_knee", "left_hand", "right_hand", "pelvis", "head"):
        down |= _on_floor(states, point, t)
    return ~down


# Table 2, standing: "Agent is standing up without falling."
def standing(states: Any, **params: float) -> np.ndarray:
    """Head and pelvis high, chest upright, at least one foot and nothing else on the floor."""
    t = _t(params)
    feet = _on_floor(states, "left_foot", t) | _on_floor(states, "right_foot", t)
    return (
        (_col(states, "head_z") >= t.stand_head)
        & (_col(states, "pelvis_z") >= t.stand_pelvis)
        & _upright(states, t)
        & feet
        & _no_support_but_feet(states, t)
    )


# Table 2, kneeling: "Agent is kneeling with both knees touching the floor. Agent must be
# balanced (not kneeling in the air)."
def kneeling(states: Any, **params: float) -> np.ndarray:
    """Both knees on the floor, both feet behind their knees, chest upright, not sitting down,
    hands off the floor (balanced on the knees, not on all fours)."""
    t = _t(params)
    knees = _both(states, lambda s: _on_floor(states, f"{s}_knee", t))
    behind = _both(
        states,
        lambda s: _col(states, f"{s}_foot_fwd") <= _col(states, f"{s}_knee_fwd") - t.feet_behind,
    )
    hands_up = ~(_on_floor(states, "left_hand", t) | _on_floor(states, "right_hand", t))
    return (
        knees
        & behind
        & _upright(states, t)
        & (_col(states, "pelvis_clear") > t.kneel_pelvis)
        & hands_up
    )


# Table 2, lotus: "Agent is seated down with both knees touching the floor facing outwards and
# feet facing inwards."
def lotus(states: Any, **params: float) -> np.ndarray:
    """Seated (pelvis on the floor, chest upright), knees low and wide apart, each foot nearer the
    midline than its knee and low (tucked in on the legs), hands off the floor."""
    t = _t(params)
    seated = _on_floor(states, "pelvis", t) & _upright(states, t)
    knees_low = _both(states, lambda s: _col(states, f"{s}_knee_clear") <= t.lotus_knee)
    apart = (_col(states, "left_knee_lat") - _col(states, "right_knee_lat")) >= t.lotus_knee_apart
    inside = _both(
        states,
        lambda s: (
            np.abs(_col(states, f"{s}_foot_lat"))
            <= np.abs(_col(states, f"{s}_knee_lat")) - t.lotus_feet_inside
        ),
    )
    feet_low = _both(states, lambda s: _col(states, f"{s}_foot_clear") <= t.lotus_foot_high)
    hands_up = ~(_on_floor(states, "left_hand", t) | _on_floor(states, "right_hand", t))
    return seated & knees_low & apart & inside & feet_low & hands_up


# Table 2, splits: "Agent is on the floor doing the side splits with legs stretched on the floor."
def splits(states: Any, **params: float) -> np.ndarray:
    """Pelvis down, both feet and knees on (or just above) the floor, feet far apart sideways."""
    t = _t(params)
    feet = _both(states, lambda s: _on_floor(states, f"{s}_foot", t))
    knees = _both(states, lambda s: _col(states, f"{s}_knee_clear") <= t.splits_knee)
    apart = (
        np.abs(_col(states, "left_foot_lat") - _col(states, "right_foot_lat"))
        >= t.splits_feet_apart
    )
    return feet & knees & apart & (_col(states, "pelvis_clear") <= t.splits_pelvis)


# Table 2, arms raised: "Agent is standing with both arms raised."
def arms_raised(states: Any, **params: float) -> np.ndarray:
    """Standing, and both hands above the head."""
    t = _t(params)
    hands = _both(
        states, lambda s: _col(states, f"{s}_hand_z") >= _col(states, "head_z") + t.hand_above_head
    )
    return standing(states, **params) & hands


# Table 2, hands on hips: "Agent is standing with both hands on the base of the hips (not on
# the chest)."
def hands_on_hips(states: Any, **params: float) -> np.ndarray:
    """Standing, each hand close to its own hip joint, well below the chest, elbow bent."""
    t = _t(params)

    def near_hip(side: str) -> np.ndarray:
        below = _col(states, f"{side}_hand_z") <= _col(states, "chest_z") - t.hips_hand_below_chest
        bent = _distance(states, f"{side}_hand", f"{side}_shoulder") <= t.hips_arm_bent
        return (
            (_distance(states, f"{side}_hand", f"{side}_hip") <= t.hips_hand_distance)
            & below
            & bent
        )

    return standing(states, **params) & _both(states, near_hip)


# Table 2, arms crossed: "Agent is standing with its arms crossed (hands touching but not
# crossing is not valid)."
def arms_crossed(states: Any, **params: float) -> np.ndarray:
    """Standing, each hand past the midline on the other side of the body, in front of the body
    at chest height (so the forearms cross, not merely touch)."""
    t = _t(params)
    crossed = (_col(states, "left_hand_lat") <= -t.crossed_past_midline) & (
        _col(states, "right_hand_lat") >= t.crossed_past_midline
    )
    near_chest = _both(
        states,
        lambda s: (
            np.abs(_col(states, f"{s}_hand_z") - _col(states, "chest_z")) <= t.crossed_hand_height
        ),
    )
    in_front = _both(states, lambda s: _col(states, f"{s}_hand_fwd") >= t.crossed_in_front)
    return standing(states, **params) & crossed & near_chest & in_front


# Table 2, one leg: "Agent is standing up with only one foot touching the floor, balanced."
def one_leg(states: Any, **params: float) -> np.ndarray:
    """Standing, one foot on the floor and the other clearly lifted."""
    t = _t(params)
    lf, rf = _on_floor(states, "left_foot", t), _on_floor(states, "right_foot", t)
    l_up = _col(states, "left_foot_clear") >= t.off_floor
    r_up = _col(states, "right_foot_clear") >= t.off_floor
    return standing(states, **params) & ((lf & r_up) | (rf & l_up))


RULES: dict[str, Callable[..., np.ndarray]] = {
    "kneeling": kneeling,
    "lotus": lotus,
    "standing": standing,
    "arms_raised": arms_raised,
    "splits": splits,
    "hands_on_hips": hands_on_hips,
    "arms_crossed": arms_crossed,
    "one_leg": one_leg,
}
"""The humanoid rules by name (the humanoid family's :attr:`~evalkit.envs.family.Family.rules`)."""


def thresholds_dict() -> dict[str, float]:
    """The thresholds as a plain dict (for manifests and reports)."""
    return asdict(THRESHOLDS)
