"""Hostile upstreams, each a raw asyncio server on loopback: redirects, bombs, echoes, lies.

What every test checks besides its own point: the secret is in no error, chain or log
line, and no connection is left taken from the pool.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import ssl
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from plaid_link_async import (
    AsyncLinkSession,
    ConfigurationError,
    InvalidInputError,
    PlaidLinkError,
    PlaidTimeoutError,
    RetryPolicy,
    Timeout,
    TransportError,
    TransportResponse,
    UnexpectedResponseError,
    from_dict,
)
from plaid_link_async import models as m
from plaid_link_async._calls._off_loop import UNREAD, read_at_once
from plaid_link_async._calls._routes import routes
from plaid_link_async._schema._tolerant_reader import read_tolerantly
from plaid_link_async._wire._nesting import MAX_NESTING

from ._helpers import CREATE, FAST_RETRY, acquired, error_texts, get_answer
from ._raw_server import JSON_HEAD, RawServer, Received, always, answer

SECRET = "hostile-s3cr3t-0a1b2c3d4e5f6a7b"
CLIENT_ID = "hostile-client-0123456789ab"
CREATED = json.dumps(
    {"link_token": "link-sandbox-1", "expiration": "2030-01-01T00:00:00Z", "request_id": "r1"}
).encode()
MiB = 1 << 20


def session(url: str, **options: Any) -> AsyncLinkSession:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeout", Timeout(total=10, attempt=5, connect=2))
    return AsyncLinkSession(CLIENT_ID, SECRET, base_url=url, **options)


def assert_clean(error: BaseException, *logs: str) -> None:
    """Neither the secret nor the client id anywhere in `error`, its chain, or `logs`."""
    for text in [*error_texts(error), *logs]:
        assert SECRET not in text
        assert "PLAID-SECRET" not in text.upper() or SECRET not in text


async def fail(plaid: AsyncLinkSession, kind: type[BaseException] = PlaidLinkError) -> Any:
    with pytest.raises(kind) as caught:
        await plaid.link_token_create(CREATE)
    assert acquired(plaid) == 0
    assert_clean(caught.value)
    return caught.value


async def fail_measured(plaid: AsyncLinkSession) -> tuple[UnexpectedResponseError, int]:
    """`fail(plaid)`, and the peak of what Python allocated meanwhile, in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        error = await fail(plaid, UnexpectedResponseError)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return error, peak


# -- redirects --------------------------------------------------------------------------


@pytest.fixture
async def recorder() -> AsyncIterator[RawServer]:
    """Where a redirect points: it must never see a connection."""
    async with RawServer(always(answer(200, CREATED, JSON_HEAD)), host="127.0.0.2") as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("where", ["another port", "another host"])
async def test_redirects_are_refused_and_nothing_is_sent_elsewhere(
    status: int, where: str, recorder: RawServer
) -> None:
    async with RawServer(always(b"")) as api:
        host = "127.0.0.2" if where == "another host" else "127.0.0.1"
        other = recorder.port
        if where == "another port":
            other_server = RawServer(always(answer(200, CREATED, JSON_HEAD)))
            await other_server.__aenter__()
            other = other_server.port
        target = f"http://{host}:{other}/steal?secret=1&token=abc"
        api.respond = always(answer(status, b"moved", {"Location": target}))
        async with session(api.url) as plaid:
            error = await fail(plaid, UnexpectedResponseError)
        assert error.status == status
        assert not error.retryable
        assert f"redirect refused: HTTP {status} to http://{host}:{other}" in str(error)
        assert "steal" not in str(error)
        assert "token=" not in str(error)
        assert len(api.received) == 1  # not retried
        if where == "another port":
            assert other_server.connections == 0
            await other_server.__aexit__(None, None, None)
        assert recorder.connections == 0


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


