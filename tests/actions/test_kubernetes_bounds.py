"""The arithmetic of `scale` and `hpa_patch`, without a server: tables and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.actions.kubernetes.actions import hpa_bounds, scale_target
from remediator.model.actions import ActionError


@pytest.mark.parametrize(("current", "params", "expected"), [
    pytest.param(2, {"step": 1, "min": 1, "max": 5}, 3, id="step"),
    pytest.param(0, {"step": 1, "min": 1, "max": 5}, 1, id="from-zero-to-min"),
    pytest.param(5, {"step": 1, "min": 1, "max": 5}, 5, id="at-max"),
    pytest.param(2, {"replicas": 9, "min": 1, "max": 5}, 5, id="replicas-clamped"),
    pytest.param(2, {"min": 1, "max": 5}, 3, id="default-step-1"),
])
def test_scale_target(current: int, params: dict[str, Any], expected: int) -> None:
    assert scale_target(current, params) == expected


@pytest.mark.parametrize(("params", "message"), [
    pytest.param({"step": 1, "max": 5}, "'min' is required", id="missing-min"),
    pytest.param({"step": "1", "min": 1, "max": 5}, "'step' must be an integer", id="str-step"),
    pytest.param({"step": True, "min": 1, "max": 5}, "'step' must be an integer", id="bool"),
])
def test_scale_target_rejects_bad_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ActionError, match=message) as raised:
        scale_target(2, params)
    assert not raised.value.transient


@pytest.mark.parametrize(("old", "params", "expected"), [
    pytest.param((1, 4), {"fields": "max"}, (1, 6), id="max"),
    pytest.param((1, 4), {"fields": "min"}, (3, 4), id="min"),
    pytest.param((1, 4), {"fields": "both"}, (3, 6), id="both"),
    pytest.param((1, 4), {}, (1, 6), id="default-max"),
    pytest.param((3, 4), {"fields": "min"}, (4, 4), id="min-stops-at-max"),
    pytest.param((1, 9), {"fields": "max", "ceiling": 5}, (1, 9), id="above-ceiling-not-lowered"),
    pytest.param((1, 4), {"fields": "both", "ceiling": 5}, (3, 5), id="capped"),
])
def test_hpa_bounds(old: tuple[int, int], params: dict[str, Any],
                    expected: tuple[int, int]) -> None:
    assert hpa_bounds(*old, {"step": 2, "ceiling": 10, **params}) == expected


def test_hpa_bounds_rejects_unknown_fields() -> None:
    with pytest.raises(ActionError, match="min, max or both"):
        hpa_bounds(1, 2, {"step": 1, "ceiling": 5, "fields": "all"})


@given(old_min=st.integers(0, 50), old_max=st.integers(1, 50), step=st.integers(1, 20),
       ceiling=st.integers(1, 60), fields=st.sampled_from(["min", "max", "both"]))
def test_hpa_bounds_only_ever_raise_within_the_ceiling(
        old_min: int, old_max: int, step: int, ceiling: int, fields: str) -> None:
    new_min, new_max = hpa_bounds(old_min, old_max,
                                  {"step": step, "ceiling": ceiling, "fields": fields})

    assert new_min >= old_min
    assert new_max >= old_max
    assert new_max <= max(old_max, ceiling)
    assert new_min <= max(old_min, min(ceiling, new_max))
    if old_min <= old_max:
        assert new_min <= new_max
