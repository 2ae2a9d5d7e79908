"""The pre-flight reads only the firing alerts a hint could use, filtered in the
database: every hint comes out exactly as it would from all firing alerts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from remediator.diagnosis import Context, FiringAlert, diagnose
from remediator.model.alerts import Alert
from remediator.store import Database, recorder
from remediator.store import evidence as evidence_store
from remediator.store.tables import alerts, related_columns

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
                updated_at=T0, **related_columns(alert_labels)))
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
                labels=labels, starts_at=T0 + timedelta(seconds=index), updated_at=T0,
                **related_columns(labels)))


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


# The same relations in plain Python, over alerts as the writer stores them: the
# indexed reads must return exactly these rows and this capped flag.
LONG = "x" * 254  # no column holds it (stored NULL): it relates to nothing
LONGEST = "y" * 253
KEYS = st.sampled_from(["a", "b", "", LONG, LONGEST])
NAMESPACES = st.sampled_from(["a", "b", "", LONGEST])
"""A namespace label longer than 253 is refused at the webhook (422), so none is stored."""
ASKED = st.sampled_from(["a", "a", "b", "", LONG, LONGEST])
FINGERPRINTS = st.sampled_from(["0a", "0b", "1f", "a0", "a01", "b", "c4", "d", "e9", "ff"])
NAMED = st.sampled_from(["KubeNodeNotReady", "NODEDown", "PodCrashLooping", "ServiceErrors"])


@st.composite
def stored_alerts(draw: st.DrawFn) -> Alert:
    labels = {"alertname": draw(NAMED)}
    for key in ("namespace", "node", "service"):
        if draw(st.integers(0, 3)):
            labels[key] = draw(NAMESPACES if key == "namespace" else KEYS)
    return Alert.model_validate({
        "status": draw(st.sampled_from(["firing", "firing", "resolved"])), "labels": labels,
        "startsAt": T0 + timedelta(seconds=draw(st.integers(0, 2))),
        "fingerprint": draw(FINGERPRINTS)})


@dataclass(frozen=True)
class Row:
    """An alerts row as the writer leaves it: the upsert updates all but the
    alertname (a fingerprint hashes the labels, so it never changes for real),
    and never with an earlier episode (an older startsAt) than the row holds."""

    fingerprint: str
    alertname: str
    status: str
    labels: dict[str, str]
    starts_at: datetime


def rows_written(deliveries: list[list[Alert]]) -> list[Row]:
    rows: dict[str, Row] = {}
    for delivery in deliveries:
        latest: dict[str, Alert] = {}
        for a in delivery:  # a delivery's last of its latest episode
            if a.fingerprint not in latest or latest[a.fingerprint].starts_at <= a.starts_at:
                latest[a.fingerprint] = a
        for a in latest.values():
            row = rows.get(a.fingerprint)
            if row is not None and a.starts_at < row.starts_at:
                continue
            name = row.alertname if row is not None else a.alertname
            rows[a.fingerprint] = Row(a.fingerprint, name, a.status, dict(a.labels),
                                      a.starts_at)
    return list(rows.values())


def reference(deliveries: list[list[Alert]], *, node: str | None, namespace: str | None,
              services: list[str], limit: int) -> tuple[list[tuple[Any, ...]], bool]:
    """`firing_alerts` as it read all firing rows, with the 253-character rule."""
    firing = sorted((r for r in rows_written(deliveries) if r.status == "firing"),
                    key=lambda r: (r.starts_at, r.fingerprint))

    def first(keep: Callable[[Row], bool]) -> list[Row]:
        return [r for r in firing if keep(r)][:limit]

    def fits(value: str | None) -> bool:
        return bool(value) and len(value or "") <= 253

    found: dict[str, Row] = {}
    capped = False
    if fits(node):
        found |= {r.fingerprint: r for r in first(
            lambda r: r.labels.get("node") == node and "node" in r.alertname.lower())}
    if fits(node) or fits(namespace):
        scope = first(lambda r: (fits(node) and r.labels.get("node") == node)
                      or (fits(namespace) and r.labels.get("namespace") == namespace))
        capped = len(scope) >= limit
        found |= {r.fingerprint: r for r in scope}
    wanted = [s for s in services if len(s) <= 253]
    if wanted:
        found |= {r.fingerprint: r for r in first(lambda r: r.labels.get("service") in wanted)}
    rows = sorted(found.values(), key=lambda r: (r.starts_at, r.fingerprint))
    return [(r.fingerprint, r.alertname, r.labels, r.starts_at) for r in rows], capped


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(stored_alerts(), max_size=12), then=st.lists(stored_alerts(), max_size=6),
       node=st.none() | ASKED, namespace=st.none() | ASKED,
       services=st.lists(KEYS, max_size=3), limit=st.integers(0, 4))
def test_the_indexed_reads_return_what_a_scan_of_every_firing_alert_would(
        database: Database, first: list[Alert], then: list[Alert], node: str | None,
        namespace: str | None, services: list[str], limit: int) -> None:
    """Two deliveries through the writer (the second updates some alerts: labels,
    status), then every relation against the plain-Python reference."""
    with database.writing() as connection:
        connection.execute(delete(alerts))
        recorder.remember_alerts(connection, first, T0)
        recorder.remember_alerts(connection, then, T0)
    with database.reading() as connection:
        rows, capped = evidence_store.firing_alerts(
            connection, node=node, namespace=namespace, services=services, limit=limit)
    got = [(r["fingerprint"], r["alertname"], r["labels"], r["starts_at"]) for r in rows]
    assert (got, capped) == reference([first, then], node=node, namespace=namespace,
                                      services=services, limit=limit)


def test_a_label_too_long_for_a_column_is_stored_null_and_relates_to_nothing(
        database: Database) -> None:
    labels = {"alertname": "KubeNodeNotReady", "namespace": LONGEST, "node": LONG,
              "service": "s" * 16384}
    alert = Alert.model_validate({"status": "firing", "labels": labels, "startsAt": T0})
    with database.writing() as connection:
        recorder.remember_alerts(connection, [alert], T0)
    with database.reading() as connection:
        stored = connection.execute(
            select(alerts.c.namespace, alerts.c.node, alerts.c.service)).one()
        assert tuple(stored) == (LONGEST, None, None)
        assert evidence_store.firing_alerts(connection, node=LONG,
                                            services=["s" * 16384]) == ([], False)
        rows, _ = evidence_store.firing_alerts(connection, namespace=LONGEST)
    assert [r["labels"] for r in rows] == [labels]


def test_node_and_namespace_each_under_the_limit_together_at_it_are_capped(
        database: Database) -> None:
    """Capped is the union's count, not either part's: 2 on the node, 2 others in
    the namespace, limit 3 reads as "at least 3", as the single OR query did."""
    store(database, ("a", {"alertname": "PodCrash", "node": "n1"}),
          ("b", {"alertname": "PodCrash", "namespace": "apps"}),
          ("c", {"alertname": "PodCrash", "node": "n1"}),
          ("d", {"alertname": "PodCrash", "namespace": "apps"}))
    with database.reading() as connection:
        rows, capped = evidence_store.firing_alerts(connection, node="n1", namespace="apps",
                                                    limit=3)
    assert capped
    assert [r["fingerprint"] for r in rows] == ["a", "b", "c"]
