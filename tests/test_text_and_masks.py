"""What the library shows: credentials masked by rule in every model, errors one bounded
line, short secrets never mangling output, no echoed secret in a span."""

from __future__ import annotations

import json
import typing
from typing import Any

import attrs
import pytest

from plaid_link_async import (
    AsyncLinkSession,
    InvalidInputError,
    Model,
    RetryPolicy,
    UnknownWebhook,
    models,
)
from plaid_link_async import models as m
from plaid_link_async._calls._scrubbing import Scrubber
from plaid_link_async._errors._exceptions import one_line
from plaid_link_async._wire._masks import is_credential

from ._helpers import CREATE
from ._raw_server import JSON_HEAD, RawServer, always, answer

MARK = "Z9Q8W7"  # a part of every credential value that must never show


def all_models() -> list[type[Model]]:
    return [
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, Model) and value is not Model
    ]


def credential_value(name: str) -> Any:
    if name.endswith("_url"):
        return f"https://secure.plaid.com/hl/{MARK}"
    return f"public-sandbox-{MARK}"


def test_the_rule_covers_every_token_field_of_every_model() -> None:
    names = {
        field.name for cls in all_models() for field in attrs.fields(cls) if field.name != "extra"
    }
    suspicious = {
        name for name in names if "token" in name or "secret" in name or name.endswith("link_url")
    }
    # Names with "token" that hold no credential: a setting, not a value.
    not_credentials = {"token_type"} & suspicious
    assert {name for name in suspicious if not is_credential(name)} == not_credentials
    for name in ("payment_profile_token", "third_party_user_token", "public_tokens"):
        assert is_credential(name)


@pytest.mark.parametrize("cls", all_models(), ids=lambda cls: cls.__name__)
def test_no_model_shows_a_credential(cls: type[Model]) -> None:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name == "extra" or not is_credential(field.name):
            continue
        hint = str(hints[field.name])
        if "list" in hint:
            values[field.name] = [credential_value(field.name)] * 2
        elif "str" in hint:
            values[field.name] = credential_value(field.name)
    if not values:
        return
    instance = _build(cls, values)
    text = repr(instance)
    assert MARK not in text, text
    assert "***" in text


def _build(cls: type[Model], values: dict[str, Any]) -> Model:
    # Slot by slot, as the tolerant reader builds drifted models: required fields unset.
    instance = object.__new__(cls)
    for field in attrs.fields(cls):
        object.__setattr__(instance, field.name, values.get(field.name, field.default))
    return instance


def test_an_unknown_webhook_masks_credentials_by_rule() -> None:
    payload = {
        "public_tokens": [f"public-sandbox-{MARK}"],
        "nested": {"payment_profile_token": f"payment-profile-{MARK}"},
    }
    text = repr(UnknownWebhook("NEW", "THING", payload))
    assert MARK not in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("line one\nforged: INFO ok", "line one\\nforged: INFO ok"),
        ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
        ("sep\u2028arator", "sep\\u2028arator"),
    ],
)
def test_control_characters_are_escaped(text: str, shown: str) -> None:
    assert one_line(text) == shown


async def test_str_of_an_error_is_one_bounded_line_whatever_the_server_sent() -> None:
    message = "first\nsecond \x1b[31mred\x1b[0m " + "x" * (1 << 20)
    body = json.dumps(
        {
            "error_type": "INVALID_INPUT",
            "error_code": "BAD\r\nCODE",
            "error_message": message,
            "request_id": "id\nforged",
        }
    ).encode()

    async with (
        RawServer(always(answer(400, body, JSON_HEAD))) as api,
        AsyncLinkSession(
            "client-id-0123456789ab",
            "secret-0123456789abcdef",
            base_url=api.url,
            retry=RetryPolicy(max_attempts=1),
        ) as plaid,
    ):
        with pytest.raises(InvalidInputError) as caught:
            await plaid.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-1"))
    line = str(caught.value)
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    assert len(line) < 1500
    assert "characters)" in line
    assert "BAD\\r\\nCODE" in line
    assert "request_id=id\\nforged" in line
    assert caught.value.error_message == message  # the attribute keeps it whole


@pytest.mark.parametrize("secret", ["e", "s2", "expiration"])
def test_a_short_secret_never_mangles_output(secret: str) -> None:
    scrub = Scrubber(secret, "client")
    text = "link-sandbox-b980f176-1a14 expiration: 2030-01-01"
    assert scrub.text(text) == text
    long_secret = "0123456789abcdef0123456789"
    assert Scrubber(long_secret).text(f"echo {long_secret}") == "echo ***"


async def test_an_echoed_secret_in_a_2xx_request_id_is_not_in_the_span() -> None:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    secret = "secret-0123456789abcdef"
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    body = json.dumps(
        {
            "link_token": "link-sandbox-1",
            "expiration": "2030-01-01T00:00:00Z",
            "request_id": f"echo {secret}",
        }
    ).encode()

    async with (
        RawServer(always(answer(200, body, JSON_HEAD))) as api,
        AsyncLinkSession(
            "client-id-0123456789ab", secret, base_url=api.url, opentelemetry=provider
        ) as plaid,
    ):
        await plaid.link_token_create(CREATE)
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes)["plaid.request_id"] == "echo ***"


@pytest.mark.parametrize("request_id", ["r\nINFO plaid_link_async forged", "r" * 700_000])
async def test_a_servers_request_id_is_escaped_and_cut_in_every_log_line_and_repr(
    request_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    from plaid_link_async import AsyncLinkSession, InvalidInputError, RetryPolicy
    from plaid_link_async.testing import MockTransport

    answers = [
        (500, {}, {"error_type": "API_ERROR", "error_code": "X", "request_id": request_id}),
        (
            200,
            {},
            {"link_token": "l", "expiration": "2026-12-06T04:00:00Z", "request_id": request_id},
        ),
        (400, {}, {"error_type": "INVALID_INPUT", "error_code": "X", "error_message": request_id}),
    ]
    transport = MockTransport(lambda request: answers.pop(0))
    caplog.set_level("DEBUG", logger="plaid_link_async")
    async with AsyncLinkSession(
        "id", "secret", base_url="https://plaid.test", transport=transport,
        retry=RetryPolicy(initial_delay=0),
    ) as plaid:  # fmt: skip
        await plaid.link_token_create(CREATE)  # a 500 retried (INFO), then DEBUG lines
        with pytest.raises(InvalidInputError) as caught:
            await plaid.link_token_create(CREATE)
    assert caplog.records
    for record in caplog.records:
        line = record.getMessage()
        assert "\n" not in line
        assert len(line) < 3_000
        for value in vars(record).values():
            if isinstance(value, str) and value.startswith("r"):
                assert "\n" not in value
                assert len(value) < 3_000
    assert "\n" not in repr(caught.value)
    assert len(repr(caught.value)) < 3_000
