"""The JSON the store writes: orjson on the hot path, never a different value or hash.

Two encoders are in play (see `store.jsoncodec` and `store.chain.canonical`):
orjson where it writes the same thing faster, the standard library for what
orjson refuses. These properties hold the fast path to the old one's results:
a JSON column reads back the value written, and an audit entry's hashed bytes are exactly the standard encoder's,
so every hash stored before this change still verifies.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.store.audit.seal import HASHED, canonical, standard_canonical
from remediator.store.types import json_dumps

text = st.text()  # includes lone surrogates, control characters, astral planes
scalars = (st.none() | st.booleans() | st.integers() | text
           | st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(text, inner, max_size=4), max_leaves=20)


@given(values)
@settings(max_examples=400)
def test_a_json_column_reads_back_the_value_written(value: Any) -> None:
    assert json.loads(json_dumps(value)) == value


@given(st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_integers_beyond_64_bits_are_written_exactly(value: int) -> None:
    assert json.loads(json_dumps({"v": [value]})) == {"v": [value]}


@given(st.dictionaries(st.integers(), text, max_size=4))
def test_integer_keys_become_strings_as_the_standard_library_writes_them(value: Any) -> None:
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


def test_non_finite_floats_are_written_as_json_null() -> None:
    assert json.loads(json_dumps({"v": math.inf, "w": math.nan})) == {
        "v": None, "w": None}


def entries() -> st.SearchStrategy[dict[str, Any]]:
    labels = st.dictionaries(text, text, max_size=6)
    detail = (st.dictionaries(text, values, max_size=3) | st.just({})
              | st.dictionaries(text, text, max_size=3)  # a plain map: the fast path
              | st.dictionaries(st.integers(), text, min_size=1, max_size=3))  # "1": orjson refuses
    return st.fixed_dictionaries({
        "ts": st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
        "outcome": text, "remediation_id": st.none() | text, "rule": text,
        "step": st.integers(min_value=0, max_value=2**70), "alertname": text,
        "fingerprint": text, "namespace": text, "action": text, "target": text,
        "reason": text, "duration_ms": st.none() | st.floats(allow_nan=False),
        "runbook_url": text, "group_key": text, "labels": labels, "detail": detail})


@given(entries())
@settings(max_examples=500)
def test_an_entry_hashes_exactly_the_standard_encoders_bytes(row: dict[str, Any]) -> None:
    content = {name: row[name] for name in HASHED}
    content["ts"] = row["ts"].isoformat(timespec="microseconds")
    assert canonical(row) == standard_canonical(content)


def test_a_decisions_entry_is_hashed_on_the_fast_path_with_the_same_bytes() -> None:
    row = {name: "" for name in HASHED}
    row.update(ts=datetime(2026, 12, 2, tzinfo=UTC) + timedelta(microseconds=7), step=0,
               remediation_id=None, duration_ms=None, detail={},
               labels={"alertname": "KubePodCrashLooping", "pod": "api-0 \u00e9\u2028\x01"})
    expected = (b'{"action":"","alertname":"","detail":{},"duration_ms":null,'
                b'"fingerprint":"","group_key":"","labels":{"alertname":'
                b'"KubePodCrashLooping","pod":"api-0 \xc3\xa9\xe2\x80\xa8\\u0001"},'
                b'"namespace":"","outcome":"","reason":"","remediation_id":null,"rule":"",'
                b'"runbook_url":"","step":0,"target":"","ts":"2026-12-02T00:00:00.000007+00:00"}')
    assert canonical(row) == expected
