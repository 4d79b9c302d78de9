"""Bad response bodies: only UnexpectedResponseError, always with the offending path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async import (
    Model,
    TransportResponse,
    UnexpectedResponseError,
    from_dict,
    models,
    to_dict,
)
from plaid_link_async._calls._answers import decode
from plaid_link_async._schema._operations import ENDPOINTS

from ._helpers import examples
from .strategies import json_values, model_strategy

RESPONSES = [getattr(models, endpoint.response) for _, endpoint in sorted(ENDPOINTS.items())]
# 8 types x 325 examples, in two shapes each: over 5,000 garbage bodies in all, each
# read strictly (from_dict) and tolerantly (as a call reads it).
EXAMPLES_PER_TYPE = 325


def _parse_or_library_error(cls: type[Model], body: Any) -> None:
    try:
        from_dict(cls, body)
    except UnexpectedResponseError as error:
        assert error.model == cls.__name__
        if isinstance(body, dict):
            # Inside an object there is always a field to blame.
            assert error.path, f"no path for {body!r}: {error}"
        assert "\n" not in str(error)
    raw = TransportResponse(200, {}, json.dumps(body).encode())
    try:
        parsed, _ = decode(raw, cls, endpoint="e")
    except UnexpectedResponseError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(parsed, cls)


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
@settings(max_examples=examples(EXAMPLES_PER_TYPE))
@given(body=json_values)
def test_any_json_value_parses_or_raises_the_library_error(cls: type[Model], body: Any) -> None:
    _parse_or_library_error(cls, body)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(value[head], tuple(rest), new)
    return copy


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
@settings(max_examples=examples(EXAMPLES_PER_TYPE))
@given(data=st.data())
def test_a_valid_body_with_garbage_anywhere_names_the_path(
    cls: type[Model], data: st.DataObject
) -> None:
    valid = json.loads(json.dumps(to_dict(data.draw(model_strategy(cls)))))
    path = data.draw(st.sampled_from(_paths(valid)[1:] or [()]))
    garbage = data.draw(json_values)
    body = _replace(valid, path, garbage)
    try:
        from_dict(cls, body)
    except UnexpectedResponseError as error:
        # The error points at the replaced value or inside it, never elsewhere.
        expected = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        assert error.path.startswith(expected), (error.path, expected)


def test_a_wrong_type_deep_inside_names_the_whole_path() -> None:
    body = {
        "link_token": "t",
        "created_at": None,
        "expiration": None,
        "request_id": "r",
        "metadata": {
            "initial_products": [],
            "webhook": None,
            "country_codes": [],
            "language": None,
            "redirect_uri": None,
            "client_name": None,
        },
        "link_sessions": [
            {"link_session_id": "a"},
            {
                "link_session_id": "b",
                "events": [
                    {
                        "event_id": "1",
                        "event_name": "X",
                        "timestamp": "t",
                        "event_metadata": {"request_id": "r"},
                    },
                    {
                        "event_id": "2",
                        "event_name": "X",
                        "timestamp": "t",
                        "event_metadata": {"request_id": "r"},
                    },
                    {
                        "event_id": "3",
                        "event_name": "X",
                        "timestamp": 12,
                        "event_metadata": {"request_id": "r"},
                    },
                ],
            },
        ],
    }
    with pytest.raises(UnexpectedResponseError) as caught:
        from_dict(models.LinkTokenGetResponse, body)
    assert caught.value.path == "link_sessions[1].events[2].timestamp"
    assert str(caught.value) == (
        "LinkTokenGetResponse.link_sessions[1].events[2].timestamp: "
        "expected a string, got an integer"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"expiration": "2020-01-01T00:00:00Z", "request_id": "r"}, "link_token", "missing"),
        (
            {"link_token": 1, "expiration": "2020-01-01T00:00:00Z", "request_id": "r"},
            "link_token",
            "string",
        ),
        (
            {"link_token": "t", "expiration": "yesterday", "request_id": "r"},
            "expiration",
            "date-time",
        ),
        (
            {"link_token": "t", "expiration": "2020-13-45T00:00:00Z", "request_id": "r"},
            "expiration",
            "date-time",
        ),
        (
            {"link_token": "t", "expiration": "2020-01-01T00:00:00Z", "request_id": ["r"]},
            "request_id",
            "a list",
        ),
        ([], "", "object"),
        ("<html>502 Bad Gateway</html>", "", "object"),
    ],
)
def test_shape_errors_name_field_and_cause(body: Any, path: str, message: str) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        from_dict(models.LinkTokenCreateResponse, body)
    assert caught.value.path == path
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("profile_matches", 1), ("profile_matches", "true"), ("request_id", 5), ("request_id", True)],
)
def test_primitives_are_never_coerced(field: str, value: Any) -> None:
    body = {"profile_matches": True, "request_id": "r", field: value}
    with pytest.raises(UnexpectedResponseError) as caught:
        from_dict(models.LinkProfileEligibilityCheckResponse, body)
    assert caught.value.path == field


def test_integers_are_accepted_where_the_contract_says_number() -> None:
    source = models.LinkTokenCreateRequestUserStatedIncomeSource
    parsed = from_dict(source, {"pay_annual": 50000, "pay_per_cycle": 1.5})
    assert parsed.pay_annual == 50000.0
    assert type(parsed.pay_annual) is float
