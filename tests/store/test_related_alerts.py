"""The pre-flight reads only the firing alerts a hint could use, filtered in the
database: every hint comes out exactly as it would from all firing alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from remediator.diagnosis import Context, FiringAlert, diagnose
from remediator.store import Database
from remediator.store import evidence as evidence_store
from remediator.store.tables import alerts

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
VALUES = st.sampled_from(["a", "b", "c"])
ALERTNAMES = st.sampled_from(["KubePodCrashLooping", "KubeNodeNotReady", "NodeDiskFull",
                              "ServiceErrors"])


@st.composite
def label_sets(draw: st.DrawFn) -> dict[str, str]:
    labels = {"alertname": draw(ALERTNAMES)}
    for key in ("node", "namespace", "service", "depends_on", "pod"):
        if draw(st.booleans()):
            labels[key] = draw(VALUES if key != "depends_on" else
                               st.lists(VALUES, max_size=2).map(",".join))
    return labels


STORED = st.lists(st.tuples(label_sets(), st.sampled_from(["firing", "resolved"])),
                  max_size=12)


def context(labels: dict[str, str], pod_node: str | None,
            firing: list[FiringAlert]) -> Context:
    evidence: dict[str, Any] = {"pod": {"node": pod_node}} if pod_node else {}
    return Context(labels=labels, starts_at=T0, fingerprint="self", evidence=evidence,
                   firing=firing)


def as_firing(rows: list[dict[str, Any]]) -> list[FiringAlert]:
    return [FiringAlert(r["alertname"], r["labels"], r["fingerprint"], r["starts_at"])
            for r in rows]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=STORED, labels=label_sets(), pod_node=st.none() | VALUES)
def test_hints_from_the_related_alerts_equal_hints_from_all(
        database: Database, stored: list[tuple[dict[str, str], str]],
        labels: dict[str, str], pod_node: str | None) -> None:
    with database.writing() as connection:
        connection.execute(delete(alerts))
        for index, (alert_labels, status) in enumerate(stored):
            connection.execute(insert(alerts).values(
                fingerprint=f"f{index:02d}", alertname=alert_labels["alertname"],
                status=status, labels=alert_labels, starts_at=T0 + timedelta(seconds=index),
                updated_at=T0))
    related = context(labels, pod_node, []).related()
    with database.reading() as connection:
        every = [dict(r._mapping) for r in connection.execute(
            select(alerts.c.fingerprint, alerts.c.alertname, alerts.c.labels, alerts.c.starts_at)
            .where(alerts.c.status == "firing")
            .order_by(alerts.c.starts_at, alerts.c.fingerprint))]
        chosen, capped = evidence_store.firing_alerts(connection, node=related.node,
                                                      namespace=related.namespace,
                                                      services=related.services)

    from_all = diagnose(context(labels, pod_node, as_firing(every)))
    from_related = diagnose(context(labels, pod_node, as_firing(chosen)))
    assert [h.to_json() for h in from_related] == [h.to_json() for h in from_all]
    assert not capped
    assert len(chosen) <= len(every)
    assert {r["fingerprint"] for r in chosen} <= {r["fingerprint"] for r in every}


def store(database: Database, *rows: tuple[str, dict[str, str]]) -> None:
    with database.writing() as connection:
        for index, (fingerprint, labels) in enumerate(rows):
            connection.execute(insert(alerts).values(
                fingerprint=fingerprint, alertname=labels["alertname"], status="firing",
                labels=labels, starts_at=T0 + timedelta(seconds=index), updated_at=T0))


def test_nothing_related_reads_nothing(database: Database) -> None:
    store(database, ("f", {"alertname": "KubeNodeNotReady", "node": "n1"}))
    with database.reading() as connection:
        assert evidence_store.firing_alerts(connection) == ([], False)
        rows, _ = evidence_store.firing_alerts(connection, node="n1")
        assert [r["fingerprint"] for r in rows] == ["f"]
        assert evidence_store.firing_alerts(connection, node="n2", namespace="x",
                                            services=["y"]) == ([], False)


def test_a_crowded_namespace_is_capped_but_cannot_hide_the_node_alerts(
        database: Database) -> None:
    """A storm: 10 pod alerts in the namespace, then the node's own alert."""
    store(database, *((f"p{i}", {"alertname": "KubePodCrashLooping", "namespace": "apps",
                                 "node": "n1", "pod": f"pod-{i}"}) for i in range(10)),
          ("n", {"alertname": "KubeNodeNotReady", "node": "n1"}))
    with database.reading() as connection:
        rows, capped = evidence_store.firing_alerts(connection, node="n1", namespace="apps",
                                                    limit=3)
    assert capped
    assert [r["fingerprint"] for r in rows] == ["p0", "p1", "p2", "n"]

    labels = {"alertname": "KubePodCrashLooping", "namespace": "apps", "node": "n1",
              "pod": "pod-x"}
    crowded = replace(context(labels, None, as_firing(rows)), firing_capped=capped)
    hints = {h.name: h for h in diagnose(crowded)}
    assert "KubeNodeNotReady{node=n1}" in hints["node_not_ready"].explanation
    assert hints["co_firing"].explanation.startswith("at least 4 other alert(s)")
    assert hints["co_firing"].facts["count_is_a_lower_bound"] is True


def test_only_a_crowded_node_or_namespace_makes_the_count_a_lower_bound(
        database: Database) -> None:
    """Many alerts of a depended-on service elsewhere do not bound `co_firing`'s count."""
    store(database, *((f"s{i}", {"alertname": "ServiceErrors", "namespace": "payments",
                                 "service": "db"}) for i in range(5)),
          ("a", {"alertname": "KubePodCrashLooping", "namespace": "apps"}))
    with database.reading() as connection:
        rows, capped = evidence_store.firing_alerts(connection, namespace="apps",
                                                    services=["db"], limit=3)
    assert not capped
    assert [r["fingerprint"] for r in rows] == ["s0", "s1", "s2", "a"]
