"""Issue 7, item 5: `verify.expr` escaping holds in every PromQL context: a label
value is data in "..." and '...' strings, in regex matchers, in raw strings,
and is refused where it could only be code."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.rules.promql import render_promql
from remediator.rules.templating import Template, TemplateError
from tests.unit.promql_strings import lex_string

values = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                 max_size=40)


def placed(template: str, value: str) -> tuple[str, str]:
    """Render; return (the string literal's value, what follows the literal)."""
    expr = render_promql(Template(template), {"v": value}, {})
    prefix = template.split("{{")[0]
    assert expr.startswith(prefix)
    literal, end = lex_string(expr, len(prefix) - 1)
    return literal, expr[end:]


@pytest.mark.parametrize("quote", ['"', "'"])
@given(value=values)
def test_a_value_in_a_string_stays_that_string(quote: str, value: str) -> None:
    literal, rest = placed(f"up{{pod={quote}{{{{ labels.v }}}}{quote}}} == 0", value)
    assert (literal, rest) == (value, "} == 0")


@pytest.mark.parametrize("operator", ["=~", "!~"])
@pytest.mark.parametrize("quote", ['"', "'"])
@given(value=values)
def test_a_value_in_a_regex_matcher_matches_only_itself(operator: str, quote: str,
                                                        value: str) -> None:
    literal, rest = placed(f"up{{pod{operator}{quote}{{{{ labels.v }}}}{quote}}}", value)
    assert rest == "}"
    pattern = re.compile(f"(?:{literal})", re.DOTALL)  # anchored, as Prometheus does
    assert pattern.fullmatch(value)
    assert not pattern.fullmatch(value + "x")
    assert not pattern.fullmatch("") or value == ""


@given(value=values)
def test_a_regex_matcher_after_spaces_is_still_a_regex(value: str) -> None:
    literal, _ = placed('up{pod =~  "{{ labels.v }}"}', value)
    assert re.fullmatch(literal, value, re.DOTALL)


@given(value=values)
def test_a_raw_string_takes_a_value_only_when_it_cannot_end_it(value: str) -> None:
    template = Template("up{pod=`{{ labels.v }}`}")
    if "`" in value:
        with pytest.raises(TemplateError):
            render_promql(template, {"v": value}, {})
        return
    assert placed("up{pod=`{{ labels.v }}`}", value) == (value, "}")


@pytest.mark.parametrize(("value", "ok"), [
    ("0.5", True), ("10", True), ("-1e3", True),
    ("1 or vector(1)", False), ("up", False), ("", False), ("1)", False),
])
def test_outside_a_string_only_a_number_is_accepted(value: str, ok: bool) -> None:
    template = Template("rate(errors[5m]) > {{ labels.v }}")
    if ok:
        assert render_promql(template, {"v": value}, {}) == f"rate(errors[5m]) > {value}"
    else:
        with pytest.raises(TemplateError):
            render_promql(template, {"v": value}, {})


def test_several_placeholders_each_get_their_context() -> None:
    expr = render_promql(
        Template('up{a="{{ labels.v }}", b=~"{{ labels.v }}", c=\'x\'} > {{ labels.n }}'),
        {"v": 'a.b"', "n": "3"}, {})
    assert expr == 'up{a="a.b\\"", b=~"a\\\\.b\\"", c=\'x\'} > 3'


def test_statements_are_refused() -> None:
    with pytest.raises(TemplateError):
        render_promql(Template('up{a="{% if true %}x{% endif %}"}'), {}, {})
