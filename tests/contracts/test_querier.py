"""One `Querier` contract (`remediator.model.abc`), every implementation.

The precondition checker runs a rule's `only_if` and `unless` PromQL through
it: samples when Prometheus answers, `PrometheusError` when it cannot (then
the rule's `on_error` decides, fail-closed by default). Any other exception
would escape the checker and fail the action instead of skipping it; an
answer that never comes would hold the action past its lease.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

import pytest

from remediator.clients.prometheus import PrometheusConfig, PrometheusExecutor
from remediator.model.abc import Querier
from remediator.model.prometheus import PrometheusError, Sample

from .conftest import Source

IMPLEMENTATIONS: dict[str, Callable[[PrometheusConfig], Querier]] = {
    "executor": PrometheusExecutor.connect,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def querier(request: pytest.FixtureRequest, source: Source) -> Iterator[Querier]:
    built = IMPLEMENTATIONS[request.param](source.config)
    yield built
    close = getattr(built, "close", None)
    if close is not None:
        close()


async def test_samples_or_prometheus_error(querier: Querier, source: Source) -> None:
    started = time.monotonic()
    if source.answers:
        samples = await querier.query(source.expr)
        assert samples and all(isinstance(sample, Sample) for sample in samples)
        assert all(isinstance(sample.value, float) and not math.isinf(sample.value)
                   for sample in samples)
    else:
        with pytest.raises(PrometheusError, match=r".+"):
            await querier.query(source.expr)
    bound = source.config.connect_timeout + source.config.read_timeout + 1.5
    assert time.monotonic() - started < bound
