"""Every generated file, by its path under docs/, and writing or checking them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from remediator.docs.metrics import metrics_page
from remediator.docs.outcomes import outcomes_page
from remediator.docs.rules import rules_page
from remediator.docs.settings import settings_page
from remediator.rules.schema import rule_file_schema


def schema_text() -> str:
    return json.dumps(rule_file_schema(), indent=2, sort_keys=False) + "\n"


PAGES: dict[str, Callable[[], str]] = {
    "rules.schema.json": schema_text,
    "reference/rules.md": lambda: rules_page(rule_file_schema()),
    "reference/settings.md": settings_page,
    "reference/metrics.md": metrics_page,
    "reference/outcomes.md": outcomes_page,
}


def render() -> dict[str, str]:
    return {path: make() for path, make in PAGES.items()}


def write(docs: Path) -> list[str]:
    """Write every page under `docs`; return the ones that changed."""
    changed = []
    for path, text in render().items():
        target = docs / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale(docs: Path) -> list[str]:
    """The pages under `docs` that differ from what the code generates now."""
    return [path for path, text in render().items()
            if not (docs / path).is_file()
            or (docs / path).read_text(encoding="utf-8") != text]
