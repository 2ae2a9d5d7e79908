"""`backtest`: a week of synthetic ALERTS history, 2,000 episodes, through the real engine.

The samples are what `timestamp(ALERTS{alertstate="firing"})` answers at 30 s
resolution (with the 5 minute look-back repeats), fed in 6 h chunks to the
episode rebuild; the episodes are replayed through the repository's rules
(rules/) and guards on the simulated clock, and the JSON and HTML reports are
rendered. Prometheus itself is not in the timed path (its read is I/O, and
tests/backtest runs it for real). Target: under 10 s (issue 25).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.scenarios import Run
from remediator.model.policy import Policy
from remediator.report.backtest_episodes import EpisodeBuilder
from remediator.report.backtest_html import html_report
from remediator.report.backtest_render import to_json
from remediator.report.backtest_replay import replay
from remediator.rules.model import load_rules

RULES = Path(__file__).resolve().parents[2] / "rules"
STEP = 30
LOOKBACK = 300
CHUNK = 6 * 3600
EPISODES = 2000
ALERTS = ("KubePodCrashLooping", "KubeDeploymentReplicasMismatch", "LatencyP99Anomaly",
          "HighErrorRate", "KubePodNotReady", "ContainerMemoryNearLimit", "Watchdog")


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    end = datetime(2026, 1, 8, tzinfo=UTC)
    start = end - timedelta(days=7)
    series = _history(random.Random(opts.seed), start.timestamp())
    chunks = [[(labels, answer) for labels, times in series
               if (answer := _answer(times, low, low + CHUNK))]
              for low in range(int(start.timestamp()), int(end.timestamp()), CHUNK)]
    began = time.perf_counter()  # Prometheus' part (the answers) is above, not timed
    builder = EpisodeBuilder(gap=timedelta(minutes=2))
    for chunk in chunks:
        for labels, answer in chunk:
            builder.add(labels, answer)
    episodes = builder.finish(end)
    rebuilt = time.perf_counter()
    result = replay(episodes, load_rules([RULES / "workloads.yml", RULES / "anomaly.yml"]),
                    Policy(), start=start, end=end)
    replayed = time.perf_counter()
    (workdir / "backtest.html").write_text(html_report(result), encoding="utf-8")
    report = to_json(result)
    done = time.perf_counter()
    run = Run(figures={"backtest_s": done - began, "rebuild_s": rebuilt - began,
                       "replay_s": replayed - rebuilt, "render_s": done - replayed,
                       "episodes": float(len(episodes)),
                       "decisions": float(len(result.decisions))})
    if len(episodes) != EPISODES:
        run.errors.append(f"rebuilt {len(episodes)} episodes from {EPISODES} generated")
    acting = sum(r["would_act"] + r["awaiting_approval"] for r in report["rules"].values())
    run.notes.append(f"{len(episodes)} episodes, {len(result.decisions)} decisions, "
                     f"{acting} would act or ask for approval; rules/workloads.yml, anomaly.yml")
    return run


def _history(rng: random.Random, start: float) -> list[tuple[dict[str, str], list[float]]]:
    """EPISODES firing runs on 400 label sets, as raw sample times every STEP seconds."""
    per_series: dict[int, list[float]] = {}
    labels: dict[int, dict[str, str]] = {}
    at = start
    for _ in range(EPISODES):
        at += rng.uniform(0, 2 * 7 * 86400 / EPISODES)
        key = rng.randrange(400)
        times = per_series.setdefault(key, [])
        first = max(at, times[-1] + 600 if times else at)
        times += [first + STEP * i for i in range(rng.randint(2, 60))]
        labels[key] = _labels(key)
    return [(labels[k], per_series[k]) for k in sorted(per_series)]


def _labels(key: int) -> dict[str, str]:
    namespace = "apps-payments" if key % 10 == 0 else f"apps-team{key % 7}"
    return {"alertname": ALERTS[key % len(ALERTS)], "namespace": namespace,
            "deployment": f"svc{key % 50}", "service": f"svc{key % 50}",
            "pod": f"svc{key % 50}-{key}", "alertstate": "firing"}


def _answer(times: list[float], low: int, high: int) -> list[float]:
    """What a range query answers in [low, high): the newest sample within the look-back."""
    out, i = [], 0
    for at in range(low, high, STEP):
        while i < len(times) and times[i] <= at:
            i += 1
        if i and at - times[i - 1] <= LOOKBACK:
            out.append(times[i - 1])
    return out
