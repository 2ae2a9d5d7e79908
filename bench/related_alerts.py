"""Time the pre-flight's read of related firing alerts in a storm (not a test).

    PYTHONPATH=. python -m bench.related_alerts [--alerts 5000] [--reads 200]

Fills a fresh SQLite database, through the webhook's own writer, with
`--alerts` pod alerts firing in one namespace (over 20 nodes) and as many
resolved, then times `evidence.firing_alerts` as the pre-flight calls it (node,
namespace, two depended-on services). It uses only APIs that predate the
label columns, so the same script times a checkout without them: run it from
each (PYTHONPATH=<checkout>) to compare.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from remediator.model.alerts import Alert
from remediator.store import Database, evidence, recorder

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def storm(count: int) -> list[Alert]:
    out = []
    for index in range(count):
        labels = {"alertname": "KubePodCrashLooping", "namespace": "apps",
                  "node": f"node-{index % 20}", "pod": f"pod-{index}",
                  "service": f"svc-{index % 7}"}
        start = T0 + timedelta(seconds=index)
        out.append(Alert.model_validate({"status": "firing", "labels": labels,
                                         "startsAt": start}))
        out.append(Alert.model_validate({"status": "resolved", "startsAt": start, "labels": {
            **labels, "namespace": "done", "pod": f"old-{index}"}}))
    return out


def fill(database: Database, count: int) -> None:
    alerts = storm(count)
    for at in range(0, len(alerts), 500):
        with database.writing() as connection:
            recorder.remember_alerts(connection, alerts[at:at + 500], T0)


def read_ms(database: Database, reads: int) -> list[float]:
    timings = []
    for index in range(reads):
        started = time.perf_counter()
        with database.reading() as connection:
            rows, capped = evidence.firing_alerts(
                connection, node=f"node-{index % 20}", namespace="apps",
                services=["svc-1", "svc-2"])
        timings.append((time.perf_counter() - started) * 1000)
        assert capped and rows
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=200)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        database = Database(f"sqlite:///{Path(workdir) / 'related.db'}")
        database.migrate()
        fill(database, opts.alerts)
        read_ms(database, 10)  # warm the page cache and the statement cache
        timings = sorted(read_ms(database, opts.reads))
        database.dispose()
    print(f"firing_alerts, {opts.alerts} firing in one namespace, {opts.reads} reads: "
          f"median {statistics.median(timings):.2f} ms, "
          f"p90 {timings[int(len(timings) * 0.9)]:.2f} ms, "
          f"max {timings[-1]:.2f} ms")


if __name__ == "__main__":
    main()
