"""docs/reference and docs/rules.schema.json are the code's own, and stay so.

The pages are regenerated from the models and compared with the repository's
copies (run `scripts/docs` after changing a rule field, a setting, a metric or
an outcome); the published schema must accept every shipped rule file and
refuse what `rules check` refuses, so an editor's red squiggle means the same
as the service's refusal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from remediator.app.settings import Settings
from remediator.cli import app
from remediator.docs.__main__ import main
from remediator.docs.metrics import service_registry
from remediator.docs.outcomes import MEANINGS
from remediator.docs.pages import PAGES
from remediator.model.outcomes import Outcome
from remediator.rules.model import RuleLoadError, load_rules

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMA = json.loads((DOCS / "rules.schema.json").read_text(encoding="utf-8"))
RULE_FILES = sorted(p for p in (ROOT / "rules").glob("*.yml") if not p.name.endswith(".test.yml"))
GOOD = {"name": "r", "matchers": ['alertname="A"'],
        "action": {"type": "kubernetes.delete_pod", "namespace": "apps",
                   "name": "{{ labels.pod }}"}}


def test_the_generated_pages_in_the_repository_are_up_to_date(tmp_path: Path) -> None:
    assert main([str(tmp_path)]) == 0
    for page in PAGES:
        fresh = (tmp_path / page).read_text(encoding="utf-8")
        assert (DOCS / page).read_text(encoding="utf-8") == fresh, (
            f"docs/{page} is out of date: run scripts/docs")


def test_check_names_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([str(tmp_path)])
    (tmp_path / "reference" / "settings.md").write_text("old\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1
    assert "reference/settings.md is out of date" in capsys.readouterr().err
    main([str(tmp_path)])
    assert main(["--check", str(tmp_path)]) == 0


def test_the_published_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_every_shipped_rule_file_validates_against_the_published_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), SCHEMA)


@pytest.mark.parametrize("change", [
    pytest.param({"cooldwn": "5m"}, id="typo-in-a-rule-key"),
    pytest.param({"limits": {"cooldown": "10 minutes"}}, id="not-a-duration"),
    pytest.param({"limits": {"max": 0}}, id="max-below-1"),
    pytest.param({"when": {"hints": ["recent_rolout"]}}, id="unknown-hint"),
    pytest.param({"matchers": ["not a matcher"]}, id="bad-matcher"),
    pytest.param({"matchers": []}, id="no-matchers"),
    pytest.param({"name": "Has Spaces"}, id="bad-name"),
    pytest.param({"action": {"type": "kubernetes.reboot", "namespace": "a", "name": "b"}},
                 id="unknown-action-type"),
    pytest.param({"action": {"type": "kubernetes.scale", "namespace": "a", "name": "b"}},
                 id="scale-without-max"),
    pytest.param({"only_if": {"expr": "up", "on_error": "retry"}}, id="bad-on-error"),
])
def test_the_schema_refuses_what_rules_check_refuses(tmp_path: Path,
                                                    change: dict[str, Any]) -> None:
    document = {"rules": [{**GOOD, **change}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(RuleLoadError):
        load_rules([path])


def test_a_good_rule_passes_both(tmp_path: Path) -> None:
    document = {"rules": [{**GOOD, "limits": {"cooldown": "1h30m", "max": 2, "per": 3600}}]}
    jsonschema.validate(document, SCHEMA)
    path = tmp_path / "good.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert load_rules([path]).rules[0].limits.per.total_seconds() == 3600


def test_rules_schema_prints_the_published_schema() -> None:
    result = CliRunner().invoke(app, ["rules", "schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == SCHEMA


def test_every_outcome_has_a_meaning() -> None:
    missing = [o.value for o in Outcome if not MEANINGS.get(o.value)]
    assert not missing, f"say what these mean in remediator/docs/outcomes.py: {missing}"
    assert set(MEANINGS) <= {o.value for o in Outcome}


def test_every_setting_flag_and_variable_is_in_the_reference() -> None:
    page = (DOCS / "reference" / "settings.md").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        assert f"`REMEDIATOR_{name.upper()}`" in page
        assert f"--{name.replace('_', '-')}" in page
        assert field.description, f"setting {name} has no description"


def test_every_exported_metric_is_in_the_reference() -> None:
    page = (DOCS / "reference" / "metrics.md").read_text(encoding="utf-8")
    names = {metric.name for metric in service_registry().collect()}
    assert names
    for name in names:
        assert f"`{name}" in page, name


def test_every_rule_field_has_a_description() -> None:
    bare = [f"{name}.{field}" for name, definition in SCHEMA["$defs"].items()
            for field, prop in definition.get("properties", {}).items()
            if field != "type" and not prop.get("description")]
    assert not bare, f"add Field(description=...) to: {bare}"
