"""The tolerant reader: an answer is checked strictly, the details it carries are not.

Hypothesis takes valid answers, damages one field below the top level (removed, nulled,
of the wrong type, a date-time that is not one) and checks that the answer still
parses, with exactly that path in `drift`, and that strict mode refuses the same body.
Damage to the answer's own required fields always refuses.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    Model,
    PlaidAPIError,
    RateLimitError,
    TransportResponse,
    UnexpectedResponseError,
    models,
    to_dict,
)
from plaid_link_async._calls._answers import decode
from plaid_link_async._schema._field_plans import Kind, TypePlan, plan_model
from plaid_link_async._schema._tolerant_reader import read_tolerantly

from ._helpers import FAST_RETRY, examples, get_answer
from ._raw_server import JSON_HEAD, RawServer, always, answer
from .strategies import model_strategy

RESPONSES = [
    models.LinkTokenGetResponse,
    models.LinkDeliveryGetResponse,
    models.WebhookVerificationKeyGetResponse,
    models.LinkTokenCreateResponse,
]


def _damages(cls: type[Model], data: dict[str, Any], path: str) -> list[tuple[str, str, Any]]:
    """(path, kind of damage, container and key) for every field below `data`'s top."""
    found: list[tuple[str, str, Any]] = []
    for field in plan_model(cls):
        if field.name not in data:
            continue
        where = f"{path}.{field.name}" if path else field.name
        value = data[field.name]
        if path:  # below the top level: this field itself may be damaged
            if field.required:
                found.append((where, "remove", (data, field.name)))
            if field.required and not field.type.nullable:
                found.append((where, "null", (data, field.name)))
            if field.type.kind not in (Kind.ANY, Kind.DICT):
                found.append((where, "wrong type", (data, field.name, field.type)))
            if field.type.kind == Kind.DATETIME and value is not None:
                found.append((where, "empty date-time", (data, field.name)))
        found += _inside(field.type, value, where)
    return found


def _inside(plan: TypePlan, value: Any, where: str) -> list[tuple[str, str, Any]]:
    if plan.kind == Kind.MODEL and isinstance(value, dict):
        assert plan.model is not None
        return _damages(plan.model, value, where)
    if plan.kind == Kind.LIST and isinstance(value, list):
        assert plan.item is not None
        found = []
        for index, item in enumerate(value):
            if plan.item.kind == Kind.MODEL and isinstance(item, dict):
                found.append((f"{where}[{index}]", "wrong item", (value, index)))
            found += _inside(plan.item, item, f"{where}[{index}]")
        return found
    return []


def _wrong_value(plan: TypePlan) -> Any:
    return {Kind.STR: 12345, Kind.ENUM: 12345, Kind.LIST: {"not": "a list"}}.get(
        plan.kind, "not the right type"
    )


def _apply(kind: str, target: Any) -> None:
    container, key = target[0], target[1]
    if kind == "remove":
        del container[key]
    elif kind == "null":
        container[key] = None
    elif kind == "wrong type":
        container[key] = _wrong_value(target[2])
    elif kind == "empty date-time":
        container[key] = ""
    else:  # "wrong item": a list element that is not an object
        container[key] = "not an object"


def _body(cls: type[Model], data: st.DataObject) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(to_dict(data.draw(model_strategy(cls)))))
    return body


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
@settings(max_examples=examples(150))
@given(data=st.data())
def test_damage_below_the_top_is_drift_with_its_exact_path(
    cls: type[Model], data: st.DataObject
) -> None:
    body = _body(cls, data)
    damages = _damages(cls, body, "")
    if not damages:
        return
    path, kind, target = data.draw(st.sampled_from(damages))
    _apply(kind, target)

    parsed, drift = read_tolerantly(cls, body)
    assert path in [item.path for item in drift], (kind, path, drift)
    assert isinstance(parsed, cls)
    for field in plan_model(cls):  # the answer's own fields are all there
        if field.required and not field.type.nullable:
            assert getattr(parsed, field.name) is not None

    raw = TransportResponse(200, {}, json.dumps(body).encode())
    _, drifts = decode(raw, cls, endpoint="e")
    assert [d.path for d in drifts] == [d.path for d in drift]
    with pytest.raises(UnexpectedResponseError) as caught:
        decode(raw, cls, endpoint="e", strict=True)
    assert caught.value.path  # strict names the field, as before


