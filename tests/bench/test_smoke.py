"""The benchmark itself runs: a few hundred alerts, real service, JSON out, compare.

Runs `python -m bench` as an operator does (a subprocess spawning the real
service on a temporary SQLite file). Asserts that it runs, writes valid JSON
of the documented shape, refuses a run with errors, and that compare.py diffs
two results. The figures are not asserted: this machine is not a quiet one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--batches", "6", "--warmup", "2", "--startup-fill", "4", "--no-kubernetes-startup"]


def bench(*argv: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return subprocess.run([sys.executable, *map(str, argv)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def figures(result: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = result["scenarios"][scenario]["figures"]
    return found


@pytest.mark.slow
def test_storm_and_startup_write_results_that_compare_diffs(tmp_path: Path) -> None:
    first, second = tmp_path / "old.json", tmp_path / "new.json"

    done = bench("-m", "bench", "storm", "startup", *SMALL, "--json", first)
    assert done.returncode == 0, done.stdout + done.stderr
    again = bench("-m", "bench", "storm", "--repeat", "2", *SMALL, "--json", second)
    assert again.returncode == 0, again.stdout + again.stderr

    old, new = json.loads(first.read_text()), json.loads(second.read_text())
    assert old["schema"] == "remediator-bench/1"
    assert {"cores", "cpu_model", "python", "sqlite", "code"} <= old["machine"].keys()
    assert {"revision", "dirty"} <= old["machine"]["code"].keys()
    assert "cores" in done.stdout and "SQLite" in done.stdout
    storm = figures(old, "storm")
    assert {"alerts_per_s", "p50_ms", "p99_ms", "startup_new_db_s", "startup_existing_db_s",
            "peak_rss_mb", "rss_after_storm_mb"} <= storm.keys()
    assert {"startup_new_db_s", "startup_existing_db_s", "cli_help_s",
            "cli_audit_s"} <= figures(old, "startup").keys()
    repeated = figures(new, "storm")["alerts_per_s"]
    assert len(repeated["values"]) == 2
    assert repeated["min"] <= repeated["median"] <= repeated["max"]
    store = old["scenarios"]["storm"]["runs"][0]["detail"]["store"]
    assert store["decision_rows"] == store["expected"] > 0  # the audit check ran

    compared = bench("bench/compare.py", first, second, timeout=30)
    assert compared.returncode == 0, compared.stderr
    assert "alerts_per_s" in compared.stdout
    assert "only in old" in compared.stdout  # startup ran in the first result only


def test_a_run_with_errors_is_refused_and_not_written(tmp_path: Path) -> None:
    out = tmp_path / "refused.json"
    # A body limit below one delivery: every delivery is answered 413.
    done = bench("-m", "bench", "storm", "--batches", "2", "--warmup", "0",
                 "--service-env", "REMEDIATOR_MAX_BODY_BYTES=1024", "--json", out)
    assert done.returncode == 1
    assert "REFUSED" in done.stderr
    assert "413" in done.stderr
    assert not out.exists()


def test_compare_rejects_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text("{}")
    done = bench("bench/compare.py", bogus, bogus, timeout=30)
    assert done.returncode == 2
    assert "not a result" in done.stderr


@pytest.mark.slow
def test_actions_drain_against_the_emulator_and_every_pod_is_deleted(tmp_path: Path) -> None:
    """The emulator (whose request log forgets answered requests) serves every call:
    a request it could not route would be a 404 and a refused run."""
    out = tmp_path / "actions.json"
    done = bench("-m", "bench", "actions", "--actions", "60", "--json", out)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(out.read_text())["scenarios"]["actions"]["runs"][0]
    assert run["detail"]["results"] == {"succeeded": 60}  # the warm-up is not counted
    assert run["detail"]["emulator"]["deleted"] == 61  # the warm-up's pod too
    assert run["detail"]["emulator"]["requests"] >= 61 * 3  # evidence, events, delete
    assert {"actions_per_s", "warmup_action_s", "service_cpu_per_action_ms",
            "emulator_cpu_per_action_ms"} <= figures(json.loads(out.read_text()),
                                                     "actions").keys()


@pytest.mark.slow
def test_postgres_pair_reports_where_the_cores_went(tmp_path: Path) -> None:
    """Two replicas on a real, durable PostgreSQL: the run passes its one-action-per-key
    checks and splits the CPU between replicas, server and load generator."""
    out = tmp_path / "postgres.json"
    done = bench("-m", "bench", "postgres", "--batches", "6", "--warmup", "2", "--json", out)
    assert done.returncode == 0, done.stdout + done.stderr
    found = figures(json.loads(out.read_text()), "postgres")
    for part in ("replicas", "postgres", "loadgen"):
        assert found[f"{part}_cpu_per_alert_us"]["median"] > 0, part
    cores = os.cpu_count() or 1
    assert 0 < found["machine_cpu_util"]["median"] <= cores + 0.5  # CPU ticks are coarse
