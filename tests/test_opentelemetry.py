"""OpenTelemetry: one span per call covering its retries, attempts as events, tested
with the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plaid_link_async import AsyncLinkSession, InvalidInputError, PlaidLinkError
from plaid_link_async import models as m
from plaid_link_async.testing import FakePlaidServer, Fault

from ._helpers import CREATE, FAST_RETRY, session_for

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
export = pytest.importorskip("opentelemetry.sdk.trace.export")


@pytest.fixture
def exporter() -> Iterator[Any]:
    found = in_memory.InMemorySpanExporter()
    yield found
    found.clear()


def _provider(exporter: Any) -> Any:
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    return provider


async def test_one_span_per_call_with_its_retries_as_events(
    fake_plaid: FakePlaidServer, exporter: Any
) -> None:
    fake_plaid.inject("link_token_create", Fault.server_error(503))
    async with session_for(fake_plaid, opentelemetry=_provider(exporter)) as plaid:
        created = await plaid.link_token_create(CREATE)
    (span,) = exporter.get_finished_spans()
    assert span.name == "POST /link/token/create"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes)
    assert attributes["http.request.method"] == "POST"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["plaid.endpoint"] == "link_token_create"
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.request.resend_count"] == 1
    assert attributes["plaid.request_id"] == created.request_id
    events = [(e.name, dict(e.attributes)) for e in span.events]
    assert [(name, a["plaid.attempt"], a["http.response.status_code"]) for name, a in events] == [
        ("attempt", 1, 503),
        ("attempt", 2, 200),
    ]
    assert events[0][1]["error.type"] == "APIServerError"
    assert span.status.is_ok


async def test_a_failed_call_marks_its_span_with_plaids_codes(
    fake_plaid: FakePlaidServer, exporter: Any
) -> None:
    async with session_for(fake_plaid, opentelemetry=_provider(exporter)) as plaid:
        with pytest.raises(InvalidInputError):
            await plaid.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-nope"))
    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes)
    assert attributes["plaid.error_type"] == "INVALID_INPUT"
    assert attributes["plaid.error_code"] == "INVALID_LINK_TOKEN"
    assert attributes["error.type"] == "InvalidInputError"
    assert attributes["http.response.status_code"] == 400
    assert "plaid.request_id" in attributes
    assert not span.status.is_ok
    assert "test-secret" not in repr(span.to_json())


def test_without_the_extra_tracing_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(PlaidLinkError, match=r"plaid-link-async\[opentelemetry\]"):
        AsyncLinkSession("c", "s", opentelemetry=True, retry=FAST_RETRY)
