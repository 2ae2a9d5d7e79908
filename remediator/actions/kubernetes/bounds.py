"""The numbers the scale and HPA actions move to, without the Kubernetes client.

Shared by the actions and by a GitOps proposal (`execute.gitops_policy`), which
writes the same new replicas or HPA bounds to git that the action would
have set on the cluster; importing it costs no client import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediator.model.actions import ActionError


def int_param(params: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    """A whole-number parameter; the job table is JSON, so check rather than trust."""
    value = params.get(key, default)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ActionError(f"parameter {key!r} must be an integer, not {value!r}")


def required_int(params: Mapping[str, Any], key: str) -> int:
    value = int_param(params, key)
    if value is None:
        raise ActionError(f"parameter {key!r} is required")
    return value


def scale_target(current: int, params: Mapping[str, Any]) -> int:
    """`replicas` if given, else `current + step`; always clamped to [min, max]."""
    replicas = int_param(params, "replicas")
    wanted = replicas if replicas is not None else current + (int_param(params, "step", 1) or 0)
    low, high = required_int(params, "min"), required_int(params, "max")
    return max(low, min(high, wanted))


def hpa_bounds(old_min: int, old_max: int, params: Mapping[str, Any]) -> tuple[int, int]:
    """New (min, max) for an HPA: raised by `step`, never above `ceiling`, never lowered.

    minReplicas never ends above maxReplicas (the API server would reject it).
    """
    step, ceiling = required_int(params, "step"), required_int(params, "ceiling")
    fields = params.get("fields", "max")
    if fields not in {"min", "max", "both"}:
        raise ActionError(f"parameter 'fields' must be min, max or both, not {fields!r}")

    def raised(value: int) -> int:
        return value if value >= ceiling else min(value + step, ceiling)

    new_max = raised(old_max) if fields in {"max", "both"} else old_max
    new_min = raised(old_min) if fields in {"min", "both"} else old_min
    return max(old_min, min(new_min, new_max)), new_max
