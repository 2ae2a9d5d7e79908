"""How JSON columns are written: orjson, with the standard library behind it.

Labels, audit details and job payloads are serialised several times per alert on
the webhook's hot path, and the standard library's encoder was ~8 % of the
service's time in a storm; orjson does the same work several times faster. The
stored text differs only in spacing and in not escaping non-ASCII characters,
which every JSON reader (SQLite, PostgreSQL, the standard library) reads back
to the same value.

What orjson refuses, the standard library still writes, as before: strings with
lone surrogates (a label value may be any JSON string), integers beyond 64 bits.
So no value the service could store before is refused now, with one deliberate
difference: NaN and infinities, which are not JSON, are written as `null`
(PostgreSQL's JSON type refused the standard library's `NaN` outright). The
audit chain does not hash this text (`chain.canonical` has its own, fixed
form), so changing it changes no hash.

Reading stays with the standard library: orjson reads an integer beyond 64
bits as a float, silently, and reads are not where the storm's time goes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps does


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: surrogates, big integers, unknown types
        return json.dumps(value)