async def test_https_to_plain_http_redirect_is_refused(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], recorder: RawServer
) -> None:
    server_tls, client_tls = tls
    location = f"http://127.0.0.2:{recorder.port}/link/token/create"
    async with (
        RawServer(always(answer(307, b"", {"Location": location})), tls=server_tls) as api,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as http,
    ):
        async with session(api.url, session=http) as plaid:
            error = await fail(plaid, UnexpectedResponseError)
        assert f"to http://127.0.0.2:{recorder.port}" in str(error)
        assert api.received[0].headers["plaid-secret"] == SECRET  # it did reach the API
    assert recorder.connections == 0


# -- the exception chain ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 abc\r\n\r\n",  # malformed status line
        b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"link',  # lying, then closed
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",  # nonsense header
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # broken chunk
        b"\x16\x03\x01garbage",  # not HTTP at all
    ],
    ids=["status-line", "content-length", "bad-header", "chunk", "not-http"],
)
async def test_transport_failures_chain_nothing_that_holds_the_secret(raw: bytes) -> None:
    async with RawServer(always(raw, close=True)) as api, session(api.url) as plaid:
        error = await fail(plaid, TransportError)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert error.attempts == 3  # a broken answer may be a passing fault: retried
    assert len(api.received) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "got an empty body"), (b" \r\n\t ", "got an empty body"),
     (b"<html>busy</html>", "got a body that is not JSON (application/json)")],
)  # fmt: skip
async def test_a_blank_or_non_json_answer_is_named_as_such(body: bytes, message: str) -> None:
    async with RawServer(always(answer(200, body, JSON_HEAD))) as api, session(api.url) as plaid:
        error = await fail(plaid, UnexpectedResponseError)
    assert error.message == message
    assert error.status == 200


async def test_a_content_length_shorter_than_the_body_is_a_typed_error() -> None:
    body = CREATED + b"   trailing bytes the header did not declare" * 10
    head = {"Content-Length": "12", **JSON_HEAD}
    async with RawServer(always(answer(200, body, head))) as api, session(api.url) as plaid:
        error = await fail(plaid)
    # aiohttp sees the undeclared bytes as a broken next answer: a transport failure.
    assert isinstance(error, TransportError)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_credentials_with_control_characters_or_spaces_fail_at_construction() -> None:
    for client_id, secret, named in [
        (CLIENT_ID, SECRET + "\n", "secret"),
        (CLIENT_ID, " " + SECRET, "secret"),
        (CLIENT_ID + "\r\nX-Injected: 1", SECRET, "client_id"),
        (CLIENT_ID + "\x00", SECRET, "client_id"),
        (CLIENT_ID, SECRET + "é", "secret"),
    ]:
        with pytest.raises(ConfigurationError) as caught:
            AsyncLinkSession(client_id, secret, base_url="http://127.0.0.1:9")
        assert f"Plaid {named} " in str(caught.value)
        assert SECRET not in str(caught.value)
        assert CLIENT_ID not in str(caught.value)


# -- echoed secrets ---------------------------------------------------------------------


async def test_an_echoed_secret_is_scrubbed_from_plaid_errors() -> None:
    body = {
        "error_type": "INVALID_INPUT",
        "error_code": "INVALID_API_KEYS",
        "error_message": f"bad secret {SECRET} for client {CLIENT_ID}",
        "display_message": f"echo: PLAID-SECRET: {SECRET}",
        "request_id": f"req-{SECRET}",
        "causes": [{"deep": [SECRET]}],
        SECRET: SECRET,
    }
    async with (
        RawServer(always(answer(400, json.dumps(body).encode(), JSON_HEAD))) as api,
        session(api.url) as plaid,
    ):
        error = await fail(plaid, InvalidInputError)
    assert error.error_message == "bad secret *** for client ***"
    assert error.request_id == "req-***"
    assert CLIENT_ID not in str(error)