def _returned_types() -> list[type[Model]]:
    """Every model the library hands out: each operation's answer, and each webhook."""
    from plaid_link_async._schema._operations import ENDPOINTS, WEBHOOKS

    names = {endpoint.response for endpoint in ENDPOINTS.values()} | set(WEBHOOKS.values())
    return [getattr(models, name) for name in sorted(names)]


@pytest.mark.parametrize("cls", _returned_types(), ids=lambda cls: cls.__name__)
@settings(max_examples=examples(40))
@given(data=st.data())
def test_every_model_read_tolerantly_goes_back_through_to_dict(
    cls: type[Model], data: st.DataObject
) -> None:
    # The rule, not a list of cases: whatever the tolerant reader filled with None or
    # kept as a dict, to_dict writes back as it was received; only a list item of the
    # wrong kind, which the reader leaves out, is not written.
    body = _body(cls, data)
    damages = _damages(cls, body, "")
    applied = data.draw(
        st.lists(st.sampled_from(damages), max_size=3, unique_by=lambda d: d[0])
        if damages
        else st.just([])
    )
    for _path, kind, target in applied:
        _apply(kind, target)
    # And the answer's own fields: a signed EVENTS webhook without `events`, say.
    for key in data.draw(st.lists(st.sampled_from(sorted(body) or [""]), max_size=2)):
        body.pop(key, None)
    parsed, _ = read_tolerantly(cls, body, lenient_top=True)
    again = to_dict(parsed)
    json.dumps(again)
    if not any(kind == "wrong item" for _, kind, _ in applied):
        # Exactly what was received; a required field the contract lets be null, left
        # out, is written as null (a model cannot tell "left out" from "null" there).
        assert _without_nulls_added(again, body) == body
    reread, _ = read_tolerantly(cls, again, lenient_top=True)
    assert reread == parsed
    assert to_dict(reread) == again


def _without_nulls_added(written: Any, received: Any) -> Any:
    """`written`, less the nulls of keys `received` does not have, all the way down."""
    if isinstance(written, dict) and isinstance(received, dict):
        return {
            key: _without_nulls_added(value, received.get(key))
            for key, value in written.items()
            if not (value is None and key not in received)
        }
    if isinstance(written, list) and isinstance(received, list) and len(written) == len(received):
        return [_without_nulls_added(a, b) for a, b in zip(written, received, strict=True)]
    return written


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda cls: cls.__name__)
@settings(max_examples=examples(60))
@given(data=st.data(), kind=st.sampled_from(["remove", "null", "wrong type"]))
def test_damage_to_the_answers_own_required_fields_always_raises(
    cls: type[Model], data: st.DataObject, kind: str
) -> None:
    body = _body(cls, data)
    required = [f for f in plan_model(cls) if f.required and not f.type.nullable]
    field = data.draw(st.sampled_from(required))
    _apply(kind, (body, field.name, field.type))
    raw = TransportResponse(200, {}, json.dumps(body).encode())
    for strict in (False, True):
        with pytest.raises(UnexpectedResponseError) as caught:
            decode(raw, cls, endpoint="e", strict=strict)
        assert caught.value.path == field.name


def test_a_missing_request_id_in_one_event_keeps_the_public_tokens() -> None:
    body = _link_token_get_with_an_event_lacking_request_id()
    parsed, drift = decode(
        TransportResponse(200, {}, json.dumps(body).encode()),
        models.LinkTokenGetResponse,
        endpoint="e",
    )
    assert [str(d) for d in drift] == [
        "link_sessions[0].events[1].event_id: required field is missing"
    ]
    session = parsed.link_sessions[0]  # type: ignore[index]
    assert session.results.item_add_results[0].public_token == "public-sandbox-1"  # type: ignore[union-attr]
    assert session.events[1].event_id is None  # type: ignore[index]


