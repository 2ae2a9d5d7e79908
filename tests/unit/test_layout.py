"""Small modules and short functions, kept so by a test rather than by memory.

A module over 400 lines or a function over 50 lines (from its `def` line to its
last line, docstring included, decorators not) usually holds two concepts;
split it where they part. Alembic migrations are generated history and are
left as they were written.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "remediator"
EXEMPT = (PACKAGE / "store" / "migrations",)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def modules(root: Path = PACKAGE) -> list[Path]:
    """Every Python module of the package, migrations excepted."""
    return sorted(path for path in root.rglob("*.py")
                  if not any(path.is_relative_to(exempt) for exempt in EXEMPT))


def _parse(source: str, path: Path) -> ast.AST:
    """`ast.parse`, once more if CPython 3.11.7's AST recursion-depth bookkeeping races
    another thread converting an AST in this process (SystemError "AST constructor
    recursion depth mismatch", seen once under xdist): not a property of the file."""
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        return ast.parse(source, filename=str(path))


def offenders(path: Path, *, relative_to: Path = PACKAGE.parent) -> list[str]:
    """`path:line name (N lines)` for the module and each function over its limit."""
    source = path.read_text(encoding="utf-8")
    name = path.relative_to(relative_to).as_posix()
    found: list[str] = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{name}: module ({lines} lines > {MAX_MODULE_LINES})")
    for node in ast.walk(_parse(source, path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name} "
                             f"({length} lines > {MAX_FUNCTION_LINES})")
    return found


def test_no_module_or_function_is_over_its_limit() -> None:
    found = [offender for path in modules() for offender in offenders(path)]
    assert not found, "split where the concept splits:\n" + "\n".join(found)


def test_the_package_is_found_and_migrations_are_left_out() -> None:
    found = modules()
    assert PACKAGE / "decide" / "engine.py" in found
    assert not any("migrations" in path.parts for path in found)


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param(1, [], id="short"),
    pytest.param(MAX_FUNCTION_LINES - 1, [], id="at the limit"),
    pytest.param(MAX_FUNCTION_LINES, ["f"], id="one over"),
])
def test_a_function_is_measured_from_def_to_its_last_line(
        tmp_path: Path, body: int, expected: list[str]) -> None:
    module = tmp_path / "m.py"
    module.write_text("@decorator\ndef f():\n" + "    pass\n" * body, encoding="utf-8")
    found = offenders(module, relative_to=tmp_path)
    assert [entry.split()[1] for entry in found] == expected


def test_nested_and_async_functions_and_long_modules_count(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    inner = "        pass\n" * MAX_FUNCTION_LINES
    module.write_text("class C:\n    async def g(self):\n" + inner
                      + "x = 1\n" * MAX_MODULE_LINES, encoding="utf-8")
    found = offenders(module, relative_to=tmp_path)
    assert [entry.split()[0] for entry in found] == ["m.py:", "m.py:2"]
    assert "module (" in found[0] and " g (" in found[1]
