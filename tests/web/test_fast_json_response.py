"""FastJSONResponse writes what Starlette's JSONResponse writes, faster."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from remediator.web.responses import FastJSONResponse

text = st.text(st.characters(exclude_categories=()))  # lone surrogates (Cs) included
integers = st.integers(-(2**63), 2**64 - 1)
exact = st.recursive(st.none() | st.booleans() | integers | text,
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(text, inner, max_size=4), max_leaves=20)


def _starlette(content: Any) -> bytes | type[Exception]:
    try:
        return JSONResponse(content).body
    except (ValueError, UnicodeEncodeError) as error:
        return type(error)


def _fast(content: Any) -> bytes | type[Exception]:
    try:
        return FastJSONResponse(content).body
    except (ValueError, UnicodeEncodeError) as error:
        return type(error)


@given(exact)
def test_the_same_bytes_for_strings_integers_booleans_null_lists_and_maps(value: Any) -> None:
    assert _fast(value) == _starlette(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_equal(value: float) -> None:
    assert json.loads(FastJSONResponse({"duration_ms": value}).body) == {"duration_ms": value}


def test_what_orjson_refuses_is_left_to_starlette() -> None:
    big = {"n": 2**70}
    assert FastJSONResponse(big).body == JSONResponse(big).body == b'{"n":1180591620717411303424}'
