"""The pre-flight's related-alert reads are index ranges, on both backends.

In a cluster-wide storm (thousands of alerts firing in one namespace) a read
that scans the firing rows runs once per action: it was the largest database
cost of the action drain (11 % of the service's CPU at 1,000 queued actions).
The plans come from the statements `firing_alerts` itself executes; the
migration test checks 0008 fills the columns of rows that predate it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, event, inspect, select, text

from remediator.model.alerts import Alert
from remediator.store import Database, evidence, recorder
from remediator.store.database import _MIGRATIONS, HEAD_REVISION
from remediator.store.tables import alerts

T0 = datetime(2026, 1, 2, tzinfo=UTC)
INDEXES = {"ix_alerts_firing_namespace", "ix_alerts_firing_node", "ix_alerts_firing_service"}


def storm(count: int) -> list[Alert]:
    """`count` pod alerts firing in one namespace over 20 nodes, a few services,
    and as many resolved elsewhere."""
    out = []
    for index in range(count):
        labels = {"alertname": "KubePodCrashLooping", "namespace": "apps",
                  "node": f"node-{index % 20}", "pod": f"pod-{index}",
                  "service": f"svc-{index % 7}"}
        out.append(Alert.model_validate({"status": "firing", "labels": labels,
                                         "startsAt": T0 + timedelta(seconds=index)}))
        out.append(Alert.model_validate({"status": "resolved", "startsAt": T0, "labels": {
            **labels, "namespace": "other", "pod": f"old-{index}"}}))
    return out


def statements(connection: Connection) -> list[tuple[str, Any]]:
    """What one pre-flight read sends: every relation, one service missing."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        sent.append((sql, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        rows, capped = evidence.firing_alerts(connection, node="node-3", namespace="apps",
                                              services=["svc-1", "svc-2", "gone"])
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    assert capped and len(rows) > evidence.RELATED_LIMIT
    return [(sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]


def postgres_nodes(connection: Connection, sql: str, params: Any) -> Iterator[dict[str, Any]]:
    document = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).scalar()
    stack = [(json.loads(document) if isinstance(document, str) else document)[0]["Plan"]]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.get("Plans", []))


def test_each_related_read_is_an_index_range_in_order(database: Database) -> None:
    with database.writing() as connection:
        recorder.remember_alerts(connection, storm(2000), T0)
    if not database.is_sqlite:
        with database.writer.connect() as connection:
            connection.execute(text("ANALYZE alerts"))
            connection.commit()
    with database.reading() as connection:
        sent = statements(connection)
        assert len(sent) == 6  # node alerts; node, namespace; three services
        for sql, params in sent:
            if database.is_sqlite:
                plan = [row[-1] for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + sql, params)]
                assert len(plan) == 1, plan
                assert plan[0].startswith("SEARCH alerts USING INDEX ix_alerts_firing_"), plan
                assert plan[0].split()[4] in INDEXES, plan
            else:  # sequential scans priced out: the index must be usable, not just cheaper
                connection.execute(text("SET LOCAL enable_seqscan = off"))
                connection.execute(text("SET LOCAL enable_bitmapscan = off"))
                nodes = list(postgres_nodes(connection, sql, params))
                types = {node["Node Type"] for node in nodes}
                assert not {"Seq Scan", "Sort", "Incremental Sort"} & types, (sql, types)
                assert {node.get("Index Name") for node in nodes} & INDEXES, (sql, nodes)


def _indexes(database: Database) -> set[str]:
    engine = create_engine(database.url)  # no pooled connection's view of the schema
    try:
        return {str(ix["name"]) for ix in inspect(engine).get_indexes("alerts")}
    finally:
        engine.dispose()


def _to(database: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with database.writer.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        connection.commit()


def test_migration_0008_fills_the_columns_of_existing_rows_and_downgrades(
        database: Database) -> None:
    long = "x" * 254
    _to(database, "0007")
    assert not INDEXES & _indexes(database)
    with database.writer.begin() as connection:
        for index, labels in enumerate([
                {"alertname": "A", "namespace": "apps", "node": "n1", "service": "db"},
                {"alertname": "B", "namespace": long, "node": "y" * 253},
                {"alertname": "C"}]):
            connection.execute(text(
                "INSERT INTO alerts (fingerprint, alertname, status, labels, starts_at, "
                "updated_at) VALUES (:f, :a, 'firing', :l, :t, :t)"),
                {"f": f"f{index}", "a": labels["alertname"], "l": json.dumps(labels),
                 "t": T0.replace(tzinfo=None)})
    database.migrate()
    assert database.revision() == HEAD_REVISION
    assert _indexes(database) >= INDEXES
    with database.reading() as connection:
        rows = connection.execute(select(alerts.c.fingerprint, alerts.c.namespace,
                                         alerts.c.node, alerts.c.service)
                                  .order_by(alerts.c.fingerprint)).all()
        assert [tuple(r) for r in rows] == [("f0", "apps", "n1", "db"),
                                            ("f1", None, "y" * 253, None),
                                            ("f2", None, None, None)]
        found, _ = evidence.firing_alerts(connection, namespace="apps")
        assert [r["fingerprint"] for r in found] == ["f0"]
    _to(database, "0007")
    assert not INDEXES & _indexes(database)
    engine = create_engine(database.url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("alerts")}
    finally:
        engine.dispose()
    assert not {"namespace", "node", "service"} & columns
    assert {"ix_alerts_status", "ix_alerts_alertname_status"} <= _indexes(database)
    database.migrate()
    assert database.revision() == HEAD_REVISION


def test_the_migrated_indexes_are_the_tables_partial_indexes(database: Database) -> None:
    """`tables.RELATED_INDEXES` (kept in the indexes' `info`, see there) is what
    migration 0008 built: the same keys, and the same predicate as each backend
    records it (PostgreSQL's own rendering of the metadata's predicate, from a
    scratch index that is rolled back)."""
    declared = {ix.name: ix for ix in alerts.indexes if "where" in ix.info}
    assert set(declared) == INDEXES
    engine = create_engine(database.url)  # no pooled connection's view of the schema
    try:
        reflected = {ix["name"]: ix for ix in inspect(engine).get_indexes("alerts")}
    finally:
        engine.dispose()
    for name, index in declared.items():
        assert reflected[name]["column_names"] == [c.name for c in index.columns], name
        with database.writer.connect() as connection:
            if database.is_sqlite:
                sql = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                         {"n": name}).scalar_one()
                assert sql.endswith(f" WHERE {index.info['where']}"), sql
                continue
            connection.execute(text(f"CREATE INDEX scratch ON alerts (fingerprint) "
                                    f"WHERE {index.info['where']}"))
            built, wanted = (connection.execute(text(
                "SELECT pg_get_expr(indpred, indrelid) FROM pg_index "
                "WHERE indexrelid = CAST(:n AS regclass)"), {"n": n}).scalar_one()
                for n in (name, "scratch"))
            connection.rollback()
            assert built == wanted, (name, built, wanted)
