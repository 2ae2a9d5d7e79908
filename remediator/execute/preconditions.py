"""A rule's `when`, `only_if` and `unless`, checked just before its action runs.

Hint conditions are pure (`hint_verdict`); PromQL conditions ask Prometheus
(`expr_verdict`). A condition that does not hold, or a Prometheus that
cannot answer under `on_error: skip` (the default, fail-closed), is a
`Verdict` that stops the action and says why: which hint, which query and
what it returned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from remediator.diagnosis import Hint
from remediator.model.abc import Querier
from remediator.model.alerts import Alert
from remediator.model.prometheus import PrometheusError, Sample
from remediator.rules.model import Rule
from remediator.rules.promql import render_promql
from remediator.rules.templating import Template, TemplateError

_SHOWN_SERIES = 5


@dataclass(frozen=True)
class Verdict:
    """Why the action must not run (`reason`), and the facts for the audit entry."""

    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def hint_verdict(rule: Rule, hints: Sequence[Hint]) -> Verdict | None:
    """`when.hints` must all apply; none of `unless.hints` may."""
    found = {hint.name: hint for hint in hints}
    if rule.when is not None:
        missing = [name for name in rule.when.hints if name not in found]
        if missing:
            return Verdict(f"when.hints: {', '.join(missing)} did not apply",
                           {"precondition": "when.hints", "hints": missing,
                            "found": sorted(found)})
    if rule.unless is not None:
        present = [name for name in rule.unless.hints if name in found]
        if present:
            first = found[present[0]]
            return Verdict(f"unless.hints: {', '.join(present)} applies ({first.explanation})",
                           {"precondition": "unless.hints", "hints": present,
                            "found": sorted(found)})
    return None


def _series(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    return [{"labels": dict(s.labels), "value": None if math.isnan(s.value) else s.value}
            for s in samples[:_SHOWN_SERIES]]


def _query(template: Template, alert: Alert) -> str | None:
    """The condition's query for this alert, each label value escaped for where it lands
    (`rules.promql`); None when it cannot render safely (a missing label)."""
    try:
        return render_promql(template, alert.labels, alert.annotations)
    except TemplateError:
        return None


async def _check(name: str, template: Template, on_error: str, alert: Alert,
                 prometheus: Querier | None, *, want_series: bool,
                 notes: list[dict[str, Any]]) -> Verdict | None:
    query = _query(template, alert)
    try:
        if query is None:
            raise PrometheusError("cannot render it for this alert (a label it uses is missing)")
        if prometheus is None:
            raise PrometheusError("no Prometheus configured (REMEDIATOR_PROMETHEUS_URL)")
        samples = await prometheus.query(query)
    except PrometheusError as error:
        # Not evaluated: the rule's `on_error` decides (fail-closed by default).
        note = {"precondition": f"{name}.expr", "query": query or str(template),
                "error": str(error), "on_error": on_error}
        if on_error == "act":
            notes.append(note)
            return None
        return Verdict(f"{name}.expr not evaluated: {error}; on_error: skip", note)
    facts = {"precondition": f"{name}.expr", "query": query, "series": len(samples),
             "result": _series(samples)}
    if bool(samples) != want_series:
        said = (f"returned {len(samples)} series" if samples else "returned no series")
        return Verdict(f"{name}.expr {said}: {query}", facts)
    notes.append(facts)
    return None


async def expr_verdict(rule: Rule, alert: Alert, prometheus: Querier | None,
                       notes: list[dict[str, Any]]) -> Verdict | None:
    """`only_if.expr` must return a series; `unless.expr` must return none.

    Checks that passed (or were skipped with `on_error: act`) are appended to
    `notes`, so the audit shows what was asked even when the action ran.
    """
    if rule.only_if is not None:
        verdict = await _check("only_if", rule.only_if.expr, rule.only_if.on_error, alert,
                               prometheus, want_series=True, notes=notes)
        if verdict is not None:
            return verdict
    if rule.unless is not None and rule.unless.expr is not None:
        return await _check("unless", rule.unless.expr, rule.unless.on_error, alert,
                            prometheus, want_series=False, notes=notes)
    return None
