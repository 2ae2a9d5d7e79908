"""`remediator rules test`: unit tests for rules, in the spirit of `promtool test rules`.

A test file names rule files and cases; each case feeds alerts (in order,
optionally spaced in time) through the real engine with in-memory state and
compares the decisions with the expected ones. Only the keys an expectation
names are compared, so a case states exactly what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remediator.decide.engine import decide
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.durations import Duration
from remediator.model.policy import Policy
from remediator.rules.model import RuleLoadError, load_rules

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class GivenAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    status: Literal["firing", "resolved"] = "firing"
    after: Duration = timedelta(0)
    """Advance the clock this much before the alert arrives."""
    starts_at: Duration | None = None
    """Alert start as an offset from the test's start (default: when it arrives)."""


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str
    rule: str | None = None
    action: str | None = None
    target: str | None = None
    reason: str | None = None
    """A substring the reason must contain."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    alerts: list[GivenAlert] = Field(min_length=1)
    expect: list[Expectation]
    dry_run: bool = False
    paused: bool = False
    allowed_namespaces: list[str] = Field(default_factory=list)
    denied_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    firing: list[dict[str, str]] = Field(default_factory=list)
    """Other alerts firing at the time (for `unless_firing`)."""


class RuleTestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule_files: list[str] = Field(min_length=1)
    tests: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_file(path: Path) -> list[CaseResult]:
    """Run every case of one test file; a broken file is one failed result."""
    try:
        spec = RuleTestFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as error:
        return [CaseResult(str(path), "(file)", [f"invalid test file: {error}"])]
    try:
        rules = load_rules([path.parent / name for name in spec.rule_files])
    except RuleLoadError as error:
        return [CaseResult(str(path), "(rules)", [str(e) for e in error.errors])]
    results = []
    for case in spec.tests:
        policy = Policy(dry_run=case.dry_run,
                        allowed_namespaces=frozenset(case.allowed_namespaces),
                        denied_namespaces=frozenset(case.denied_namespaces))
        state = MemoryState(is_paused=case.paused, firing=list(case.firing))
        clock = FakeClock(_EPOCH)
        got: list[dict[str, Any]] = []
        for test_alert in case.alerts:
            now = clock.advance(test_alert.after)
            starts = _EPOCH + test_alert.starts_at if test_alert.starts_at is not None else now
            alert = Alert(status=test_alert.status, labels=test_alert.labels,
                          annotations=test_alert.annotations, starts_at=starts)
            got.extend(d.summary() for d in decide(alert, rules=rules, policy=policy,
                                                   state=state, now=now))
        results.append(CaseResult(str(path), case.name, compare(case.expect, got)))
    return results


def compare(expected: list[Expectation], got: list[dict[str, Any]]) -> list[str]:
    problems = []
    if len(expected) != len(got):
        problems.append(f"expected {len(expected)} decisions, got {len(got)}: "
                        + "; ".join(_brief(g) for g in got))
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        for key, value in want.model_dump(exclude_none=True).items():
            actual = have.get(key)
            ok = value in (actual or "") if key == "reason" else actual == value
            if not ok:
                problems.append(f"decision {index + 1}: {key} is {actual!r}, expected {value!r}"
                                f" ({_brief(have)})")
    return problems


def _brief(decision: dict[str, Any]) -> str:
    return (f"{decision['outcome']} rule={decision['rule']} target={decision['target']} "
            f"reason={decision['reason']!r}")
