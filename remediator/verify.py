"""Did the remediation work? Ask Prometheus, through prometheus-api-client.

`verified`: the alert is no longer firing (or the rule's `expr` returns no
series). `unverified`: it still fires. `unknown`: Prometheus could not answer;
the caller retries before settling on `unknown`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Protocol

from prometheus_api_client import PrometheusConnect

from remediator.outcomes import Outcome

# Labels Prometheus adds or that change between evaluations: not identity.
_NOT_IDENTITY = frozenset({"alertstate", "__name__"})


class Verifier(Protocol):
    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]: ...


def alerts_query(labels: Mapping[str, str]) -> str:
    """`ALERTS{alertname="X", ..., alertstate="firing"}` for exactly this alert."""
    pairs = [f"{name}={json.dumps(value)}" for name, value in sorted(labels.items())
             if name not in _NOT_IDENTITY and name.isidentifier()]
    pairs.append('alertstate="firing"')
    return "ALERTS{" + ", ".join(pairs) + "}"


class PrometheusVerifier:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._client = PrometheusConnect(url=url, disable_ssl=True)
        self._timeout = timeout

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        query = expr or alerts_query(labels)
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._client.custom_query, query=query), self._timeout)
        except Exception as error:
            return Outcome.UNKNOWN, f"Prometheus did not answer {query!r}: {_short(error)}"
        if result:
            return Outcome.UNVERIFIED, f"still true: {query} returned {len(result)} series"
        return Outcome.VERIFIED, f"no longer true: {query}"


class NoVerifier:
    """Used when no Prometheus is configured: every check is `unknown`."""

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        return Outcome.UNKNOWN, "no Prometheus configured (REMEDIATOR_PROMETHEUS_URL)"


def _short(error: Exception) -> str:
    text = str(error).splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
