"""`remediator backtest` against a real Prometheus serving backfilled ALERTS history
(promtool blocks): flapping alerts, series churn, a cooldown holding back, approval
counting, the HTML report, and a Prometheus that times out part-way through the range.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remediator.cli.commands import app
from tests.backtest.history import END_MINUTES, RULES, openmetrics
from tests.backtest.proxy import proxy
from tests.prometheus.conftest import _certificate
from tests.support.promstack import (
    Prometheus,
    backfill_openmetrics,
    prometheus_binary,
    run_prometheus,
)

pytestmark = pytest.mark.e2e
BASE = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    work = tmp_path_factory.mktemp("history")
    backfill_openmetrics(openmetrics(BASE), work)
    return work


@pytest.fixture(scope="module")
def prometheus(history_dir: Path) -> Iterator[Prometheus]:
    with run_prometheus(workdir=history_dir, retention="30d", external_labels={}) as prom:
        yield prom


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(RULES, encoding="utf-8")
    return path


def backtest(url: str, rules: Path, *extra: str) -> Any:
    since = (BASE - timedelta(hours=1)).isoformat()
    until = (BASE + timedelta(minutes=END_MINUTES + 60)).isoformat()
    return CliRunner().invoke(app, ["backtest", "--rules", str(rules), "--since", since,
                                    "--until", until, "--prometheus-url", url, "--chunk", "1h",
                                    *extra])  # a later --chunk wins


def test_flaps_churn_cooldown_and_approval(prometheus: Prometheus, rules: Path) -> None:
    result = backtest(prometheus.url, rules, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["complete"] is True
    # web flapped 3 times within an hour, fired again 80 min later; api's pod was replaced.
    assert report["episodes"] == 8
    assert report["unmatched_episodes"] == 1  # Watchdog
    web = report["rules"]["restart-web"]
    assert (web["episodes"], web["would_act"], web["held_back"]["cooldown"]) == (6, 3, 3)
    pay = report["rules"]["restart-payments"]
    assert (pay["episodes"], pay["would_act"], pay["awaiting_approval"]) == (1, 0, 1)
    assert report["busiest_targets"][0] == {"target": "deployment/apps-shop/web",
                                            "episodes": 4}
    hour = report["busiest_hour"]
    assert hour["start"] == BASE.isoformat()
    assert [d["outcome"] for d in hour["decisions"]] == ["executed", "cooldown", "cooldown"]
    assert [d["at"] for d in hour["decisions"]] == [
        (BASE + timedelta(minutes=m)).isoformat() for m in (0, 15, 30)]


def test_repeats_within_an_episode_are_duplicates(prometheus: Prometheus, rules: Path) -> None:
    result = backtest(prometheus.url, rules, "--json", "--repeat-interval", "4m")
    report = json.loads(result.stdout)
    web = report["rules"]["restart-web"]
    # 10 min of firing repeats at 4 and 8 min; each episode's repeats are its own key.
    assert web["held_back"]["duplicate"] > 0
    assert web["would_act"] == 3 and web["episodes"] == 6


def test_the_table_and_the_html_report(prometheus: Prometheus, rules: Path,
                                       tmp_path: Path) -> None:
    page = tmp_path / "backtest.html"
    result = backtest(prometheus.url, rules, "--html", str(page))
    assert result.exit_code == 0, result.output
    assert "restart-web" in result.stdout and "Busiest hour" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "deployment/apps-shop/web" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<script" not in html.lower()


def test_a_query_timeout_mid_range_names_the_chunk(history_dir: Path, rules: Path,
                                                    tmp_path: Path) -> None:
    copy = tmp_path / "prom"
    copy.mkdir()
    backfill_openmetrics(openmetrics(BASE), copy)
    with run_prometheus(workdir=copy, retention="30d", external_labels={},
                        extra_args=["--query.timeout=1ms"]) as prom:
        # 5,400 evaluation steps per chunk: far more than Prometheus does in 1 ms.
        result = backtest(prom.url, rules, "--json", "--step", "2s", "--chunk", "3h")
    assert result.exit_code == 2
    assert result.stdout == ""  # no partial report
    message = " ".join(result.stderr.split())
    assert re.search(r"refused chunk \d+/\d+ \(", message), message
    assert "timed out" in message and "no partial result" in message


def test_a_stalled_chunk_fails_the_whole_read(prometheus: Prometheus, rules: Path) -> None:
    with proxy(prometheus.url, stall_call=2) as stalling:
        result = backtest(stalling.url, rules, "--json", "--timeout", "1")
    assert result.exit_code == 2
    assert result.stdout == ""
    message = " ".join(result.stderr.split())
    assert re.search(r"did not answer chunk 2/\d+ \(.*\) within 1s; no partial result", message)


def test_tls_with_a_private_ca_and_a_bearer_token(prometheus: Prometheus, rules: Path,
                                                   tmp_path: Path) -> None:
    ca_file, cert_file, key_file = _certificate(tmp_path)
    token = tmp_path / "token"
    token.write_text("s3cret-token\n", encoding="utf-8")
    with proxy(prometheus.url, tls=(cert_file, key_file)) as https:
        trusted = backtest(https.url, rules, "--json", "--prometheus-ca-file", str(ca_file),
                           "--prometheus-token-file", str(token))
        untrusted = backtest(https.url, rules, "--json", "--prometheus-token-file", str(token))
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.stdout)["episodes"] == 8
    assert set(https.seen_auth) == {"Bearer s3cret-token"}
    assert untrusted.exit_code == 2 and "SSLError" in untrusted.stderr
    assert "s3cret" not in untrusted.stderr
