"""Posting deliveries and keeping an honest tally of the answers.

`drive` posts each delivery to every target (one service, or both replicas of
an HA pair), from `concurrency` senders, as fast as they answer or paced to a
rate. `Tally` counts what came back; `Tally.errors()` is what makes a run
unreportable: any non-200, any transport error, any answer whose `received`
differs from what was sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import count_store, iter_payloads
from bench.stats import pct

WEBHOOK = "/webhook/alertmanager"

# Outcomes the webhook answers with; each is one audit entry, except `resolved`,
# which writes one per remediation it closes, or one when it closes none.
DECISION_OUTCOMES = ("executed", "dry_run", "duplicate", "cooldown", "rate_limited",
                     "breaker_open", "denied", "paused", "no_match", "resolved", "exhausted",
                     "awaiting_approval", "precondition_failed")
ACTING = ("executed", "dry_run")

Delivery = tuple[bytes, int]
"""A serialised webhook body and how many alerts it carries."""


@dataclass(frozen=True)
class Target:
    url: str
    token: str


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, 200 answers only
    statuses: Counter[str] = field(default_factory=Counter)
    sent: int = 0            # deliveries (each posted to every target)
    alerts_ok: int = 0       # alerts in 200 answers, summed over targets
    decisions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    expected_audit: int = 0
    received_mismatch: int = 0
    acting: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    """(rule, fingerprint, step) of every executed/dry_run decision, over all targets."""
    wall_s: float = 0.0

    def account(self, status: int, body: bytes, alerts: int, latency: float) -> None:
        self.statuses[str(status)] += 1
        if status != 200:
            return
        self.latencies.append(latency)
        answer = json.loads(body)
        self.alerts_ok += alerts
        if answer.get("received") != alerts:
            self.received_mismatch += 1
        for decision in answer.get("decisions", []):
            outcome = decision.get("outcome", "?")
            self.decisions += 1
            self.outcomes[outcome] += 1
            if outcome in ACTING:
                self.acting[decision.get("rule") or "", decision.get("fingerprint") or "",
                            int(decision.get("step") or 0)] += 1
            if outcome == "resolved":
                self.expected_audit += max(1, len(decision.get("remediation_ids") or []))
            else:
                self.expected_audit += 1

    def errors(self) -> list[str]:
        problems = [f"{count} answer(s) {status}" for status, count in self.statuses.items()
                    if status != "200"]
        if self.received_mismatch:
            problems.append(f"{self.received_mismatch} answer(s) with `received` != alerts sent")
        return problems

    def timed_errors(self) -> list[str]:
        """`errors()`, and a timed storm that sent nothing has no figure to report."""
        return self.errors() + ([] if self.statuses else ["no delivery was sent"])

    def figures(self, prefix: str = "") -> dict[str, float]:
        wall = self.wall_s or 1e-9
        lat = self.latencies
        out = {f"{prefix}alerts_per_s": self.alerts_ok / wall,
               f"{prefix}deliveries_per_s": self.statuses.get("200", 0) / wall}
        for name, q in (("p50", .5), ("p99", .99)):
            value = pct(lat, q)
            if value is not None:
                out[f"{prefix}{name}_ms"] = value * 1000
        return out

    def detail(self) -> dict[str, Any]:
        return {"deliveries": self.sent, "answers": dict(self.statuses), "wall_s": self.wall_s,
                "alerts_ok": self.alerts_ok, "decisions": self.decisions,
                "outcomes": dict(self.outcomes),
                "latency_ms": {k: (None if v is None else v * 1000) for k, v in (
                    ("p50", pct(self.latencies, .5)), ("p95", pct(self.latencies, .95)),
                    ("p99", pct(self.latencies, .99)),
                    ("max", max(self.latencies, default=None)))}}


def storm_deliveries(*, batches: int | None, batch_size: int, duplicates: float,
                     resolved: float, seed: int) -> Iterator[Delivery]:
    """The issue's storm (10 % repeats, 3 % resolved by default), lazily."""
    for body in iter_payloads(batches=batches, batch_size=batch_size, duplicates=duplicates,
                              resolved=resolved, seed=seed):
        yield body, batch_size


def drive(targets: Sequence[Target], deliveries: Iterable[Delivery], *, concurrency: int,
          max_seconds: float, timeout: float = 30, rate: float | None = None) -> Tally:
    """Post every delivery to every target; `rate` paces deliveries per second."""
    return asyncio.run(_drive(targets, iter(deliveries), concurrency=concurrency,
                              max_seconds=max_seconds, request_timeout=timeout, rate=rate))


async def _drive(targets: Sequence[Target], deliveries: Iterator[Delivery], *,
                 concurrency: int, max_seconds: float, request_timeout: float,
                 rate: float | None) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=t.url, limits=limits, timeout=request_timeout,
                                 headers={"Authorization": f"Bearer {t.token}",
                                          "Content-Type": "application/json",
                                          "User-Agent": "Alertmanager/0.27.0"})
               for t in targets]
    started = time.perf_counter()
    deadline = started + max_seconds
    interval = 1 / rate if rate else 0.0
    next_slot = started

    async def post(client: httpx.AsyncClient, body: bytes, alerts: int) -> None:
        t0 = time.perf_counter()
        try:
            response = await client.post(WEBHOOK, content=body)
        except httpx.HTTPError as error:
            tally.statuses[type(error).__name__] += 1
            return
        tally.account(response.status_code, response.content, alerts, time.perf_counter() - t0)

    async def sender() -> None:
        nonlocal next_slot
        for body, alerts in deliveries:
            if interval:
                slot, next_slot = next_slot, next_slot + interval
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            if time.perf_counter() >= deadline:
                return
            tally.sent += 1
            await asyncio.gather(*(post(c, body, alerts) for c in clients))

    try:
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        tally.wall_s = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    return tally


def audit_check(database_url: str, tally: Tally, *, baseline: int = 0) -> tuple[dict[str, Any],
                                                                               list[str]]:
    """Audit rows written for decisions against what the answers promised.

    Counts only decision outcomes (the worker's `succeeded`, `failed`, ... rows
    come later and are not promised by the webhook). Run after the service
    stopped, or at least after every answer arrived.
    """
    db_file = (Path(database_url.removeprefix("sqlite:///"))
               if database_url.startswith("sqlite:///") else None)
    store = count_store(database_url, db_file)
    by_outcome = store["audit_by_outcome"]
    rows = sum(n for outcome, n in by_outcome.items() if outcome in DECISION_OUTCOMES)
    store |= {"decision_rows": rows - baseline, "expected": tally.expected_audit,
              "decisions_returned": tally.decisions}
    errors = []
    if rows - baseline != tally.expected_audit:
        errors.append(f"audit rows for decisions {rows - baseline:,} != {tally.expected_audit:,}"
                      f" promised by the answers (by outcome: {dict(by_outcome)}; "
                      f"answered: {dict(tally.outcomes)})")
    return store, errors


def decision_rows(database_url: str) -> int:
    """Audit rows with a decision outcome already in the store (a baseline)."""
    db_file = (Path(database_url.removeprefix("sqlite:///"))
               if database_url.startswith("sqlite:///") else None)
    if db_file is not None and not db_file.exists():
        return 0
    by_outcome = count_store(database_url, db_file)["audit_by_outcome"]
    return sum(n for outcome, n in by_outcome.items() if outcome in DECISION_OUTCOMES)
