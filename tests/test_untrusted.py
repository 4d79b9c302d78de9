"""One hostile corpus through every path that walks data a server or sender chose.

Each value is as deep, wide or drifted as the limits allow. Every path must answer with
the library's own error or a bounded result: never a RecursionError, never unbounded
memory or time, never the secret.
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import pytest

from plaid_link_async import (
    InvalidInputError,
    InvalidWebhookError,
    PlaidTimeoutError,
    RequestValidationError,
    Timeout,
    TransportResponse,
    UnexpectedResponseError,
    UnknownWebhook,
    WebhookVerificationError,
    from_dict,
    parse_webhook,
    to_dict,
)
from plaid_link_async import models as m
from plaid_link_async._calls._off_loop import INLINE_TOLERANT_BYTES, read_at_once
from plaid_link_async._calls._routes import routes
from plaid_link_async._schema._drift import MAX_KEPT_DRIFT
from plaid_link_async._wire._json import MAX_DEPTH
from plaid_link_async._wire._nesting import MAX_NESTING
from plaid_link_async.testing import FakePlaidServer

from ._helpers import CREATE, error_texts, get_answer, session_for
from ._raw_server import JSON_HEAD, RawServer, always, answer
from .test_cli import SECRET as CLI_SECRET
from .test_cli import plaid_link
from .test_hostile import SECRET, session

MiB = 1 << 20


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


#: Values a hostile peer can put where a model keeps free-form data, each within the
#: nesting JSON is read to (`_json.MAX_DEPTH`, 512 levels).
CORPUS: dict[str, Any] = {
    "deep_400": nested(400),
    "deep_mixed_500": nested(500, "x"),
    "wide": {f"k{n}": [n] for n in range(20_000)},
    "long_text": "é" * 50_000,
    "big_int": 10**400,
}


def walk_everything(model: Any) -> None:
    """What users and the library do with a model: it must all finish and stay short."""
    assert len(repr(model)) < 20_000
    assert len(str(model)) < 20_000
    pickle.loads(pickle.dumps(model))
    copy.deepcopy(model)
    json.dumps(to_dict(model))


def link_token_get_answer(unknown: Any) -> bytes:
    session_ = {"link_session_id": "s", "started_at": "2026-01-01T00:00:00Z"}
    return json.dumps(get_answer(unknown=unknown, link_sessions=[session_])).encode()


def serve(body: bytes, status: int = 200) -> RawServer:
    return RawServer(always(answer(status, body, JSON_HEAD)))


@pytest.mark.parametrize("case", sorted(CORPUS))
async def test_an_answer_with_hostile_unknown_data(case: str) -> None:
    async with serve(link_token_get_answer(CORPUS[case])) as api, session(api.url) as plaid:
        info = await plaid.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-1"))
        raw = await plaid.with_raw_response.link_token_get(
            m.LinkTokenGetRequest(link_token="link-sandbox-1")
        )
    walk_everything(info)
    assert len(repr(raw)) < 500
    if case.startswith("deep"):
        assert "unknown" not in info.extra  # dropped, and said so
        assert [item.path for item in raw.drift] == ["unknown"]


@pytest.mark.parametrize("case", sorted(CORPUS))
async def test_an_error_body_with_hostile_unknown_data(case: str) -> None:
    body = json.dumps(
        {
            "error_type": "INVALID_INPUT",
            "error_code": "INVALID_LINK_TOKEN",
            "error_message": f"bad token (secret {SECRET})",
            "request_id": "r1",
            "unknown": CORPUS[case],
            "causes": [CORPUS[case]],
        }
    ).encode()
    async with serve(body, 400) as api, session(api.url) as plaid:
        with pytest.raises(InvalidInputError) as caught:
            await plaid.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-1"))
    error = caught.value
    for text in error_texts(error):
        assert SECRET not in text
        assert len(text) < 1_000_000
    walk_everything(error.error)


@pytest.mark.parametrize("case", sorted(CORPUS))
async def test_the_key_endpoint_answering_hostile_data(case: str) -> None:
    pytest.importorskip("jwt")
    body = json.dumps(
        {"error_type": "INVALID_INPUT", "error_code": "X", "request_id": "r", "x": CORPUS[case]}
    ).encode()
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.e30.c2ln"  # kid k1
    async with serve(body, 400) as api, session(api.url) as plaid:
        with pytest.raises(WebhookVerificationError):
            await plaid.verify_webhook(b"{}", {"Plaid-Verification": token})


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_webhooks_with_hostile_data(case: str) -> None:
    known = {"webhook_type": "LINK", "webhook_code": "EVENTS", "x": CORPUS[case]}
    unknown = {"webhook_type": "NEW", "webhook_code": "THING", "x": CORPUS[case]}
    for payload in (known, unknown):
        body = json.dumps(payload).encode()
        try:
            webhook = parse_webhook(body)
        except InvalidWebhookError as error:
            assert "\n" not in str(error)
            continue
        walk_everything(webhook)
        if isinstance(webhook, UnknownWebhook):
            assert len(repr(webhook)) < 20_000


def test_strict_reading_names_the_deep_field() -> None:
    data = json.loads(link_token_get_answer(CORPUS["deep_400"]))
    with pytest.raises(Exception, match="unknown: unknown field nested deeper than 32 levels"):
        from_dict(m.LinkTokenGetResponse, data)


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 900, 1_000, 1_100])
async def test_json_nested_past_the_bound_is_refused_alike_either_way(
    speedups: bool, levels: int
) -> None:
    # orjson reads 1,023 levels, json up to Python's recursion limit, which depends on
    # the caller's stack: both refuse past MAX_DEPTH, the same way.
    # Written as text: json itself cannot write what it cannot read.
    deep = "[" * levels + "1" + "]" * levels
    answer_body = link_token_get_answer("DEEP").replace(b'"DEEP"', deep.encode())
    error_body = f'{{"error_type":"INVALID_INPUT","error_code":"X","x":{deep}}}'.encode()
    for body, status in ((answer_body, 200), (error_body, 400)):
        async with serve(body, status) as api, session(api.url) as plaid:
            with pytest.raises(UnexpectedResponseError, match=f"deeper than {MAX_DEPTH} levels"):
                await plaid.link_token_get(m.LinkTokenGetRequest(link_token="link-sandbox-1"))
    webhook = f'{{"webhook_type":"LINK","webhook_code":"EVENTS","x":{deep}}}'
    with pytest.raises(InvalidWebhookError, match="not JSON"):
        parse_webhook(webhook.encode())


# -- drift bombs ------------------------------------------------------------------------------


def drift_bomb(size: int, event: Any = None) -> bytes:
    """A link_token_get answer of about `size` bytes whose one session is all `event`s
    (`{}`, each drifting in every required field, by default), the last one `{}`."""
    head = json.loads(link_token_get_answer(None))
    one = len(json.dumps(event if event is not None else {}, separators=(",", ":"))) + 1
    head["link_sessions"][0]["events"] = [event if event is not None else {}] * (
        (size - 400) // one
    ) + [{}]
    return json.dumps(head, separators=(",", ":")).encode()


async def test_a_drift_bomb_is_refused_past_ten_thousand_drifts() -> None:
    body = drift_bomb(2 * MiB - 1024)  # 700,000 empty events: 2.8 million drifts
    async with serve(body) as api, session(api.url, timeout=Timeout(total=30)) as plaid:
        request = m.LinkTokenGetRequest(link_token="link-sandbox-1")
        # Refused for its drift, not timed out: the reading stopped at 10,000 drifts.
        with pytest.raises(UnexpectedResponseError, match="more than 10,000 places") as caught:
            await plaid.link_token_get(request)
    assert caught.value.status == 200
    assert len(str(caught.value)) < 500


async def test_drift_under_the_cap_keeps_a_hundred_and_counts_the_rest() -> None:
    body = drift_bomb(5_000)  # about 1,650 empty events: 6,600 drifts
    async with serve(body) as api, session(api.url) as plaid:
        request = m.LinkTokenGetRequest(link_token="link-sandbox-1")
        raw = await plaid.with_raw_response.link_token_get(request)
    assert len(raw.drift) == MAX_KEPT_DRIFT
    assert 6_000 < raw.drift.total <= 10_000
    assert len(repr(raw)) < 500
    assert pickle.loads(pickle.dumps(raw.drift)).total == raw.drift.total


async def test_a_long_drifted_reading_stops_at_the_deadline() -> None:
    # Valid events but the last: the strict parse fails at the end, and the tolerant
    # reading has 20,000 events to walk, more than the call's 0.2 s allow.
    event = {
        "event_id": "e",
        "event_name": "OPEN",
        "timestamp": "2024-07-29T20:21:59Z",
        "event_metadata": {},
    }
    body = drift_bomb(2 * MiB - 1024, event)
    async with serve(body) as api, session(api.url) as plaid:
        request = m.LinkTokenGetRequest(link_token="link-sandbox-1")
        started = time.monotonic()
        with pytest.raises(PlaidTimeoutError):
            await plaid.link_token_get(request, timeout=0.2)
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.5)
        # No thread is still reading the body after its call returned.
        busy = [
            frame
            for frame in sys._current_frames().values()
            if frame.f_code.co_filename.endswith(("_tolerant_reader.py", "_converter.py"))
        ]
        assert busy == []
        # With time to spare the same answer reads, its one drift kept.
        raw = await plaid.with_raw_response.link_token_get(request, timeout=30)
        assert raw.drift.total == 4


def test_a_drifted_answer_over_4_kb_is_read_off_the_loop() -> None:
    # How long the loop is held is measured by bench/large_answers.py; what is tested
    # here is the decision: a drifted answer over INLINE_TOLERANT_BYTES is not read on
    # the loop (read_at_once leaves it to read_rest, which hands it to a thread).
    body = drift_bomb(32 * 1024)  # parsed on the loop, but too drifted to read there
    raw = TransportResponse(200, {}, body)
    route = routes("https://plaid.test")["link_token_get"]
    result, data = read_at_once(raw, route)
    assert result is None  # drifted: left to read_rest
    assert isinstance(data, dict)
    assert len(body) > INLINE_TOLERANT_BYTES


def test_a_webhook_drift_bomb_is_refused_quickly_and_small() -> None:
    events = [{}] * (250 * 1024 // 3)
    body = json.dumps(
        {"webhook_type": "LINK", "webhook_code": "EVENTS", "events": events}, separators=(",", ":")
    )
    tracemalloc.start()
    try:
        # Bounded in time by the reader's own deadline or drift count, whichever first.
        with pytest.raises(InvalidWebhookError, match=r"took over 50 ms|more than 10,000 places"):
            parse_webhook(body.encode())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * MiB
    with pytest.raises(InvalidWebhookError, match="over the limit of 262,144"):
        parse_webhook(b" " * (256 * 1024 + 1))


# -- the CLI ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_the_cli_reads_a_hostile_headers_file(tmp_path: Path) -> None:
    pytest.importorskip("jwt")

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    nested_value = tmp_path / "nested.json"
    nested_value.write_text(json.dumps({"Plaid-Verification": nested(600)}))
    body = tmp_path / "body.json"
    body.write_text("{}")
    async with FakePlaidServer(secret=CLI_SECRET) as fake:
        for headers, message in [
            (deep, "webhook refused (missing_header)"),
            (nested_value, "the value of 'Plaid-Verification' must be a string, not dict"),
        ]:
            code, _, err = await plaid_link(
                fake, "webhook", "verify", "--body", str(body), "--headers", str(headers)
            )
            assert code in (1, 2), err
            assert message in err
            assert "Traceback" not in err
            assert len(err.strip().splitlines()) == 1


def _deep(levels: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    here = top
    for _ in range(levels):
        here["a"] = {}
        here = here["a"]
    return top


@pytest.mark.parametrize("where", ["extra", "union member"])
async def test_a_request_nested_past_any_bound_is_refused_naming_it_and_never_sent(
    fake_plaid: FakePlaidServer, where: str
) -> None:
    # Requests are untrusted input too: an app may pass through what its own user sent.
    deep = _deep(100_000)
    if where == "extra":
        request = attrs.evolve(CREATE, extra={"custom": deep})
        field = "custom"
    else:
        cra = m.LinkTokenCreateRequestCraReportParameter(
            scope="CLIENT_USER", decision_stage="SERVICING", products=[deep]
        )
        request = attrs.evolve(CREATE, cra_report_parameter=cra)
        field = "cra_report_parameter.products[0]"
    async with session_for(fake_plaid) as plaid:
        with pytest.raises(RequestValidationError) as caught:
            await plaid.link_token_create(request)
    assert caught.value.paths == (field,)
    assert f"nested deeper than {MAX_NESTING} levels" in str(caught.value)
    assert fake_plaid.requests == []
