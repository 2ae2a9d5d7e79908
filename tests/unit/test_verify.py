"""Which ALERTS series are this alert, and a verify expression made from labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.execute.verify import alerts_query, same_alert
from remediator.model.alerts import Alert
from remediator.rules.templating import Template
from remediator.store.recorder import promql_expr
from tests.unit.promql_strings import lex_string

ALERT = {"alertname": "HpaMaxedOut", "namespace": "apps-a", "horizontalpodautoscaler": "web",
         "severity": "warning", "cluster": "prod-eu"}  # `cluster`: an external label


@pytest.mark.parametrize(("series", "same"), [
    pytest.param({"__name__": "ALERTS", "alertstate": "firing", "alertname": "HpaMaxedOut",
                  "namespace": "apps-a", "horizontalpodautoscaler": "web",
                  "severity": "warning"}, True, id="same-without-external-labels"),
    pytest.param({"alertname": "HpaMaxedOut", "namespace": "apps-a",
                  "horizontalpodautoscaler": "api", "severity": "warning"}, False,
                 id="sibling-on-another-target"),
    pytest.param({"alertname": "HpaMaxedOut", "namespace": "apps-a",
                  "horizontalpodautoscaler": "web", "severity": "warning", "extra": "x"},
                 False, id="series-with-a-label-the-alert-lacks"),
])
def test_same_alert(series: dict[str, str], same: bool) -> None:
    assert same_alert(series, ALERT) is same


def test_alerts_query_selects_by_name_only() -> None:
    assert alerts_query(ALERT) == 'ALERTS{alertname="HpaMaxedOut", alertstate="firing"}'


@given(value=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40))
def test_label_values_cannot_escape_a_promql_string(value: str) -> None:
    alert = Alert(status="firing", starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                  labels={"alertname": "X", "pod": value})
    expr = promql_expr(Template('up{pod="{{ labels.pod }}"}'), alert)
    assert expr is not None
    inner = expr.removeprefix('up{pod="').removesuffix('"}')
    # Unescaped as PromQL does, the inside of the string is exactly the label value.
    assert lex_string(f'"{inner}"', 0) == (value, len(inner) + 2)


def test_missing_label_falls_back_to_the_alert_check() -> None:
    alert = Alert(status="firing", starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                  labels={"alertname": "X"})
    assert promql_expr(Template('up{pod="{{ labels.pod }}"}'), alert) is None
