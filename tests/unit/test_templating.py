"""Rule templates see labels and annotations as data, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.rules.templating import Template, TemplateError


@pytest.mark.parametrize(("source", "expected"), [
    pytest.param("{{ labels.pod }}", "web-1", id="label"),
    pytest.param("{{ labels['pod'] }}", "web-1", id="item-syntax"),
    pytest.param("{{ annotations.team }}", "sre", id="annotation"),
    pytest.param("{{ labels.pod | upper }}", "WEB-1", id="filter"),
    pytest.param("{{ labels.nope | default('x') }}", "x", id="default-filter"),
    pytest.param("pod-{{ labels.pod }}", "pod-web-1", id="mixed"),
    pytest.param("plain", "plain", id="literal"),
])
def test_renders(source: str, expected: str) -> None:
    assert Template(source).render({"pod": "web-1"}, {"team": "sre"}) == expected


@pytest.mark.parametrize("source", [
    pytest.param("{{ labels.missing }}", id="missing-label-is-an-error"),
    pytest.param("{{ labels.__class__ }}", id="dunder-attribute"),
    pytest.param("{{ labels.items() }}", id="method-call"),
    pytest.param("{{ ''.__class__.__mro__ }}", id="string-attribute"),
    pytest.param("{{ lipsum() }}", id="global-function"),
    pytest.param("{{ range(3) }}", id="builtin-range"),
    pytest.param("{{ labels.pod | attr('upper') }}", id="unsafe-filter"),
    pytest.param("{{ config }}", id="no-globals"),
])
def test_refuses_anything_but_data(source: str) -> None:
    with pytest.raises(TemplateError):
        Template(source).render({"pod": "web-1"}, {})


def test_syntax_errors_are_reported_at_load() -> None:
    with pytest.raises(TemplateError, match="template"):
        Template("{{ labels.pod ")


@given(value=st.text(max_size=200))
def test_label_values_are_data_never_template_code(value: str) -> None:
    # Whatever a workload puts in a label, it comes out verbatim, unevaluated.
    assert Template("{{ labels.x }}").render({"x": value}, {}) == value


@given(labels=st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
                              st.text(max_size=20), max_size=5))
def test_render_is_deterministic_concatenation(labels: dict[str, str]) -> None:
    source = "-".join("{{ labels.%s }}" % name for name in labels)  # noqa: UP031
    assert Template(source).render(labels, {}) == "-".join(labels.values())
