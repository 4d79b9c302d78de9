"""What a request becomes on the wire: checked by one walk, written by the converter.

Whatever the request holds (any value in any field), the session either sends the
JSON of `to_dict(request)`, the same value with or without orjson, or refuses it with
a `RequestValidationError`; never another exception, and never a body that differs."""

from __future__ import annotations

import datetime
import enum
import json
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plaid_link_async import RequestValidationError
from plaid_link_async import models as m
from plaid_link_async._calls._request_body import encode_request
from plaid_link_async._calls._routes import Route, routes
from plaid_link_async._schema._converter import to_dict
from plaid_link_async._schema._field_plans import plan_model
from plaid_link_async._schema._request_rules import check, validate
from plaid_link_async._wire import _json

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


def outcome(route: Route, request: Any) -> tuple[str, Any]:
    try:
        return "sent", json.loads(encode_request(route, request))
    except RequestValidationError as error:
        return "refused", str(error)


@settings(max_examples=examples(400), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=requests())
def test_a_request_is_sent_as_its_dict_or_refused_alike_either_way(case: tuple[Route, Any]) -> None:
    route, request = case
    with json_mode(True):
        got = outcome(route, request)
    with json_mode(False):
        want = outcome(route, request)
    assert got[0] == want[0]
    if got[0] == "sent":
        assert same(got[1], want[1])
        assert same(got[1], json.loads(_json.std_dumps(to_dict(request))))
    else:
        assert got[1] == want[1]


@settings(max_examples=examples(300))
@given(case=requests(), strict=st.booleans())
def test_validate_raises_what_the_walk_finds(case: tuple[Route, Any], strict: bool) -> None:
    _, request = case
    errors = check(request, strict=strict).errors
    if errors:
        with pytest.raises(RequestValidationError) as refused:
            validate(request, strict=strict)
        assert refused.value.errors == tuple(errors)
    else:
        validate(request, strict=strict)


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"extra": {"beta": True}}, False),
        ({"client_name": Shade("Test App")}, False),  # a str subclass is a string
        ({"language": 1}, True),
        ({"products": [m.Products.AUTH, "auht"]}, False),  # unknown: sent with a warning
        ({"country_codes": []}, True),  # fewer items than the contract's minimum
        ({"country_codes": None}, True),  # required
        ({"user": None}, True),  # neither `user` nor `user_id`: a rule in prose
        ({"user": m.LinkTokenCreateRequestUser(client_user_id="u", extra={"x": 1})}, False),
        ({"extra": {"x": float("nan")}}, True),  # JSON has no NaN
        ({"extra": {"x": {1: "a"}}}, True),  # nor keys that are not strings
        ({"extra": {"x": b"raw"}}, True),
    ],
    ids=repr,
)
def test_what_is_sent_and_what_is_refused(change: dict[str, Any], refused: bool) -> None:
    request = attrs.evolve(CREATE, **change)
    assert outcome(CREATE_ROUTE, request)[0] == ("refused" if refused else "sent")


def test_a_tuple_and_enum_members_are_written_as_lists_and_strings() -> None:
    request = attrs.evolve(CREATE, country_codes=(m.CountryCode.US, "CA"))
    assert to_dict(request) == {**to_dict(CREATE), "country_codes": ["US", "CA"]}


def test_a_lone_surrogate_is_written_by_the_standard_encoder(speedups: bool) -> None:
    # orjson refuses it; the standard encoder writes it escaped.
    request = attrs.evolve(CREATE, webhook="https://example.com/\ud800")
    assert encode_request(CREATE_ROUTE, request) == _json.std_dumps(to_dict(request))


def test_an_integer_past_64_bits_is_written_exactly(speedups: bool) -> None:
    request = attrs.evolve(CREATE, extra={"big": 2**70})
    assert json.loads(encode_request(CREATE_ROUTE, request))["big"] == 2**70
