"""One `Verifier` contract (`remediator.model.abc`), every implementation.

After an action the worker asks whether it worked: `verified`, `unverified`
or `unknown`, with a reason for the audit entry. A source that cannot answer
is `unknown` (the worker asks again before settling on it), never an
exception: the verification job must end with an outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from remediator.clients.prometheus import PrometheusConfig
from remediator.execute.verify import NoVerifier, PrometheusVerifier
from remediator.model.abc import Verifier
from remediator.model.outcomes import Outcome

from .conftest import Source

IMPLEMENTATIONS: dict[str, Callable[[PrometheusConfig], Verifier]] = {
    "prometheus": PrometheusVerifier,
    "none": lambda config: NoVerifier(),
}
SETTLED = {Outcome.VERIFIED, Outcome.UNVERIFIED, Outcome.UNKNOWN}
LABELS = {"alertname": "KubePodCrashLooping", "job": "api", "namespace": "apps-a"}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def verifier(request: pytest.FixtureRequest, source: Source) -> Iterator[Verifier]:
    built = IMPLEMENTATIONS[request.param](source.config)
    yield built
    close = getattr(built, "close", None)
    if close is not None:
        close()


@pytest.mark.parametrize("own_expr", [True, False], ids=["rule-expr", "alert"])
async def test_an_outcome_and_a_reason_never_an_exception(verifier: Verifier, source: Source,
                                                          own_expr: bool) -> None:
    """`unknown` when the source cannot answer; never `verified` while the answering
    source still returns this alert's series (it answers one, `job="api"`, to anything)."""
    started = time.monotonic()
    outcome, reason = await verifier.check(LABELS, source.expr if own_expr else None)

    assert outcome in SETTLED
    assert isinstance(reason, str) and reason
    if source.answers:
        assert outcome is not Outcome.VERIFIED, reason
    elif own_expr:
        assert outcome is Outcome.UNKNOWN, reason
    bound = source.config.connect_timeout + source.config.read_timeout + 1.5
    assert time.monotonic() - started < bound
