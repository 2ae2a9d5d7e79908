"""DecisionWriter: concurrent deliveries commit together, with the same decisions
as one by one, and a failed commit fails every delivery of its group."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from remediator.intake.intake import Intake
from remediator.intake.writer import DecisionWriter
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database, StoreUnavailable
from remediator.store.audit import log as audit
from tests.store.conftest import make_intake
from tests.support.payloads import crashloop


def deliveries() -> list[list[Alert]]:
    return [[Alert.model_validate(crashloop(pod=f"p{i}-{j}")) for j in range(3)]
            + [Alert.model_validate(crashloop(pod="shared"))] for i in range(8)]


async def test_grouped_commits_decide_like_one_by_one(intake: Intake, database: Database,
                                                      rules_dir: Path, clock: FakeClock,
                                                      tmp_path: Path) -> None:
    writer = DecisionWriter(intake)
    writer.start()
    try:
        grouped = await asyncio.gather(*(writer.submit(d, "g") for d in deliveries()))
    finally:
        await writer.stop()
    alone = make_intake(Database(f"sqlite:///{tmp_path / 'alone.db'}"), rules_dir, clock)
    alone.store.database.migrate()
    sequential = [alone.receive(d, group_key="g") for d in deliveries()]

    def outcomes(results: list[list[dict[str, object]]]) -> list[list[object]]:
        return [[d["outcome"] for d in result] for result in results]

    assert outcomes(grouped) == outcomes(sequential)
    assert [d["outcome"] for d in grouped[1]][-1] == "duplicate"  # "shared" acted on once
    with database.reading() as connection:
        assert audit.verify_chain(connection).checked == 32


async def test_a_failed_commit_fails_the_whole_group(tmp_path: Path, rules_dir: Path,
                                                     clock: FakeClock) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}", busy_timeout_ms=20)
    database.migrate()
    writer = DecisionWriter(make_intake(database, rules_dir, clock))
    writer.start()
    locker = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        results = await asyncio.gather(*(writer.submit(d, "g") for d in deliveries()[:3]),
                                       return_exceptions=True)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        await writer.stop()
    assert all(isinstance(r, StoreUnavailable) for r in results)
    with database.reading() as connection:
        assert audit.count(connection) == 0
    database.dispose()
