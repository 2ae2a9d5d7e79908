"""`soak`: half the peak rate for `--soak-minutes`, RSS sampled, its slope reported.

The peak is measured first on the same service (`--soak-calibrate` deliveries
at full speed) unless `--soak-rate` gives it. Deliveries are generated as they
are sent (new fingerprints throughout, so tables and caches keep growing as
they would in production) and paced; RSS is sampled every `--soak-sample`
seconds. The slope (MB/min) is a least-squares fit over all samples and over
the second half (after warm-up effects such as caches filling).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from bench.load import Target, audit_check, drive, storm_deliveries
from bench.scenarios import Run
from bench.scenarios.storm import merge, rules_for
from bench.service import spawn
from bench.stats import slope


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    service = spawn(workdir=workdir, database_url=database_url, rules=rules_for(opts, workdir),
                    env=opts.env, startup_timeout=opts.startup_timeout)
    deliveries = storm_deliveries(batches=None, batch_size=opts.batch_size,
                                  duplicates=opts.duplicates, resolved=opts.resolved,
                                  seed=opts.seed)
    target = Target(service.url, service.token)
    try:
        peak = drive([target], list(itertools.islice(deliveries, opts.soak_calibrate)),
                     concurrency=opts.concurrency, max_seconds=opts.max_seconds)
        rate = opts.soak_rate or peak.figures()["alerts_per_s"] / 2
        service.sample_rss(opts.soak_sample)
        soak = drive([target], deliveries, concurrency=opts.concurrency,
                     max_seconds=opts.soak_minutes * 60, rate=rate / opts.batch_size)
        service.stop_sampling()
        result.errors += peak.timed_errors() + soak.timed_errors()
    finally:
        service.stop()
    samples = [(t / 60, mb) for t, mb in service.rss_samples]
    half = samples[len(samples) // 2:]
    figures = soak.figures()
    result.figures |= {
        "peak_alerts_per_s": peak.figures()["alerts_per_s"], "target_alerts_per_s": rate,
        "alerts_per_s": figures["alerts_per_s"], "p99_ms": figures.get("p99_ms", 0.0),
        "rss_start_mb": samples[0][1] if samples else 0.0,
        "rss_end_mb": samples[-1][1] if samples else 0.0,
        "rss_max_mb": max((s[1] for s in samples), default=0.0)}
    for name, points in (("rss_slope_mb_per_min", samples),
                         ("rss_slope_2nd_half_mb_per_min", half)):
        value = slope(points)
        if value is not None:
            result.figures[name] = value
    _, errors = audit_check(database_url, merge([peak, soak]))
    result.errors += errors
    result.detail |= {"soak": soak.detail(), "rss_samples_min_mb": samples,
                      "minutes": opts.soak_minutes, "sample_s": opts.soak_sample}
    return result
