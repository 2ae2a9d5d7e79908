"""The audit API's queries are answered by an index, in order, on both backends.

With 10 million entries a sort of every matching row costs seconds (issue 11
measured 1 s at one million for `namespace+alertname`), so each typical
on-call filter (bench/scenarios/audit_size.py) must read its page straight
from an index and stop. The plans come from the statement the API itself
runs (`audit.statement`), with the parameters it binds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event, inspect, select, text

from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery, AuditRecord
from remediator.store.database import _MIGRATIONS, HEAD_REVISION
from remediator.store.tables import audit as audit_table

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROWS = 6000
OUTCOMES = [("rate_limited", 35), ("no_match", 35), ("duplicate", 8), ("dry_run", 5),
            ("executed", 4), ("succeeded", 4), ("resolved", 4), ("failed", 0.5)]
NAMESPACES = ["apps-web", "apps-api", "monitoring", "default", "kube-system"]
ALERTNAMES = ["KubePodCrashLooping", "KubeJobFailed", "KubeHpaMaxedOut", "CPUThrottlingHigh"]
RULES = ["restart-crashlooping-pod", "raise-hpa-ceiling", ""]
RARE = "NodeDiskPressure"

# name: (the query, the index that must answer it)
QUERIES: dict[str, tuple[AuditQuery, str]] = {
    "newest page": (AuditQuery(), "ix_audit_ts"),
    "last hour": (AuditQuery(since=NOW - timedelta(hours=1)), "ix_audit_ts"),
    "rule, last day": (AuditQuery(rule="restart-crashlooping-pod",
                                  since=NOW - timedelta(days=1)), "ix_audit_rule_ts"),
    "failed, last week": (AuditQuery(outcome="failed", since=NOW - timedelta(days=7)),
                          "ix_audit_outcome_ts"),
    "namespace+alertname": (AuditQuery(namespace="apps-web", alertname="KubePodCrashLooping"),
                            "ix_audit_namespace_alertname_ts"),
    "rare pair": (AuditQuery(namespace="apps-web", alertname=RARE),
                  "ix_audit_namespace_alertname_ts"),
    "executed, 500": (AuditQuery(outcome="executed", limit=500), "ix_audit_outcome_ts"),
    "alertname, until": (AuditQuery(alertname="KubeJobFailed", until=NOW - timedelta(days=3)),
                         "ix_audit_alertname_ts"),
}


SELECTIVE = {"failed, last week", "rare pair", "rule, last day", "rule, second page"}
"""Queries whose filter keeps few entries: PostgreSQL must read them from their index."""


def records(count: int, seed: int = 11) -> list[AuditRecord]:
    """Entries over the last 30 days, oldest first, mixed like the benchmark's."""
    rng = random.Random(seed)
    outcomes, weights = zip(*OUTCOMES, strict=True)
    start = NOW - timedelta(days=30)
    step = timedelta(days=30) / count
    out = []
    for index in range(count):
        alertname, namespace = rng.choice(ALERTNAMES), rng.choice(NAMESPACES)
        if index % 50 == 0:  # a node alert: in monitoring, seldom in apps-web
            alertname = RARE
            namespace = "apps-web" if index % 1000 == 0 else "monitoring"
        out.append(AuditRecord(ts=start + step * (index - index % 3),  # a few share a time
                               outcome=rng.choices(outcomes, weights)[0],
                               rule=rng.choice(RULES), alertname=alertname,
                               namespace=namespace, labels={"pod": f"p{index}"}))
    return out


@pytest.fixture
def filled(database: Database) -> Database:
    with database.writing() as connection:
        audit.append(connection, records(ROWS))
    if not database.is_sqlite:
        with database.writer.connect() as connection:
            connection.execute(text("ANALYZE audit"))
            connection.commit()
    return database


