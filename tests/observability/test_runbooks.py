"""runbooks/: one per alert, the sections on-call expects, commands to paste."""

from __future__ import annotations

import re

import pytest

from tests.observability.catalog import ALERT_NAMES, REMEDIATIONS, RUNBOOKS_DIR

SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Automatic remediation"]


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body.strip() for title, body in zip(parts[1::2], parts[2::2],
                                                               strict=True)}


def test_every_alert_has_a_runbook_and_every_runbook_an_alert() -> None:
    runbooks = {path.stem for path in RUNBOOKS_DIR.glob("*.md")}
    assert runbooks - ALERT_NAMES == set(), "runbooks without an alert"
    assert ALERT_NAMES - runbooks == set(), "alerts without a runbook"


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_runbook_has_title_and_sections_in_order(name: str) -> None:
    text = (RUNBOOKS_DIR / f"{name}.md").read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# {name}"
    sections = _sections(text)
    assert list(sections) == SECTIONS
    assert all(sections.values()), "an empty section"


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_runbook_diagnosis_has_commands_to_paste(name: str) -> None:
    diagnosis = _sections((RUNBOOKS_DIR / f"{name}.md").read_text(encoding="utf-8"))["Diagnosis"]
    assert "```sh" in diagnosis


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_runbook_says_what_the_service_does_and_where_to_see_it(name: str) -> None:
    text = (RUNBOOKS_DIR / f"{name}.md").read_text(encoding="utf-8")
    automatic = _sections(text)["Automatic remediation"]
    rule = REMEDIATIONS.get(name)
    if rule is None:
        assert automatic.startswith("None"), "say `None` and why"
    else:
        assert f"`{rule}`" in automatic
        assert "cooldown" in automatic and "rate limit" in automatic
        assert "breaker" in automatic and "dry-run" in automatic
    assert "remediator audit" in automatic or "/api/v1/audit" in automatic
