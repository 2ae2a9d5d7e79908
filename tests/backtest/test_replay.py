"""The replay on its simulated clock: guards see only the history before each alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.report.backtest_episodes import Episode
from remediator.report.backtest_replay import Backtest, replay
from remediator.rules.model import load_rules
from tests.backtest.history import RULES

T0 = datetime(2026, 1, 5, 10, tzinfo=UTC)


def episode(minute: float, length: float = 5, **labels: str) -> Episode:
    base = {"alertname": "PodCrashLooping", "namespace": "apps-shop", "deployment": "web"}
    return Episode(labels={**base, **labels}, start=T0 + timedelta(minutes=minute),
                   end=T0 + timedelta(minutes=minute + length))


def run(tmp_path: Path, episodes: list[Episode], policy: Policy | None = None) -> Backtest:
    (tmp_path / "rules.yml").write_text(RULES, encoding="utf-8")
    return replay(episodes, load_rules([tmp_path / "rules.yml"]), policy or Policy(),
                  start=T0, end=T0 + timedelta(days=1))


def test_the_global_rate_limit_counts_actions_in_replayed_time(tmp_path: Path) -> None:
    # 5 deployments crash within a minute; the global limit allows 3 per 10 minutes;
    # 10 minutes later the window has moved on.
    episodes = [episode(i / 10, deployment=f"d{i}") for i in range(5)]
    episodes.append(episode(11, deployment="late"))
    result = run(tmp_path, episodes, Policy(global_rate_max=3))
    outcomes = [d.outcome for d in result.decisions]
    assert outcomes == [Outcome.EXECUTED] * 3 + [Outcome.RATE_LIMITED] * 2 + [Outcome.EXECUTED]
    assert result.rules["restart-web"].held_back["rate_limited"] == 2


def test_a_global_dry_run_still_counts_as_would_act(tmp_path: Path) -> None:
    result = run(tmp_path, [episode(0), episode(10)], Policy(dry_run=True))
    tally = result.rules["restart-web"]
    assert (tally.would_act, tally.held_back["cooldown"]) == (1, 1)


def test_labels_an_alert_cannot_carry_are_reported_not_dropped(tmp_path: Path) -> None:
    result = run(tmp_path, [episode(0, namespace="x" * 300), episode(1)])
    assert len(result.rejected) == 1 and "namespace" in result.rejected[0]
    assert result.rules["restart-web"].would_act == 1


def test_the_busiest_hour_and_hourly_actions(tmp_path: Path) -> None:
    result = run(tmp_path, [episode(0), episode(70), episode(75), episode(140)])
    hour, timeline = result.busiest_hour()
    assert hour == T0 + timedelta(hours=1)
    assert [d.outcome for d in timeline] == [Outcome.EXECUTED, Outcome.COOLDOWN]
    assert result.acting_per_hour()["restart-web"] == {
        T0: 1, T0 + timedelta(hours=1): 1, T0 + timedelta(hours=2): 1}
