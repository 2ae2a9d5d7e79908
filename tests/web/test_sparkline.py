"""The detail page's SVG renderer (issue 25): any series, any labels -> valid SVG.

Parsed back with xml.etree: NaN, infinities, empty series, one point and values
at the float limits all give a document; markers stay inside the plot area;
labels cannot inject markup; no style attribute, no script, no link (CSP).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.web.sparkline import (
    BOTTOM,
    HEIGHT,
    LEFT,
    MAX_SERIES,
    RIGHT,
    TOP,
    WIDTH,
    Line,
    Marker,
    render,
)

SVG = "{http://www.w3.org/2000/svg}"
START, END = 1_800_000_000.0, 1_800_003_600.0

values = st.floats(allow_nan=True, allow_infinity=True)
times = st.floats(min_value=START - 600, max_value=END + 600)
lines = st.builds(Line, label=st.text(max_size=200),
                  points=st.lists(st.tuples(times, values), max_size=40).map(tuple))
markers = st.builds(Marker, at=st.floats(allow_nan=True, allow_infinity=True) | times,
                    label=st.text(max_size=100),
                    kind=st.sampled_from(["action", "verified", "unverified", "resolved", "?"]))


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in ("script", "a", "foreignObject", "image")
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
    return root


def coordinates(d: str) -> list[tuple[float, float]]:
    pairs = [p for p in d.replace("M", " ").replace("L", " ").split() if "," in p]
    return [(float(x), float(y)) for x, y in (p.split(",") for p in pairs)]


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, max_size=8), st.lists(markers, max_size=10))
def test_any_series_and_markers_give_valid_svg_inside_the_plot(
        series: list[Line], marks: list[Marker]) -> None:
    root = parse(render(series, marks, start=START, end=END, title="rate(x[5m]) > 0"))

    paths = root.findall(f"{SVG}path")
    assert len({p.get("stroke") for p in paths}) <= MAX_SERIES
    for path in paths:
        for x, y in coordinates(path.get("d", "")):
            assert LEFT <= x <= WIDTH - RIGHT and TOP <= y <= HEIGHT - BOTTOM
    drawn = [m for m in root.iter(f"{SVG}line") if m.get("class") == "marker"]
    assert len(drawn) == sum(1 for m in marks[:8] if math.isfinite(m.at) and START <= m.at <= END)
    for line in drawn:
        assert LEFT <= float(line.get("x1", "nan")) <= WIDTH - RIGHT


@pytest.mark.parametrize("points", [
    pytest.param((), id="empty"),
    pytest.param(((START + 5, 1.0),), id="one-point"),
    pytest.param(((START, math.nan), (END, math.inf)), id="no-finite-value"),
    pytest.param(((START, -1.7e308), (END, 1.7e308)), id="float-limits"),
    pytest.param(((START, 5e-324), (END, 1e-323)), id="subnormal"),
    pytest.param(((START, 3.0), (START + 60, 3.0)), id="flat"),
])
def test_edge_series_render(points: tuple[tuple[float, float], ...]) -> None:
    root = parse(render([Line("{}", points)], [Marker(START + 1800, "succeeded")],
                        start=START, end=END))
    assert len([m for m in root.iter(f"{SVG}line") if m.get("class") == "marker"]) == 1


def test_no_data_is_said() -> None:
    root = parse(render([], [], start=START, end=END))
    assert "no data" in [t.text for t in root.iter(f"{SVG}text")]


def test_labels_are_text_not_markup() -> None:
    label = '{pod="</text><script>alert(1)</script>\x00\ud800"}'
    svg = render([Line(label, ((START, 1.0), (END, 2.0)))], [Marker(START, label)],
                 start=START, end=END, title=label)
    root = parse(svg)
    assert "<script>" not in svg
    assert any("<script>" in (t.text or "") for t in root.iter(f"{SVG}text"))


def test_only_the_highest_series_are_drawn_and_the_rest_are_counted() -> None:
    series = [Line(f"s{i}", ((START, float(i)), (END, float(i)))) for i in range(9)]
    root = parse(render(series, [], start=START, end=END))
    legend = [t.text for t in root.iter(f"{SVG}text")]
    assert {"s8", "s7", "s6", "s5", "s4"} <= set(legend) and "s0" not in legend
    assert f"{MAX_SERIES} of 9 series shown (highest)" in legend


def test_a_marker_outside_the_window_is_listed_not_drawn() -> None:
    root = parse(render([], [Marker(END + 10, "resolved", "resolved")], start=START, end=END))
    assert not [m for m in root.iter(f"{SVG}line") if m.get("class") == "marker"]
    assert "resolved (outside the graph)" in [t.text for t in root.iter(f"{SVG}text")]


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError, match="empty time range"):
        render([], [], start=END, end=START)
