"""`when`, `only_if`, `unless` in rule files: frozen, extra=forbid, errors at file:line:field."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.rules.model import RuleLoadError, load_rules

BASE = """\
rules:
  - name: roll-back
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.rollout_undo, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}", max_age: 30m}
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "r.yml"
    path.write_text(text)
    return load_rules([path]).rules[0]


def errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "r.yml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path])
    return [str(e).removeprefix(str(path)) for e in caught.value.errors]


def test_new_keys_load(tmp_path: Path) -> None:
    rule = load(tmp_path, BASE + """\
    when: {hints: [recent_rollout]}
    only_if: {expr: 'up{namespace="{{ labels.namespace }}"} == 1', on_error: act}
    unless: {expr: 'vector(1)', hints: [node_not_ready, image_pull]}
""")
    assert rule.when.hints == ["recent_rollout"]  # type: ignore[attr-defined]
    assert rule.only_if.on_error == "act"  # type: ignore[attr-defined]
    assert rule.unless.on_error == "skip"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("extra", "expected"), [
    pytest.param("    when: {hints: [recent_rolout]}\n",
                 ":5: rules[0].when.hints[0]: Input should be 'recent_rollout'",
                 id="unknown-hint"),
    pytest.param("    when: {hints: []}\n", ":5: rules[0].when.hints: List should have at least 1",
                 id="empty-when"),
    pytest.param("    unless: {}\n", ":5: rules[0].unless: unless needs `expr` or `hints`",
                 id="empty-unless"),
    pytest.param("    only_if: {expr: up, on_error: retry}\n",
                 ":5: rules[0].only_if.on_error: Input should be 'skip' or 'act'",
                 id="bad-on-error"),
    pytest.param("    only_if: {exp: up}\n", ":5: rules[0].only_if.exp: Extra inputs",
                 id="typo"),
    pytest.param("    unless:\n      hints: [oom_killed]\n      hint: [x]\n",
                 ":7: rules[0].unless.hint: Extra inputs", id="extra-in-unless"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, extra: str, expected: str) -> None:
    messages = errors(tmp_path, BASE + extra)
    assert any(m.startswith(expected) for m in messages), messages


def test_rollout_undo_spec(tmp_path: Path) -> None:
    rule = load(tmp_path, BASE)
    request = rule.action.render(  # type: ignore[attr-defined]
        {"namespace": "apps-a", "deployment": "web"}, {})
    assert request.type == "kubernetes.rollout_undo"
    assert request.target == "deployment/apps-a/web"
    assert request.params == {"max_age": 1800.0}
    [message] = errors(tmp_path, BASE.replace("max_age: 30m", "kind: statefulset"))
    assert message.startswith(":4: rules[0].action.kind: Input should be 'deployment'")
