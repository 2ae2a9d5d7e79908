"""Bad rule files are reported with file, line and field; good ones load frozen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from remediator.rules.model import RuleLoadError, load_rules

GOOD = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
"""


def _errors(tmp_path: Path, text: str) -> list[tuple[int | None, str, str]]:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path])
    assert all(e.file == str(path) for e in caught.value.errors)
    return [(e.line, e.field, e.message) for e in caught.value.errors]


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    pytest.param(GOOD.replace("    action: {type: kubernetes.delete_pod, ",
                              "    action: {type: kubernetes.delete_pod, bogus: 1, "),
                 4, "rules[0].action.bogus", "Extra inputs", id="unknown-field"),
    pytest.param(GOOD.replace('name: "{{ labels.pod }}"', 'nam: "{{ labels.pod }}"'),
                 4, "rules[0].action.name", "Field required", id="missing-field"),
    pytest.param(GOOD.replace("KubePodCrashLooping\"'", "KubePod\"' , 'x=~\"(\"'"),
                 3, "rules[0].matchers[1]", "invalid regex", id="bad-matcher"),
    pytest.param(GOOD + "    limits: {cooldown: 10x}\n", 5, "rules[0].limits.cooldown",
                 "invalid duration", id="bad-duration"),
    pytest.param(GOOD + "    limits: {cooldown: 99999999999999999h}\n", 5,
                 "rules[0].limits.cooldown", "too long", id="huge-duration"),
    pytest.param(GOOD.replace("kubernetes.delete_pod", "kubernetes.nuke"), 4,
                 "rules[0].action", "does not match any of the expected tags", id="bad-type"),
    pytest.param(GOOD.replace("{{ labels.pod }}", "{{ labels.pod "), 4,
                 "rules[0].action.name", "template", id="bad-template"),
    pytest.param(GOOD.replace("restart-pod", "Restart Pod"), 2, "rules[0].name",
                 "should match pattern", id="bad-name"),
    pytest.param(GOOD + GOOD.replace("rules:\n", ""), 5, "rules[1].name", "duplicate rule name",
                 id="duplicate-name"),
    pytest.param("rules:\n  - name: [unclosed\n", 3, "", "invalid YAML", id="yaml-syntax"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str,
                                         message: str) -> None:
    errors = _errors(tmp_path, text)
    assert any(e_line == line and e_field == field and message in e_message
               for e_line, e_field, e_message in errors), errors


def test_reports_every_error_not_just_the_first(tmp_path: Path) -> None:
    text = GOOD.replace("kubernetes.delete_pod", "kubernetes.nuke") + (
        "  - name: other\n    matchers: []\n    action: {type: kubernetes.delete_pod}\n")
    assert len(_errors(tmp_path, text)) >= 3


def test_loads_directories_but_not_test_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "a.test.yml").write_text("not: rules")
    loaded = load_rules([tmp_path])
    assert [r.name for r in loaded.rules] == ["restart-pod"]
    assert loaded.digest


def test_rules_are_immutable(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD)
    rule = load_rules([tmp_path]).rules[0]
    with pytest.raises(ValidationError):
        rule.name = "other"  # type: ignore[misc]


def test_shipped_rules_load() -> None:
    rules_dir = Path(__file__).resolve().parents[2] / "rules"
    assert len(load_rules([rules_dir]).rules) >= 4
