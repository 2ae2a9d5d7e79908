"""Transactions belong to the store: only `remediator/store/` opens one.

import-linter keeps SQLAlchemy inside the store; this keeps the transactions
there too. A component that needs one asks the facade it was given (built once
in `app.services`) for a named method, so what commits together is said in one
place and the faces (web, CLI) stay thin.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "remediator"
OPENERS = frozenset({"writing", "reading"})


def transactions_opened(source: str) -> list[int]:
    """Lines that call `<anything>.writing()` or `<anything>.reading()`."""
    return sorted(node.lineno for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in OPENERS)


def test_the_check_finds_a_transaction_opened_outside_the_store() -> None:
    source = "def f(db):\n    with db.writing() as c:\n        pass\n    db.reading()\n"
    assert transactions_opened(source) == [2, 4]
    assert transactions_opened("def f(store):\n    store.record(x=1)\n") == []


def test_no_module_outside_the_store_opens_a_transaction() -> None:
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}"
             for path in sorted(PACKAGE.rglob("*.py"))
             if not path.is_relative_to(PACKAGE / "store")
             for line in transactions_opened(path.read_text(encoding="utf-8"))]
    assert found == []
