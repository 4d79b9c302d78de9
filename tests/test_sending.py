"""The one-pass request writer against the careful path it stands in for.

Whatever `plain_request` writes, the careful path (check, warn, `to_dict`, the standard
encoder) writes the same; whatever it hands back, the careful path decides, so that a
request is sent, warned about or refused exactly as before, with or without orjson."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plaid_link_async import RequestValidationError, _json
from plaid_link_async import models as m
from plaid_link_async._converter import to_dict
from plaid_link_async._request_body import encode_carefully, encode_request
from plaid_link_async._sending import plain_request
from plaid_link_async._setup import Route, routes
from plaid_link_async._types import plan_model
from plaid_link_async._validation import _check_model, check_for_sending, validate

from ._helpers import CREATE, examples, json_mode, same
from .strategies import for_plan, json_values, model_strategy

ROUTES = routes("http://127.0.0.1:9")
CREATE_ROUTE = ROUTES["link_token_create"]


class Shade(str):
    """A string subclass: a value the writer must not take for a plain string."""


class Other(str, enum.Enum):
    AUTH = "auth"


# What a caller may put in any field by mistake, or on purpose.
garbage = st.one_of(
    json_values,
    st.floats(),  # NaN and the infinities
    st.integers(-(2**70), 2**70),
    st.tuples(st.text(max_size=3)),
    st.builds(Shade, st.text(max_size=5)),
    st.just(Other.AUTH),
    st.just(m.CountryCode.US),
    st.just(datetime.datetime(2026, 12, 1, 12, 0)),  # naive
    st.just(datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)),
    st.just(datetime.date(2026, 12, 1)),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=2),
    st.builds(m.LinkTokenCreateRequestUser, client_user_id=st.text(max_size=4)),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[Route, Any]:
    """A valid request to some operation, often wholly plain, often with one field set
    to anything."""
    route = draw(st.sampled_from(sorted(ROUTES.values(), key=lambda route: route.name)))
    request = draw(model_strategy(route.request, plain=draw(st.booleans())))
    if draw(st.booleans()):
        field = draw(st.sampled_from(plan_model(route.request)))
        # Anything, or a valid value of the field that is not plain (a newer enum string).
        near = for_plan(field.type, field.metadata)
        value = draw(near if draw(st.booleans()) else garbage)
        request = attrs.evolve(request, **{field.name: value})
    return route, request


def outcome(route: Route, request: Any, encode: Any) -> tuple[str, Any]:
    try:
        return "sent", json.loads(encode(route, request))
    except RequestValidationError as error:
        return "refused", str(error)


@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=requests())
def test_the_writer_agrees_with_the_careful_path(speedups: bool, case: tuple[Route, Any]) -> None:
    route, request = case
    written = plain_request(request)
    if written is not None:
        # Only a valid request with nothing to warn about is written in one pass...
        assert check_for_sending(request) == []
        # ...and exactly as the careful path writes it, types and order included.
        assert same(written, to_dict(request))
        assert same(json.loads(_json.dumps_plain(written)), json.loads(_json.std_dumps(written)))
    got = outcome(route, request, encode_request)
    want = outcome(route, request, encode_carefully)
    assert got[0] == want[0]
    if got[0] == "sent":
        assert same(got[1], want[1])
    else:
        assert got[1] == want[1]


@settings(max_examples=examples(300))
@given(case=requests(), strict=st.booleans())
def test_validate_names_what_the_walk_names(case: tuple[Route, Any], strict: bool) -> None:
    # `validate` takes its compiled yes/no check's word, and walks only what it refuses.
    _, request = case
    errors = list(_check_model(request, "", not strict))
    if errors:
        with pytest.raises(RequestValidationError) as refused:
            validate(request, strict=strict)
        assert refused.value.errors == tuple(errors)
    else:
        validate(request, strict=strict)


def test_the_common_request_is_written_in_one_pass() -> None:
    assert same(plain_request(CREATE), to_dict(CREATE))


@pytest.mark.parametrize(
    "change",
    [
        {"extra": {"beta": True}},  # free-form
        {"client_name": Shade("Test App")},  # a str subclass
        {"language": 1},
        {"products": [m.Products.AUTH, "auht"]},  # unknown: the careful path warns
        {"products": (m.Products.AUTH, Other.AUTH)},  # another enum's member
        {"country_codes": []},  # fewer items than the contract's minimum
        {"country_codes": None},  # required
        {"user": None},  # neither `user` nor `user_id`: a rule in prose
        {"user": m.LinkTokenCreateRequestUser(client_user_id="u", extra={"x": 1})},
    ],
    ids=repr,
)
def test_what_the_writer_hands_back(change: dict[str, Any]) -> None:
    request = attrs.evolve(CREATE, **change)
    assert plain_request(request) is None
    assert outcome(CREATE_ROUTE, request, encode_request) == outcome(
        CREATE_ROUTE, request, encode_carefully
    )


def test_a_tuple_and_enum_members_are_written_as_lists_and_strings() -> None:
    request = attrs.evolve(CREATE, country_codes=(m.CountryCode.US, "CA"))
    assert plain_request(request) == {**to_dict(CREATE), "country_codes": ["US", "CA"]}


def test_a_lone_surrogate_is_plain_and_written_by_the_standard_encoder(speedups: bool) -> None:
    # orjson refuses it; the standard encoder writes it escaped, as it always did.
    request = attrs.evolve(CREATE, webhook="https://example.com/\ud800")
    assert plain_request(request) is not None
    assert encode_request(CREATE_ROUTE, request) == encode_carefully(CREATE_ROUTE, request)


plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),  # lone surrogates and controls included
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(value=st.dictionaries(st.text(max_size=4), plain_values))
def test_plain_values_are_written_as_the_standard_encoder_writes_them(value: Any) -> None:
    with json_mode(False):
        assert _json.dumps_plain(value) == _json.std_dumps(value)  # byte for byte
    assert same(json.loads(_json.dumps_plain(value)), json.loads(_json.std_dumps(value)))
