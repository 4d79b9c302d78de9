"""The `speedups` extra: orjson gives exactly what the standard json gives, or the
standard json decides. Compared strictly: an int is not a float that equals it, and
-0.0 is not 0.0."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from plaid_link_async import AsyncLinkSession, RequestValidationError
from plaid_link_async import models as m
from plaid_link_async._wire import _json
from plaid_link_async.testing import FakePlaidServer

from ._helpers import json_mode, same

pytestmark = pytest.mark.skipif(not _json.SPEEDUPS, reason="needs the speedups extra")


def outcome(function: Callable[[Any], Any], value: Any) -> tuple[str, Any]:
    try:
        return "ok", function(value)
    except (ValueError, TypeError, RecursionError) as error:
        return "refused", type(error)


def agree(value: Any, fast: Callable[[Any], Any], std: Callable[[Any], Any]) -> None:
    got, want = outcome(fast, value), outcome(std, value)
    assert got[0] == want[0], (value, got, want)
    if got[0] == "refused":
        assert got[1] is want[1]
    else:
        assert same(got[1], want[1]), (value, got, want)


# Text with what tends to differ: non-ASCII, astral characters, lone surrogates, controls.
texts = st.text(
    st.characters(codec=None, exclude_categories=())
    | st.sampled_from(["\ud800", "\udfff", "\x00", "é", "😀"]),
    max_size=12,
)
numbers = (
    st.integers()  # any size: past 64 bits orjson would read a float
    | st.integers(-(2**64) - 2, 2**64 + 2)
    | st.floats()  # NaN and the infinities included
)
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def _json_text(value: Any) -> str:
    # What a server might send, NaN and big integers included (json writes both).
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


@given(values)
@example(2**64)
@example(-(2**63) - 1)
@example(18446744073709551615)
@example(1e16)
@example(-0.0)
def test_reading_any_json_value_agrees(value: Any) -> None:
    text = _json_text(value)
    try:
        data = text.encode("utf-8", "surrogatepass")
    except UnicodeEncodeError:  # pragma: no cover - surrogatepass takes them all
        return
    agree(data, _json.fast_loads, _json.std_loads)
    agree(
        text.encode("utf-8", "replace") if "\ud800" in text else data,
        _json.fast_loads,
        _json.std_loads,
    )


@given(st.lists(st.tuples(texts, values), min_size=1, max_size=5))
def test_duplicate_keys_agree(pairs: list[tuple[str, Any]]) -> None:
    pairs = pairs + pairs[:1]  # the first key again, last: the last one wins in both
    body = "{" + ",".join(f"{_json_text(key)}:{_json_text(value)}" for key, value in pairs) + "}"
    agree(body.encode("utf-8", "surrogatepass"), _json.fast_loads, _json.std_loads)


# Depths clear of Python's recursion limit: right at it, whether json fails depends on
# how deep the caller's own stack is, one frame more or less, for either path alike.
depths = st.integers(1, 600) | st.integers(4000, 5000)


@given(depths, st.sampled_from(["[", '{"a":']))
def test_deep_nesting_reads_alike(depth: int, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    agree((opening * depth + "0" + closing * depth).encode(), _json.fast_loads, _json.std_loads)


@given(st.binary(max_size=64))
@example(b"NaN")
@example(b"[Infinity]")
@example(b"-Infinity")
@example(b"1e400")
@example(b"\xef\xbb\xbf{}")  # a BOM: json reads past it, orjson does not
@example('{"é": 1}'.encode("utf-16"))
@example(b'"\\ud800"')
@example(b'{"a":1}\x00')
def test_garbage_reads_alike(data: bytes) -> None:
    agree(data, _json.fast_loads, _json.std_loads)


@given(st.text(st.sampled_from('[]{}:,"0123456789.eE+-tfnrulase \\u'), max_size=40))
def test_near_json_reads_alike(text: str) -> None:
    agree(text.encode(), _json.fast_loads, _json.std_loads)


def test_nan_and_infinity_are_refused_either_way() -> None:
    for body in (b"NaN", b"[Infinity]", b'{"a": -Infinity}'):
        for loads in (_json.fast_loads, _json.std_loads):
            with pytest.raises(ValueError, match="is not JSON"):
                loads(body)


# What the converter makes of a checked request: JSON values only (the request walk
# refuses NaN, the infinities, keys that are not strings and objects JSON has no form
# for), with what orjson refuses and json writes: integers past 64 bits, lone surrogates.
writable = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def _written(dumps: Callable[[Any], bytes]) -> Callable[[Any], Any]:
    # Compared as the JSON value Plaid would read, since json escapes non-ASCII and
    # orjson writes UTF-8; bytes that are no JSON at all would fail here.
    return lambda value: _json.std_loads(dumps(value))


@given(writable)
@example([[[[1]]]])
@example(2**64)
@example({"\ud800": "\udfff"})
def test_writing_any_value_agrees(value: Any) -> None:
    agree(value, _written(_json.fast_dumps), _written(_json.std_dumps))


@given(depths)
def test_deep_nesting_writes_alike(depth: int) -> None:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    agree(value, _written(_json.fast_dumps), _written(_json.std_dumps))


async def test_a_call_reads_the_same_either_way(speedups: bool) -> None:
    async with (
        FakePlaidServer() as fake,
        AsyncLinkSession(fake.client_id, "test-secret", base_url=fake.url) as plaid,
    ):
        created = await plaid.link_token_create(
            m.LinkTokenCreateRequest(
                client_name="Ünïcode 😀",
                language="en",
                country_codes=[m.CountryCode.US],
                user=m.LinkTokenCreateRequestUser(client_user_id="u-1"),
                products=[m.Products.AUTH],
            )
        )
        got = await plaid.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
        assert got.metadata.client_name == "Ünïcode 😀"
        assert fake.requests[0].body["client_name"] == "Ünïcode 😀"
        with pytest.raises(RequestValidationError, match="JSON cannot carry"):
            await plaid.link_token_get(
                m.LinkTokenGetRequest(link_token=created.link_token, extra={"x": math.nan})
            )


def _decoded(body: bytes, fast: bool) -> tuple[Any, Any]:
    from plaid_link_async import TransportResponse
    from plaid_link_async._calls._answers import decode

    with json_mode(fast):
        raw = TransportResponse(200, {"Content-Type": "application/json"}, body)
        return decode(raw, m.LinkTokenCreateResponse, endpoint="link_token_create")


@given(st.dictionaries(st.sampled_from(["n", "deep", "list"]), values, max_size=3), values)
@example({"n": 2**64}, None)
@example({"n": -(2**63) - 1}, [2**70])
@example({"n": 1.5}, 18446744073709551616)
def test_answers_read_alike_with_and_without_speedups(extra: dict[str, Any], odd: Any) -> None:
    # Numbers land in a model's free-form places (`extra`) and in a drifted field.
    body = {
        "link_token": "link-sandbox-1",
        "expiration": "2026-12-01T00:00:00Z",
        "request_id": "r",
        **extra,
    }
    if odd is not None:
        body["hosted_link_url"] = odd
    text = json.dumps(body, allow_nan=False, ensure_ascii=False) if _finite(body) else None
    if text is None:
        return
    data = text.encode("utf-8", "surrogatepass")
    fast, std = _read(data, True), _read(data, False)
    assert fast[0] == std[0]
    if fast[0] == "refused":
        assert fast[1] == std[1]
    else:
        (model, drift), (want, want_drift) = fast[1], std[1]
        assert model == want
        assert same(dict(model.extra), dict(want.extra))
        assert same(model.hosted_link_url, want.hosted_link_url)
        assert [str(d) for d in drift] == [str(d) for d in want_drift]


def _read(data: bytes, fast: bool) -> tuple[str, Any]:
    from plaid_link_async import PlaidLinkError

    try:
        return "ok", _decoded(data, fast)
    except PlaidLinkError as error:
        return "refused", str(error)


def _finite(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True
