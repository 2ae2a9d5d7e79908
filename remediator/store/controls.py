"""Operator switches kept in the database so every replica obeys them.

- `paused`: no action is taken while set (decisions record `paused`).
- `breaker`: set when the circuit breaker trips, with the reason.
- `breaker_reset`: when an operator last reset the breaker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from remediator.model.breaker import BreakerSnapshot
from remediator.store import upsert
from remediator.store.tables import controls

PAUSED = "paused"
BREAKER = "breaker"
BREAKER_RESET = "breaker_reset"

_ALL = select(controls)  # built once: every claim and every delivery reads the controls


def read(connection: Connection) -> dict[str, tuple[bool, datetime | None, str]]:
    rows = connection.execute(_ALL).all()
    return {row.name: (row.flag, row.at, row.reason) for row in rows}


def set_control(connection: Connection, name: str, *, flag: bool, at: datetime,
                reason: str = "") -> None:
    stmt = upsert.insert(connection, controls).values(name=name, flag=flag, at=at, reason=reason)
    stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                      set_={"flag": flag, "at": at, "reason": reason})
    connection.execute(stmt)


def breaker_snapshot(values: dict[str, tuple[bool, datetime | None, str]]) -> BreakerSnapshot:
    opened = values.get(BREAKER)
    reset = values.get(BREAKER_RESET)
    return BreakerSnapshot(
        opened_at=opened[1] if opened and opened[0] else None,
        reset_at=reset[1] if reset else None,
    )
