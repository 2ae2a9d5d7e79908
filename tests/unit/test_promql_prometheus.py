"""The escaping of `remediator.rules.promql`, checked by a real Prometheus: the string
it parses is the label value, and the regex it compiles matches that value only."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from remediator.rules.promql import escape
from tests.support import promstack

pytestmark = pytest.mark.e2e

HOSTILE = ['"', "'", "\\", '\\"', "`", ".*", "(a+)+$", "a\nb", "tab\there", "\x01\x7f",
           '"} or vector(1) or up{x="', "ünïcødé ✓", "[", "a|b", "${1}", ""]


@pytest.fixture(scope="module")
def prometheus_url() -> Iterator[str]:
    with promstack.run_prometheus() as prometheus:
        yield prometheus.url


def evaluate(url: str, expr: str) -> list[dict[str, str]]:
    response = httpx.post(f"{url}/api/v1/query", data={"query": expr}, timeout=10)
    body = response.json()
    assert body["status"] == "success", (expr, body)
    return [item["metric"] for item in body["data"]["result"]]


@pytest.mark.parametrize("quote", ['"', "'"])
@pytest.mark.parametrize("value", HOSTILE)
def test_prometheus_reads_the_string_and_the_regex_as_the_value(
        prometheus_url: str, value: str, quote: str) -> None:
    def literal(text: str, *, regex: bool) -> str:
        return f"{quote}{escape(text, quote, regex=regex)}{quote}"

    # label_replace expands $ in its replacement: $$ is a literal $ (only there).
    replacement = literal(value.replace("$", "$$"), regex=False)
    source = f'label_replace(vector(1), "src", {replacement}, "", "")'
    got = evaluate(prometheus_url, source)
    assert got == [{"src": value}] if value else got == [{}]
    hit = (f'label_replace({source}, "hit", "yes", "src", {literal(value, regex=True)})')
    assert evaluate(prometheus_url, hit)[0].get("hit") == "yes"
    miss = (f'label_replace({source}, "hit", "yes", "src", '
            f'{literal(value + "x", regex=True)})')
    assert "hit" not in evaluate(prometheus_url, miss)[0]
