"""The pure right-sizing logic: quantiles, suggestions, verdicts, formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.report.rightsizing import (
    MIB,
    Allocation,
    Policy,
    Recommendation,
    Resource,
    format_amount,
    quantile,
    recommend,
    recommend_all,
    suggest,
)

GIB = 1024 * MIB


def judge(resource: Resource, request: float | None, limit: float | None,
          samples: list[float]) -> Recommendation:
    return recommend(workload="deployment/web", container="web", resource=resource,
                     allocation=Allocation(request=request, limit=limit), samples=samples)


@pytest.mark.parametrize(
    ("resource", "asked", "limit", "samples", "verdict", "suggested", "suggested_limit",
     "reason"), [
        pytest.param("cpu", 1.0, 2.0, [0.1] * 20, "over", 0.12, None, "10% of the request",
                     id="cpu-over-provisioned"),
        pytest.param("cpu", 0.2, None, [0.3] * 20, "under", 0.36, None,
                     "above the request (150%)", id="cpu-above-request"),
        pytest.param("cpu", 0.25, 0.5, [0.2] * 20, "ok", None, None, "80% of the request",
                     id="cpu-fine"),
        # A new limit keeps p95 under 90% of it, plus the usual headroom: 0.48 / 0.9 * 1.2.
        pytest.param("cpu", 0.5, 0.5, [0.48] * 20, "limit", None, 0.64, "throttling ahead",
                     id="cpu-at-limit"),
        pytest.param("cpu", None, None, [0.05] * 20, "unset", 0.06, None, "no request",
                     id="cpu-no-request"),
        pytest.param("cpu", None, None, [0.0001] * 20, "unset", 0.01, None, "no request",
                     id="cpu-floor"),
        pytest.param("cpu", 0.0, 0.0, [0.0, 0.0], "unset", 0.01, None, "no request",
                     id="zero-request-and-limit"),
        pytest.param("memory", 1 * GIB, 1 * GIB, [400 * MIB] * 20, "over", 500 * MIB, None,
                     "39% of the request", id="memory-over-provisioned"),
        pytest.param("memory", 256 * MIB, 1 * GIB, [300 * MIB] * 20, "under", 375 * MIB,
                     None, "above the request", id="memory-above-request"),
        pytest.param("memory", 256 * MIB, 512 * MIB, [490 * MIB] * 20, "limit", 613 * MIB,
                     681 * MIB, "OOM kill ahead", id="memory-near-limit"),
        pytest.param("memory", 256 * MIB, None, [], "no_data", None, None,
                     "no usage in Prometheus", id="no-data"),
    ])
def test_verdicts(resource: Resource, asked: float | None, limit: float | None,
                  samples: list[float], verdict: str, suggested: float | None,
                  suggested_limit: float | None, reason: str) -> None:
    found = judge(resource, asked, limit, samples)
    assert found.verdict == verdict
    assert reason in found.reason
    if suggested is None:
        assert found.suggested_request is None
    else:
        assert found.suggested_request == pytest.approx(suggested, abs=MIB if
                                                         resource == "memory" else 0.005)
    if suggested_limit is None:
        assert found.suggested_limit is None
    else:
        assert found.suggested_limit == pytest.approx(suggested_limit, rel=0.01)
    assert found.samples == len(samples)


def test_the_quantile_ignores_rare_spikes() -> None:
    samples = [0.1] * 96 + [5.0] * 4  # 4% of the time at 5 cores
    found = judge("cpu", 1.0, None, samples)
    assert found.usage == pytest.approx(0.1)
    assert found.verdict == "over"


@given(st.lists(st.floats(min_value=0, max_value=1e12), min_size=1, max_size=200),
       st.floats(min_value=0.01, max_value=0.99))
def test_quantile_lies_within_the_samples(values: list[float], q: float) -> None:
    result = quantile(values, q)
    assert min(values) <= result <= max(values)
    assert quantile(values, 0.01) <= quantile(values, 0.99)


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([1, 2, 3, 4, 5], 0.5, 3), ([1, 2], 0.95, 1.95), ([7], 0.95, 7), ([4, 1, 3, 2], 0.0, 1),
])
def test_quantile_interpolates_like_promql(values: list[float], q: float,
                                           expected: float) -> None:
    assert quantile(values, q) == pytest.approx(expected)


def test_quantile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        quantile([], 0.95)


@given(st.floats(min_value=0, max_value=1e3), st.sampled_from(["cpu", "memory"]))
def test_a_suggestion_covers_usage_with_headroom(usage: float, resource: Resource) -> None:
    scale = 1 if resource == "cpu" else GIB
    suggested = suggest(usage * scale, resource, Policy())
    assert suggested >= usage * scale
    assert suggested >= (0.01 if resource == "cpu" else 16 * MIB)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"quantile": 1.0}, "quantile"), ({"over_factor": 1.0}, "over_factor"),
    ({"limit_ratio": 0}, "limit_ratio"),
])
def test_policy_rejects_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("resource", "value", "shown"), [
    ("cpu", 0.25, "250m"), ("cpu", 2.0, "2"), ("cpu", 1.5, "1500m"), ("cpu", None, "-"),
    ("memory", 512 * MIB, "512Mi"), ("memory", 2 * GIB, "2Gi"), ("memory", 1.5 * GIB, "1536Mi"),
    ("memory", 1000, "0Mi"),
])
def test_amounts_read_like_a_manifest(resource: Resource, value: float | None,
                                      shown: str) -> None:
    assert format_amount(resource, value) == shown


def test_recommend_all_covers_every_container_and_resource() -> None:
    allocations = {("deployment/web", "web"): {"cpu": Allocation(request=1.0, limit=None)},
                   ("deployment/web", "sidecar"): {}}
    usage = {("deployment/web", "web", "cpu"): [0.1, 0.1]}
    found = recommend_all(allocations, usage)  # type: ignore[arg-type]
    assert [(r.container, r.resource, r.verdict) for r in found] == [
        ("sidecar", "cpu", "no_data"), ("sidecar", "memory", "no_data"),
        ("web", "cpu", "over"), ("web", "memory", "no_data")]


amounts = st.one_of(st.none(), st.floats(min_value=0, max_value=1e12))


@given(amounts, amounts, st.lists(st.floats(min_value=0, max_value=1e12), max_size=50),
       st.sampled_from(["cpu", "memory"]))
def test_any_allocation_and_usage_get_a_consistent_verdict(
        asked: float | None, limit: float | None, samples: list[float],
        resource: Resource) -> None:
    found = judge(resource, asked, limit, samples)
    if not samples:
        assert found.verdict == "no_data"
        return
    assert found.usage is not None
    if found.verdict in ("over", "under", "unset"):
        assert found.suggested_request is not None
        assert found.suggested_request >= found.usage
    if found.verdict == "limit":
        assert found.suggested_limit is not None
        assert found.suggested_limit * 0.9 >= found.usage
    if found.verdict == "ok":
        assert asked is not None and found.usage <= asked
