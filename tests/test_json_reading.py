"""The standard json's path (no `speedups`) reads as `json.loads` does: the same value,
or the same error with the same message; NaN and Infinity refused, and nesting past
`MAX_DEPTH` refused with `JSONTooDeep` (json's own limit moves with the caller's stack)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from plaid_link_async._wire import _json
from plaid_link_async._wire._nesting import nesting_within

from ._helpers import same


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reference(data: bytes) -> Any:
    try:
        value = json.loads(data, parse_constant=_refuse)
    except RecursionError:
        raise _json.JSONTooDeep from None
    if not nesting_within(value, _json.MAX_DEPTH):
        raise _json.JSONTooDeep
    return value


def outcome(loads: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", loads(data)
    except (ValueError, RecursionError) as error:
        return "refused", (type(error), str(error))


objects = st.dictionaries(
    st.text(max_size=6),
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    max_size=4,
).map(lambda value: json.dumps(value, ensure_ascii=False, allow_nan=True))
# What may follow an object: JSON's whitespace, other whitespace, more data.
tails = st.text(st.sampled_from(" \t\n\r\x0c\x0b\xa0\u2028x}{0\x00"), max_size=4)


@given(objects, tails)
@example('{"a": 1}', "")
@example('{"a": 1}', "\n")
@example('{"a": 1}', "\x0c")
@example('{"a": NaN}', "")
@example('{"\ud800": 1}', "")
def test_an_object_reads_as_json_loads_reads_it(text: str, tail: str) -> None:
    data = (text + tail).encode("utf-8", "surrogatepass")
    got, want = outcome(_json.std_loads, data), outcome(reference, data)
    assert got[0] == want[0], (data, got, want)
    assert same(got[1], want[1]) if got[0] == "ok" else got[1] == want[1], (data, got, want)


@given(st.binary(max_size=24).map(lambda tail: b"{" + tail))
@example(b"{\x00\x00\x00")
@example(b'{"a":1}\x00')
@example(b'{"a":' * 3000 + b"0" + b"}" * 3000)
@example(b'{"a":' * 512 + b"0" + b"}" * 512)
@example(b'{"a":' * 511 + b"0" + b"}" * 511)
def test_bytes_opening_like_an_object_read_alike(data: bytes) -> None:
    got, want = outcome(_json.std_loads, data), outcome(reference, data)
    assert got[0] == want[0], (data, got, want)
    assert same(got[1], want[1]) if got[0] == "ok" else got[1] == want[1], (data, got, want)
