"""Errors: the hierarchy, one-line `str()`, pickling, and the error-type mapping."""

from __future__ import annotations

import asyncio
import json
import pickle

import aiohttp
import pytest

import plaid_link_async as pla
from plaid_link_async import TransportResponse
from plaid_link_async import models as m
from plaid_link_async._calls._answers import decode, error_for
from plaid_link_async._errors._exceptions import ERROR_CLASSES
from plaid_link_async._transport._aiohttp import map_error


def _error(error_type: str = "INVALID_INPUT", code: str = "INVALID_LINK_TOKEN") -> m.PlaidError:
    return m.PlaidError(
        error_type=error_type,
        error_code=code,
        error_message="the link token is unknown",
        display_message=None,
        request_id="req-1",
        documentation_url="https://plaid.com/docs/errors/",
        suggested_action=None,
        causes=[],
    )


def test_everything_derives_from_plaid_link_error() -> None:
    for name in pla.__all__:
        obj = getattr(pla, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, pla.PlaidLinkError), name
    assert issubclass(pla.PlaidTimeoutError, pla.TransportError)
    assert issubclass(pla.ConfigurationError, ValueError)
    assert issubclass(pla.SessionClosedError, RuntimeError)


@pytest.mark.parametrize(("error_type", "cls"), sorted(ERROR_CLASSES.items()))
def test_each_error_type_has_its_class(error_type: str, cls: type[pla.PlaidAPIError]) -> None:
    body = pla.to_dict(_error(error_type, "X")) | {"status": 400}
    raw = TransportResponse(400, {}, json.dumps(body).encode())
    error = error_for(raw, endpoint="link_token_get")
    assert type(error) is cls


def test_unknown_error_type_gives_the_base_class_and_429_a_rate_limit() -> None:
    body = json.dumps(pla.to_dict(_error("SHINY_NEW_ERROR", "NEW"))).encode()
    assert type(error_for(TransportResponse(400, {}, body), endpoint="e")) is pla.PlaidAPIError
    assert type(error_for(TransportResponse(429, {}, body), endpoint="e")) is pla.RateLimitError


def test_api_error_carries_every_field_and_reads_in_one_line() -> None:
    error = pla.InvalidInputError(_error(), status=400, endpoint="link_token_get", attempts=2)
    assert error.error_type == "INVALID_INPUT"
    assert error.error_code == "INVALID_LINK_TOKEN"
    assert error.error_message == "the link token is unknown"
    assert error.display_message is None
    assert error.request_id == "req-1"
    assert error.causes == []
    assert error.documentation_url == "https://plaid.com/docs/errors/"
    assert error.suggested_action is None
    assert error.error.error_code == "INVALID_LINK_TOKEN"
    assert str(error) == (
        "link_token_get: INVALID_INPUT INVALID_LINK_TOKEN: the link token is unknown "
        "(HTTP 400) [request_id=req-1, after 2 attempts]"
    )


@pytest.mark.parametrize(
    "error",
    [
        pla.InvalidInputError(_error(), status=400, endpoint="link_token_get", attempts=2),
        pla.UnexpectedResponseError("bad", model="M", path="a.b", status=502, attempts=3),
        pla.TransportError("reset", endpoint="link_token_create", attempts=3),
        pla.PlaidTimeoutError("slow", retryable=False),
        pla.RequestValidationError("M", [pla.FieldError("a", "is required")]),
    ],
)
def test_errors_pickle_with_their_fields(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert "\n" not in str(error)


def test_a_wrong_shaped_success_names_the_field_status_and_request_id() -> None:
    raw = TransportResponse(200, {}, b'{"request_id": "abc", "link_token": 5}')
    with pytest.raises(pla.UnexpectedResponseError) as caught:
        decode(raw, m.LinkOAuthCorrelationIdExchangeResponse, endpoint="e")
    error = caught.value
    assert (error.status, error.request_id, error.path) == (200, "abc", "link_token")
    assert error.body_snippet == '{"request_id": "abc", "link_token": 5}'


def test_long_bodies_are_cut_in_the_snippet() -> None:
    raw = TransportResponse(502, {"Content-Type": "text/html"}, b"<html>" + b"x" * 5000)
    error = error_for(raw, endpoint="e")
    assert isinstance(error, pla.UnexpectedResponseError)
    assert error.body_snippet is not None
    assert len(error.body_snippet) == 200
    assert "text/html" in str(error)


def test_deeply_nested_garbage_is_an_unexpected_response() -> None:
    raw = TransportResponse(200, {}, b"[" * 100_000)
    with pytest.raises(pla.UnexpectedResponseError):
        decode(raw, m.LinkTokenCreateResponse, endpoint="e")


def test_every_client_failure_is_mapped_to_ours() -> None:
    assert isinstance(map_error(asyncio.TimeoutError()), pla.PlaidTimeoutError)
    assert isinstance(map_error(aiohttp.ServerDisconnectedError()), pla.TransportError)
    invalid = map_error(aiohttp.InvalidURL("x"))
    assert invalid is not None
    assert not invalid.retryable
    # Anything else raised under aiohttp is ours too, never a bare error with a chain.
    other = map_error(ValueError("Newline or carriage return character detected"))
    assert type(other) is pla.TransportError
    assert not other.retryable
    assert str(other) == "unexpected HTTP client failure: ValueError"