def _link_token_get_with_an_event_lacking_request_id() -> dict[str, Any]:
    event = {
        "event_id": "e0",
        "event_name": "OPEN",
        "timestamp": "2024-07-29T20:21:59Z",
        "event_metadata": {},  # request_id is optional in 1.697.4
    }
    broken = {k: v for k, v in event.items() if k != "event_id"}
    return get_answer(
        link_sessions=[
            {
                "link_session_id": "ls-1",
                "events": [event, broken],
                "results": {
                    "item_add_results": [
                        {"public_token": "public-sandbox-1", "accounts": [], "institution": None}
                    ],
                    "cra_item_add_results": [],
                    "cra_update_results": [],
                    "bank_income_results": [],
                    "payroll_income_results": [],
                    "document_income_results": None,
                },
            }
        ],
    )


async def test_drift_reaches_the_caller_the_log_once_and_strict_mode_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="plaid_link_async")
    body = json.dumps(_link_token_get_with_an_event_lacking_request_id()).encode()
    request = models.LinkTokenGetRequest(link_token="link-sandbox-1")
    async with (
        RawServer(always(answer(200, body, JSON_HEAD))) as api,
        AsyncLinkSession("client", "secret-1", base_url=api.url, retry=FAST_RETRY) as plaid,
    ):
        info = await plaid.link_token_get(request)
        raw = await plaid.with_raw_response.link_token_get(request)
        assert info.link_sessions is not None
        assert [d.path for d in raw.drift] == ["link_sessions[0].events[1].event_id"]
        with pytest.raises(UnexpectedResponseError) as caught:
            await plaid.link_token_get(request, strict=True)
        assert caught.value.path == "link_sessions[0].events[1].event_id"
    warnings = [r for r in caplog.records if "drifted" in r.getMessage()]
    assert len(warnings) <= 1  # once per path pattern per process (maybe logged earlier)
    async with (
        RawServer(always(answer(200, body, JSON_HEAD))) as api,
        AsyncLinkSession(
            "client", "secret-1", base_url=api.url, retry=FAST_RETRY, strict=True
        ) as strict,
    ):
        with pytest.raises(UnexpectedResponseError):
            await strict.link_token_get(request)
        assert (await strict.link_token_get(request, strict=False)).link_token


_ERROR = {
    "error_type": "INVALID_INPUT",
    "error_code": "INVALID_LINK_TOKEN",
    "error_message": "the link token is unknown",
    "display_message": None,
    "request_id": "r1",
}


@pytest.mark.parametrize(
    ("change", "kind", "drifted"),
    [
        ({"error_message": None}, InvalidInputError, ["error_message"]),
        ({"display_message": "DROP"}, InvalidInputError, ["display_message"]),
        ({"status": "400"}, InvalidInputError, ["status"]),
        ({"error_type": "DROP"}, PlaidAPIError, ["error_type"]),
        ({"error_code": "DROP"}, InvalidInputError, ["error_code"]),
        ({"error_type": "SOMETHING_NEW"}, PlaidAPIError, []),
        ({"causes": "not a list", "request_id": 7}, InvalidInputError, ["request_id", "causes"]),
    ],
)
def test_off_shape_error_bodies_keep_their_type(
    change: dict[str, Any], kind: type[PlaidAPIError], drifted: list[str]
) -> None:
    body = {**_ERROR, **change}
    body = {key: value for key, value in body.items() if value != "DROP"}
    raw = TransportResponse(400, {}, json.dumps(body).encode())
    with pytest.raises(PlaidAPIError) as caught:
        decode(raw, models.LinkTokenGetResponse, endpoint="link_token_get")
    error = caught.value
    assert type(error) is kind
    assert sorted(d.path for d in error.drift) == sorted(drifted)
    if "error_code" in body:
        assert error.error_code == "INVALID_LINK_TOKEN"
    assert "\n" not in str(error)


def test_any_object_with_an_error_code_is_a_plaid_error_and_429_a_rate_limit() -> None:
    raw = TransportResponse(429, {}, json.dumps({"error_code": "RATE_LIMIT"}).encode())
    with pytest.raises(RateLimitError) as caught:
        decode(raw, models.LinkTokenGetResponse, endpoint="e")
    assert caught.value.error_type is None
    assert "(no error_type) RATE_LIMIT: (no message) (HTTP 429)" in str(caught.value)
    other = TransportResponse(502, {}, json.dumps({"message": "bad gateway"}).encode())
    with pytest.raises(UnexpectedResponseError):
        decode(other, models.LinkTokenGetResponse, endpoint="e")