@pytest.mark.parametrize("status", [200, 503])
async def test_an_echoed_secret_is_scrubbed_from_odd_answers_and_retry_logs(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = f"<html>PLAID-SECRET: {SECRET}\nPLAID-CLIENT-ID: {CLIENT_ID}</html>".encode()
    head = {"Content-Type": f"text/html-{SECRET}"}
    async with RawServer(always(answer(status, page, head))) as api, session(api.url) as plaid:
        error = await fail(plaid, UnexpectedResponseError)
    assert "***" in (error.body_snippet or "")
    assert_clean(error, caplog.text, *(record.getMessage() for record in caplog.records))
    if status == 503:
        assert "retrying" in caplog.text


async def test_an_echoed_secret_in_a_field_path_is_scrubbed() -> None:
    body = json.dumps({"link_token": {SECRET: 1}, "expiration": "x", "request_id": SECRET})
    async with (
        RawServer(always(answer(200, body.encode(), JSON_HEAD))) as api,
        session(api.url) as plaid,
    ):
        await fail(plaid, UnexpectedResponseError)


# -- size ---------------------------------------------------------------------------------


async def test_a_declared_length_over_the_limit_fails_before_reading() -> None:
    async def respond(request: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(200, b"", {"Content-Length": str(3 << 30), **JSON_HEAD}))
        await api.stream(writer, b"0" * 65536, 3 << 30)
        return False

    api = RawServer(respond)
    async with api, session(api.url) as plaid:
        error = await fail(plaid, UnexpectedResponseError)
    # Refused for what it declares, before its body is read.
    assert "declares 3,221,225,472 bytes, over the limit of 2,097,152 bytes" in str(error)
    assert "max_response_bytes" in str(error)
    assert len(api.received) == 1  # not retried
    assert api.sent < 64 * MiB  # stopped long before the 3 GiB were sent


@pytest.mark.parametrize("chunked", [False, True], ids=["until-close", "chunked"])
async def test_an_endless_body_fails_at_the_limit_with_bounded_memory(chunked: bool) -> None:
    limit = 2 * MiB

    async def respond(request: Received, writer: asyncio.StreamWriter) -> bool:
        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Connection": "close"}
        head = answer(503, b"", {**framing, **JSON_HEAD})
        writer.write(head.replace(b"Content-Length: 0\r\n", b""))
        await api.stream(writer, b"[" * 65536, 8 << 30, chunked=chunked)
        return False

    api = RawServer(respond)
    async with api, session(api.url) as plaid:
        error, peak = await fail_measured(plaid)
    assert "is larger, over the limit of 2,097,152 bytes" in str(error)
    assert error.status == 503
    assert not error.retryable
    assert len(api.received) == 1
    assert peak < limit + 2 * MiB, f"peak {peak:,} bytes"
    assert api.sent < 256 * MiB


def _bomb(size: int, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    return b"".join(packer.compress(zeros) for _ in range(size // MiB)) + packer.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return _bomb(256 * MiB, 31)  # 256 MiB of zeros in about 250 KB


@pytest.mark.parametrize("status", [200, 503])
async def test_a_gzip_bomb_fails_early_and_is_not_retried(status: int, gzip_bomb: bytes) -> None:
    head = {"Content-Encoding": "gzip", **JSON_HEAD}
    async with RawServer(always(answer(status, gzip_bomb, head))) as api, session(api.url) as plaid:
        error, peak = await fail_measured(plaid)
    assert "over the limit of 2,097,152 bytes" in str(error)
    assert len(api.received) == 1
    assert peak < 6 * MiB, f"peak {peak:,} bytes"


async def test_a_deflate_bomb_fails_too() -> None:
    head = {"Content-Encoding": "deflate", **JSON_HEAD}
    async with (
        RawServer(always(answer(200, _bomb(64 * MiB, 15), head))) as api,
        session(api.url, max_response_bytes=MiB) as plaid,
    ):
        error = await fail(plaid, UnexpectedResponseError)
    assert "over the limit of 1,048,576 bytes" in str(error)


async def test_compressed_answers_within_the_limit_are_read() -> None:
    for encoding, wbits in [("gzip", 31), ("deflate", 15)]:
        packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
        packed = packer.compress(CREATED) + packer.flush()
        head = {"Content-Encoding": encoding, **JSON_HEAD}
        async with RawServer(always(answer(200, packed, head))) as api, session(api.url) as plaid:
            created = await plaid.link_token_create(CREATE)
        assert created.link_token == "link-sandbox-1"
        assert api.received[0].headers["accept-encoding"] == "gzip, deflate"


async def test_an_encoding_not_asked_for_is_refused() -> None:
    head = {"Content-Encoding": "br", **JSON_HEAD}
    async with RawServer(always(answer(200, b"\x00" * 10, head))) as api, session(api.url) as plaid:
        error = await fail(plaid, UnexpectedResponseError)
    assert "Content-Encoding 'br'" in str(error)


async def test_an_answer_at_the_limit_passes_and_one_byte_more_fails() -> None:
    limit = 4096
    padded = json.loads(CREATED)
    padded["pad"] = ""
    base = len(json.dumps(padded).encode())
    padded["pad"] = "x" * (limit - base)
    exact = json.dumps(padded).encode()
    assert len(exact) == limit
    for body, ok in [(exact, True), (exact[:-1] + b' "}', False)]:
        async with (
            RawServer(always(answer(200, body, JSON_HEAD))) as api,
            session(api.url, max_response_bytes=limit) as plaid,
        ):
            if ok:
                assert (await plaid.link_token_create(CREATE)).link_token
            else:
                await fail(plaid, UnexpectedResponseError)


def test_max_response_bytes_is_checked() -> None:
    for bad in [0, -1, 1.5, True, "1"]:
        with pytest.raises(ConfigurationError, match="max_response_bytes"):
            AsyncLinkSession(CLIENT_ID, SECRET, max_response_bytes=bad)  # type: ignore[arg-type]
    assert AsyncLinkSession(CLIENT_ID, SECRET).max_response_bytes == 2 * MiB


# -- time ---------------------------------------------------------------------------------


def _large_get_body(target: int) -> bytes:
    event = {
        "event_id": "e",
        "event_name": "OPEN",
        "timestamp": "2024-07-29T20:21:59Z",
        "event_metadata": {"request_id": "r", "institution_id": "ins_1"},
    }
    session_ = {"link_session_id": "s", "started_at": "2024-07-29T20:21:59Z", "events": []}
    body = get_answer(link_sessions=[session_])
    size = len(json.dumps(body))
    session_["events"] = [event] * ((target - size) // (len(json.dumps(event)) + 2))
    return json.dumps(body).encode()


async def test_parsing_a_large_answer_counts_against_the_deadline() -> None:
    # 8 MiB (over the default limit, under a raised one) takes about two seconds to
    # parse here: far past the deadline of a 0.5 s call whose answer comes after 0.3 s.
    body = _large_get_body(8 * MiB)

    async def respond(request: Received, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.3)
        writer.write(answer(200, body, JSON_HEAD))
        await writer.drain()
        return True

    async with (
        RawServer(respond) as api,
        session(api.url, timeout=0.5, max_response_bytes=32 * MiB) as plaid,
    ):
        request = m.LinkTokenGetRequest(link_token="link-sandbox-1")
        started = time.monotonic()
        with pytest.raises(PlaidTimeoutError) as caught:
            await plaid.link_token_get(request)
        elapsed = time.monotonic() - started
        assert acquired(plaid) == 0
        # With time to spare, the same answer parses (off the loop, typed).
        started = time.monotonic()
        parsed = await plaid.link_token_get(request, timeout=60)
        whole = time.monotonic() - started
    # The documented margin (0.25 s past the deadline) on a quiet machine; on a busy one,
    # at least well before the whole parse would have ended.
    assert elapsed < max(0.5 + 0.25, 0.9 * whole), (elapsed, whole)
    assert "parsing a 8," in str(caught.value)
    assert len(parsed.link_sessions or []) == 1
    assert_clean(caught.value)


def test_a_large_answer_is_parsed_off_the_event_loop() -> None:
    # How long the loop is held is measured by bench/large_answers.py; what is tested
    # here is the decision: an answer over INLINE_DECODE_BYTES is left unread by
    # read_at_once, and read_rest parses it in a worker thread.
    body = _large_get_body(2 * MiB - 1000)
    raw = TransportResponse(200, {}, body)
    route = routes("https://plaid.test")["link_token_get"]
    assert read_at_once(raw, route) == (None, UNREAD)
    small = TransportResponse(200, {}, _large_get_body(32 * 1024))
    assert read_at_once(small, route)[0] is not None


# -- reprs --------------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, Any]:
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(levels - 1):
        cursor["a"] = cursor = {}
    return deep


def test_repr_of_deep_or_huge_unknown_fields_never_raises() -> None:
    data = json.loads(CREATED)
    data["deep"] = _nested(MAX_NESTING)  # as deep as a model keeps
    data["huge"] = ["x" * 10_000] * 10_000
    data["wide"] = {f"k{n}": n for n in range(10_000)}
    created = from_dict(m.LinkTokenCreateResponse, data)
    text = repr(created)
    assert len(text) < 10_000
    assert "nested too deep" in text
    assert "more items" in text
    assert "more keys" in text
    assert repr(created.extra).startswith("ExtraFields(")


def test_an_unknown_field_nested_too_deep_is_dropped_or_refused() -> None:
    data = json.loads(CREATED)
    data["deep"] = _nested(100_000)
    with pytest.raises(UnexpectedResponseError, match="deep: unknown field nested deeper"):
        from_dict(m.LinkTokenCreateResponse, data)
    created, drift = read_tolerantly(m.LinkTokenCreateResponse, data)
    assert "deep" not in created.extra
    assert [str(item) for item in drift] == ["deep: nested deeper than 32 levels; dropped"]


async def test_no_retry_policy_hides_a_redirect() -> None:
    async with (
        RawServer(always(answer(302, b"", {"Location": "/elsewhere"}))) as api,
        session(api.url, retry=RetryPolicy(max_attempts=5)) as plaid,
    ):
        error = await fail(plaid, UnexpectedResponseError)
    assert "a relative Location" in str(error)
    assert len(api.received) == 1


@pytest.mark.parametrize("status", [200, 503])
async def test_a_failed_answer_is_freed_without_waiting_for_the_garbage_collector(
    status: int,
) -> None:
    # Valid JSON of the wrong shape, big enough to parse off the loop: once the call
    # has failed, nothing (no frame in a reference cycle) keeps the parsed body alive.
    body = b"[" + b"0," * 300_000 + b"0]"
    gc.collect()
    gc.disable()
    try:
        async with (
            RawServer(always(answer(status, body, JSON_HEAD))) as api,
            session(api.url) as plaid,
        ):
            await fail(plaid, UnexpectedResponseError)
        alive = [o for o in gc.get_objects() if isinstance(o, list) and len(o) > 100_000]
    finally:
        gc.enable()
    assert alive == []


async def test_a_session_passed_in_keeps_the_rules_whatever_its_defaults(
    gzip_bomb: bytes, recorder: RawServer
) -> None:
    plaid_error = json.dumps(
        {
            "error_type": "INVALID_INPUT",
            "error_code": "INVALID_LINK_TOKEN",
            "error_message": "m",
            "display_message": None,
            "request_id": "r",
        }
    ).encode()
    answers = [
        (answer(400, plaid_error, JSON_HEAD), InvalidInputError),
        (answer(200, gzip_bomb, {"Content-Encoding": "gzip"}), UnexpectedResponseError),
        (answer(307, b"", {"Location": f"{recorder.url}/x"}), UnexpectedResponseError),
    ]
    for raw, kind in answers:
        async with (
            RawServer(always(raw)) as api,
            aiohttp.ClientSession(raise_for_status=True, auto_decompress=True) as http,
            session(api.url, session=http) as plaid,
        ):
            await fail(plaid, kind)
    assert recorder.connections == 0
