"""Our Prometheus client against a real Prometheus, a TLS server and a stalled server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from remediator.clients.prometheus import PrometheusClient, PrometheusConfig, PrometheusExecutor
from remediator.execute.verify import PrometheusVerifier
from remediator.model.outcomes import Outcome
from remediator.model.prometheus import PrometheusError
from tests.support import promstack

from .conftest import TlsServer


@pytest.fixture
def client(prometheus: promstack.Prometheus) -> Iterator[PrometheusClient]:
    built = PrometheusClient(PrometheusConfig(url=prometheus.url))
    yield built
    built.close()


@pytest.mark.e2e
def test_instant_query_returns_labelled_samples(
        exporter: promstack.TestExporter, prometheus: promstack.Prometheus,
        client: PrometheusClient) -> None:
    exporter.set("demo_errors_ratio", 0.5, service="web", pod="web-1")
    prometheus.wait_for_query('demo_errors_ratio{pod="web-1"}')

    [sample] = client.query('demo_errors_ratio{pod="web-1"}')

    assert sample.value == 0.5
    assert sample.labels["service"] == "web" and sample.labels["__name__"] == "demo_errors_ratio"
    assert client.query('demo_errors_ratio{pod="nope"}') == []
    assert client.query("scalar(vector(3))")[0].value == 3.0


@pytest.mark.e2e
def test_range_query_returns_points(prometheus: promstack.Prometheus,
                                    client: PrometheusClient) -> None:
    prometheus.wait_for_query("up")
    end = datetime.now(UTC)

    [series] = client.query_range("vector(1)", start=end - timedelta(seconds=10), end=end,
                                  step=2)

    assert len(series.points) == 6
    assert all(value == 1.0 for _, value in series.points)


@pytest.mark.e2e
def test_a_bad_query_is_an_error_with_prometheus_message(client: PrometheusClient) -> None:
    with pytest.raises(PrometheusError, match=r"HTTP 400: .*parse error"):
        client.query("sum(")


def test_tls_is_verified_against_the_configured_ca(tls_server: TlsServer) -> None:
    trusted = PrometheusClient(PrometheusConfig(url=tls_server.url, ca_file=tls_server.ca_file))
    assert trusted.query("up")[0].value == 0.25
    trusted.close()

    default = PrometheusClient(PrometheusConfig(url=tls_server.url))
    with pytest.raises(PrometheusError, match=r"ConnectError.*CERTIFICATE_VERIFY_FAILED"):
        default.query("up")
    default.close()


def test_insecure_is_an_explicit_opt_out(tls_server: TlsServer) -> None:
    insecure = PrometheusClient(PrometheusConfig(url=tls_server.url, insecure=True))
    assert insecure.query("up")[0].labels == {"job": "api"}
    insecure.close()


def test_bearer_token_comes_from_a_file(tls_server: TlsServer, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("prom-token\n")
    client = PrometheusClient(PrometheusConfig(url=tls_server.url, ca_file=tls_server.ca_file,
                                               token_file=token))
    client.query("up")
    client.close()
    assert tls_server.seen_auth == ["Bearer prom-token"]


@pytest.mark.serial  # a wall-clock bound
def test_a_stalled_server_times_out_on_read(stalled_url: str) -> None:
    client = PrometheusClient(PrometheusConfig(url=stalled_url, read_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(PrometheusError, match="timed out"):
        client.query("up")
    assert time.monotonic() - started < 1.5
    client.close()


@pytest.mark.serial  # a wall-clock bound
async def test_a_stalled_prometheus_does_not_starve_the_default_thread_pool(
        stalled_url: str) -> None:
    """Many verifications against a Prometheus that never answers: they end `unknown`
    within their deadline, and the default pool (the webhook writer's) stays free."""
    config = PrometheusConfig(url=stalled_url, connect_timeout=0.5, read_timeout=1.0, workers=2)
    verifier = PrometheusVerifier(config)
    checks = [asyncio.create_task(verifier.check({"alertname": "X"}, None))
              for _ in range(40)]
    await asyncio.sleep(0.05)  # let them all be submitted

    started = time.monotonic()
    for _ in range(20):  # more than the default pool's threads
        await asyncio.wait_for(asyncio.to_thread(time.sleep, 0), timeout=1.0)
    writer_latency = time.monotonic() - started

    results = await asyncio.gather(*checks)
    verifier.close()
    assert writer_latency < 0.5, writer_latency
    assert {outcome for outcome, _ in results} == {Outcome.UNKNOWN}
    reasons = {reason for _, reason in results}
    assert any("no answer within 2.5s" in r for r in reasons), reasons


@pytest.mark.serial  # a wall-clock bound
async def test_executor_bounds_the_caller_even_when_queued(stalled_url: str) -> None:
    executor = PrometheusExecutor.connect(PrometheusConfig(
        url=stalled_url, connect_timeout=0.2, read_timeout=0.3, workers=1))
    started = time.monotonic()
    results = await asyncio.gather(*(executor.query("up") for _ in range(5)),
                                   return_exceptions=True)
    elapsed = time.monotonic() - started
    executor.close()
    assert all(isinstance(r, PrometheusError) for r in results)
    assert elapsed < executor.deadline + 0.5, elapsed