def executed(connection: Connection, q: AuditQuery) -> tuple[str, Any]:
    """The SQL and parameters the page query sends to the driver."""
    statement = audit.statement(connection, q)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        sent.append((sql, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        connection.execute(statement).all()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    return sent[-1]


def sqlite_plan(connection: Connection, q: AuditQuery) -> list[str]:
    sql, params = executed(connection, q)
    return [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]


def postgres_plan(connection: Connection, q: AuditQuery) -> list[dict[str, Any]]:
    """The plan's nodes; sequential scans are priced out so a small table plans
    as a big one would (the index must be usable, not merely cheaper)."""
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    connection.execute(text("SET LOCAL enable_bitmapscan = off"))
    sql, params = executed(connection, q)
    document = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar()
    top = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]

    def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    return list(walk(top))


def with_cursor(connection: Connection, q: AuditQuery) -> AuditQuery:
    q = AuditQuery(**{**q.__dict__, "limit": 20})
    _, cursor = audit.query(connection, q)
    assert cursor is not None
    return AuditQuery(**{**q.__dict__, "cursor": cursor})


def cases(connection: Connection) -> dict[str, tuple[AuditQuery, str]]:
    """The typical queries, and second pages through the cursor."""
    return {**QUERIES,
            "second page": (with_cursor(connection, AuditQuery()), "ix_audit_ts"),
            "rule, second page": (with_cursor(connection, QUERIES["rule, last day"][0]),
                                  "ix_audit_rule_ts")}


def test_each_audit_query_reads_its_page_from_an_index_without_sorting(
        filled: Database) -> None:
    with filled.reading() as connection:
        for name, (q, index) in cases(connection).items():
            if filled.is_sqlite:
                plan = sqlite_plan(connection, q)
                assert not any("TEMP B-TREE" in step for step in plan), (name, plan)
                assert plan == [step for step in plan if f"USING INDEX {index} " in step
                                or step == f"SCAN audit USING INDEX {index}"], (name, plan)
                if q != AuditQuery():  # only the unfiltered newest page walks from the end
                    assert all(step.startswith("SEARCH") for step in plan), (name, plan)
            else:
                nodes = postgres_plan(connection, q)
                types = [node["Node Type"] for node in nodes]
                used = [node.get("Index Name") for node in nodes]
                assert not {"Sort", "Incremental Sort", "Seq Scan"} & set(types), (name, types)
                assert types[-1] in ("Index Scan", "Index Only Scan"), (name, types)
                # Where a filter keeps few rows its index must be the one; elsewhere
                # walking the time index and filtering may cost less (the planner's
                # call): either way the page comes in order and the scan stops.
                if name in SELECTIVE:
                    assert index in used, (name, used)


def test_pages_are_newest_first_by_id_as_before(filled: Database) -> None:
    """Ordering by time is ordering by id (time never decreases with id), and
    paging with the cursor visits every matching entry once."""
    with filled.reading() as connection:
        every = [dict(row._mapping) for row in
                 connection.execute(select(audit_table).order_by(audit_table.c.id.desc()))]
        for name, (q, _) in QUERIES.items():
            expected = [row["id"] for row in every if matches(row, q)]
            seen: list[int] = []
            page = q
            while True:
                items, cursor = audit.query(connection, page)
                seen += [item["id"] for item in items]
                if cursor is None:
                    break
                page = AuditQuery(**{**page.__dict__, "cursor": cursor})
            assert seen == expected, name


def matches(row: dict[str, Any], q: AuditQuery) -> bool:
    ts = row["ts"]
    return all(getattr(q, column) in (None, row[column])
               for column in ("rule", "alertname", "namespace", "outcome")) and \
        (q.since is None or ts >= q.since) and (q.until is None or ts < q.until)


def test_a_cursor_whose_entry_is_gone_still_pages_by_id(filled: Database) -> None:
    with filled.reading() as connection:
        newest = audit.query(connection, AuditQuery(limit=1))[0][0]["id"]
        items, _ = audit.query(connection, AuditQuery(cursor=newest + 1000, limit=5))
    assert [item["id"] for item in items] == list(range(newest, newest - 5, -1))


def test_migration_0006_applies_and_downgrades(database: Database) -> None:
    def indexes() -> set[str]:
        engine = create_engine(database.url)  # no pooled connection's view of the schema
        try:
            return {str(ix["name"]) for ix in inspect(engine).get_indexes("audit")}
        finally:
            engine.dispose()

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert "ix_audit_namespace_alertname_ts" in indexes()
    with database.writer.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        connection.commit()
    assert database.revision() == "0005"
    assert "ix_audit_namespace_alertname_ts" not in indexes()
    database.migrate()
    assert database.revision() == HEAD_REVISION
    assert "ix_audit_namespace_alertname_ts" in indexes()
