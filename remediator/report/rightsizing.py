"""Right-sizing: p95 usage against requests and limits -> recommendations. Pure.

No I/O: `report.sources` reads the cluster and Prometheus and hands this
module plain numbers. A recommendation is advice for a human; nothing here
(or anywhere in the report) changes a workload.

The rules, per container and resource (CPU in cores, memory in bytes):
- the suggested request is p95 usage plus headroom (CPU 20%, memory 25%),
  rounded up (CPU to 5 millicores, memory to 1 MiB), never below a floor;
- `under`: p95 usage above the request (CPU is throttled under contention,
  memory makes the pod an eviction candidate) -> raise the request;
- `over`: the request is more than twice the suggestion -> lower it;
- `limit`: p95 usage at or above 90% of the limit (CPU throttling, memory
  OOM kill ahead) -> raise the limit to the suggestion over 0.9;
- `unset`: no request -> set the suggestion;
- `no_data`: Prometheus has no usage for the container in the window;
- `ok` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Resource = Literal["cpu", "memory"]
Verdict = Literal["ok", "over", "under", "limit", "unset", "no_data"]

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Policy:
    """How much headroom a suggestion leaves and when a gap is worth a line."""

    quantile: float = 0.95
    headroom: Mapping[Resource, float] = field(
        default_factory=lambda: {"cpu": 0.2, "memory": 0.25})
    over_factor: float = 2.0
    """`over` when the request exceeds the suggestion by this factor."""
    limit_ratio: float = 0.9
    """`limit` when usage reaches this share of the limit."""

    def __post_init__(self) -> None:
        if not 0 < self.quantile < 1:
            raise ValueError("quantile must lie in (0, 1)")
        if self.over_factor <= 1 or not 0 < self.limit_ratio <= 1:
            raise ValueError("over_factor must exceed 1 and limit_ratio lie in (0, 1]")


_FLOOR: Mapping[Resource, float] = {"cpu": 0.01, "memory": 16 * MIB}
_STEP: Mapping[Resource, float] = {"cpu": 0.005, "memory": MIB}


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """What a container asks for: requests and limits (None: not set)."""

    request: float | None
    limit: float | None


@dataclass(frozen=True, kw_only=True)
class Recommendation:
    workload: str
    """`deployment/web`, `statefulset/db`, `pod/debug`."""
    container: str
    resource: Resource
    verdict: Verdict
    request: float | None
    limit: float | None
    usage: float | None
    """The usage quantile over the window (cores or bytes)."""
    samples: int
    suggested_request: float | None
    suggested_limit: float | None
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"workload": self.workload, "container": self.container,
                "resource": self.resource, "verdict": self.verdict,
                "request": self.request, "limit": self.limit, "usage": self.usage,
                "samples": self.samples, "suggested_request": self.suggested_request,
                "suggested_limit": self.suggested_limit, "reason": self.reason}


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation, as PromQL's `quantile` computes it."""
    if not values:
        raise ValueError("quantile of no values")
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def suggest(usage: float, resource: Resource, policy: Policy) -> float:
    """Usage plus headroom, rounded up to the resource's step, at least its floor."""
    wanted = max(usage * (1 + policy.headroom[resource]), _FLOOR[resource])
    step = _STEP[resource]
    return round(math.ceil(round(wanted / step, 9)) * step, 6)


def recommend(*, workload: str, container: str, resource: Resource, allocation: Allocation,
              samples: Sequence[float], policy: Policy | None = None) -> Recommendation:
    """The recommendation for one resource of one container."""
    policy = policy or Policy()
    if not samples:
        verdict: Verdict = "no_data"
        reason, usage, request, limit = "no usage in Prometheus for this window", None, None, None
    else:
        usage = quantile(samples, policy.quantile)
        verdict, reason, request, limit = _judge(resource, usage, suggest(usage, resource, policy),
                                                 allocation, policy)
    return Recommendation(workload=workload, container=container, resource=resource,
                          verdict=verdict, request=allocation.request, limit=allocation.limit,
                          usage=usage, samples=len(samples), suggested_request=request,
                          suggested_limit=limit, reason=reason)


def _judge(resource: Resource, usage: float, target: float, allocation: Allocation,
           policy: Policy) -> tuple[Verdict, str, float | None, float | None]:
    shown = f"p{round(policy.quantile * 100):g} {format_amount(resource, usage)}"
    limit = allocation.limit if allocation.limit and allocation.limit > 0 else None
    if limit is not None and usage >= policy.limit_ratio * limit:
        new_limit = suggest(usage / policy.limit_ratio, resource, policy)
        risk = "OOM kill" if resource == "memory" else "throttling"
        short = not allocation.request or usage > allocation.request
        return ("limit", f"{shown} is {usage / limit:.0%} of the limit: {risk} ahead",
                target if short else None, new_limit)
    request = allocation.request
    if not request or request <= 0:  # a zero request asks for nothing: unset
        return "unset", f"no request; {shown}", target, None
    if usage > request:
        return "under", f"{shown} is above the request ({usage / request:.0%})", target, None
    if request > policy.over_factor * target:
        return ("over", f"{shown} uses {usage / request:.0%} of the request", target, None)
    return "ok", f"{shown} uses {usage / request:.0%} of the request", None, None


def recommend_all(allocations: Mapping[tuple[str, str], Mapping[Resource, Allocation]],
                  usage: Mapping[tuple[str, str, Resource], Sequence[float]],
                  policy: Policy | None = None) -> list[Recommendation]:
    """One recommendation per (workload, container, resource), sorted by workload."""
    found = []
    for (workload, container), resources in sorted(allocations.items()):
        for resource in ("cpu", "memory"):
            allocation = resources.get(resource, Allocation(request=None, limit=None))
            found.append(recommend(workload=workload, container=container, resource=resource,
                                   allocation=allocation,
                                   samples=usage.get((workload, container, resource), ()),
                                   policy=policy))
    return found


def format_amount(resource: Resource, value: float | None) -> str:
    """`250m` cores or `512Mi`, as one would write them in a manifest."""
    if value is None:
        return "-"
    if resource == "cpu":
        millis = value * 1000
        return f"{millis:.0f}m" if millis < 1000 or millis % 1000 else f"{value:g}"
    mib = value / MIB
    if mib >= 1024 and mib % 1024 == 0:
        return f"{mib / 1024:g}Gi"
    return f"{math.ceil(mib) if mib >= 1 else round(mib, 2):g}Mi"


def counts(recommendations: Iterable[Recommendation]) -> dict[str, int]:
    """How many recommendations of each verdict (for the summary line)."""
    found: dict[str, int] = {}
    for item in recommendations:
        found[item.verdict] = found.get(item.verdict, 0) + 1
    return found
