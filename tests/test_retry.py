"""RetryPolicy: what is retried, how long it waits, Retry-After, deadlines, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import time
from typing import Any

import attrs
import pytest

from plaid_link_async import (
    AmbiguousOutcomeError,
    APIServerError,
    AsyncLinkSession,
    ConfigurationError,
    InvalidInputError,
    PlaidTimeoutError,
    RateLimitError,
    RetryPolicy,
    Timeout,
    TransportError,
    TransportRequest,
    UnexpectedResponseError,
)
from plaid_link_async import (
    models as m,
)
from plaid_link_async._calls._retry_policy import is_retryable, parse_retry_after
from plaid_link_async.testing import FakePlaidServer, Fault, MockTransport

from ._helpers import CREATE, acquired, session_for


def _api_error(cls: type[Any], status: int, error_type: str) -> Any:
    error = m.PlaidError(
        error_type=error_type, error_code="X", error_message="x", display_message=None
    )
    return cls(error, status=status)


def test_defaults_retry_twice_with_capped_backoff() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    waits = [policy.backoff(n) for n in range(1, 8)]
    assert 0.375 <= waits[0] <= 0.5
    assert 0.75 <= waits[1] <= 1.0
    assert all(wait <= 8.0 for wait in waits)
    assert waits[-1] >= 6.0  # capped at 8 s, less at most 25 % jitter


def test_backoff_stays_capped_however_many_attempts() -> None:
    policy = RetryPolicy(max_attempts=100_000)
    assert 6.0 <= policy.backoff(99_999) <= 8.0


def test_jitter_spreads_the_waits() -> None:
    policy = RetryPolicy(initial_delay=1.0, jitter=0.5)
    waits = {round(policy.backoff(1), 6) for _ in range(50)}
    assert len(waits) > 40
    assert all(0.5 <= wait <= 1.0 for wait in waits)
    assert RetryPolicy(initial_delay=1.0, jitter=0).backoff(1) == 1.0


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"initial_delay": -1},
        {"max_delay": float("nan")},
        {"jitter": 1.5},
        {"max_retry_after": -0.1},
    ],
)
def test_bad_policies_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        RetryPolicy(**options)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_api_error(APIServerError, 500, "API_ERROR"), True),
        (_api_error(APIServerError, 503, "API_ERROR"), True),
        (_api_error(RateLimitError, 429, "RATE_LIMIT_EXCEEDED"), True),
        (_api_error(RateLimitError, 400, "RATE_LIMIT_EXCEEDED"), True),
        (_api_error(InvalidInputError, 400, "INVALID_INPUT"), False),
        (_api_error(InvalidInputError, 408, "INVALID_INPUT"), True),
        (UnexpectedResponseError("x", status=502), True),
        (UnexpectedResponseError("x", status=200), False),
        (UnexpectedResponseError("x", status=404), False),
        (TransportError("reset"), True),
        (TransportError("bad url", retryable=False), False),
        (PlaidTimeoutError("slow"), True),
        (ValueError("not ours"), False),
    ],
)
def test_what_is_retried(error: BaseException, retried: bool) -> None:
    assert is_retryable(error) is retried


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"Retry-After": " 1.5 "}) == 1.5
    assert parse_retry_after({"Retry-After": "-4"}) == 0.0
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (parse_retry_after({"Retry-After": date}, now=now) or 0) <= 30
    for bad in ("soon", "", "inf", "nan", "Mon, 99 Foo 2020"):
        assert parse_retry_after({"Retry-After": bad}) is None
    assert parse_retry_after({}) is None


def test_retry_after_replaces_backoff_up_to_its_cap() -> None:
    policy = RetryPolicy(max_retry_after=5)
    hinted = UnexpectedResponseError("x", status=503, retry_after=2.0)
    assert policy.wait_for(hinted, 1) == 2.0
    assert policy.wait_for(UnexpectedResponseError("x", retry_after=60.0), 1) == 5.0
    assert policy.wait_for(UnexpectedResponseError("x"), 1) <= 0.5


CREATED = {"link_token": "link-1", "expiration": "2026-12-06T04:00:00Z", "request_id": "r"}
RATE_LIMITED = {"error_type": "RATE_LIMIT_EXCEEDED", "error_code": "RATE_LIMIT", "request_id": "r"}


def answering(*answers: Any) -> tuple[MockTransport, list[TransportRequest]]:
    """A transport giving `answers` in turn (the last one again), and what it was sent."""
    sent: list[TransportRequest] = []

    def plaid(request: TransportRequest) -> Any:
        sent.append(request)
        return answers[min(len(sent), len(answers)) - 1]

    return MockTransport(plaid), sent


def mocked(transport: MockTransport, waits: list[float], **options: Any) -> AsyncLinkSession:
    """A session over `transport` that notes each retry's wait in `waits`."""
    return AsyncLinkSession(
        "id", "secret", base_url="https://plaid.test", transport=transport,
        on_retry=lambda event: waits.append(event.wait), **options,
    )  # fmt: skip


# The waits are asserted as the session decides them (its retry events), not timed.


async def test_retry_after_is_honoured() -> None:
    transport, sent = answering((429, {"Retry-After": "0.3"}, RATE_LIMITED), (200, {}, CREATED))
    waits: list[float] = []
    async with mocked(transport, waits, retry=RetryPolicy(initial_delay=0)) as plaid:
        await plaid.link_token_create(CREATE)
    assert waits == [0.3]
    assert len(sent) == 2


async def test_retry_after_as_http_date_is_honoured() -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1 to 2 s away
    transport, sent = answering((503, {"Retry-After": when}, b"busy"), (200, {}, CREATED))
    waits: list[float] = []
    async with mocked(transport, waits, retry=RetryPolicy(initial_delay=0)) as plaid:
        await plaid.link_token_create(CREATE)
    assert len(waits) == 1
    assert 0.9 <= waits[0] <= 2.0
    assert len(sent) == 2


async def test_a_retry_after_within_the_cap_is_waited() -> None:
    transport, sent = answering((429, {"Retry-After": "0.2"}, RATE_LIMITED), (200, {}, CREATED))
    waits: list[float] = []
    async with mocked(transport, waits, retry=RetryPolicy(max_retry_after=0.5)) as plaid:
        await plaid.link_token_create(CREATE)
    assert waits == [0.2]
    assert len(sent) == 2


async def test_a_retry_after_over_the_cap_is_raised_at_once() -> None:
    transport, sent = answering((429, {"Retry-After": "3600"}, RATE_LIMITED))
    waits: list[float] = []
    async with mocked(transport, waits, retry=RetryPolicy(max_retry_after=30)) as plaid:
        with pytest.raises(RateLimitError) as caught:
            await plaid.link_token_create(CREATE)
    # Not 30 s of waiting for a call that then fails anyway: the caller decides.
    assert waits == []
    assert caught.value.retry_after == 3600
    assert caught.value.attempts == 1
    assert len(sent) == 1


async def test_a_hanging_server_times_out_within_the_attempt_timeout(
    fake_plaid: FakePlaidServer,
) -> None:
    async with session_for(fake_plaid, retry=RetryPolicy(max_attempts=1)) as plaid:
        fake_plaid.inject("link_token_create", Fault.hang())
        with pytest.raises(PlaidTimeoutError) as caught:
            await plaid.link_token_create(CREATE, timeout=Timeout(total=10, attempt=0.5))
        assert "no answer within 0.5 s (attempt timeout" in str(caught.value)
        assert not caught.value.connecting  # connected, then no answer
        assert caught.value.attempts == 1
        assert acquired(plaid) == 0


async def test_connect_bounds_opening_a_connection() -> None:
    # A listener whose accept queue is full drops further SYNs: connecting hangs, as to
    # a host behind a black-holing firewall.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        async with AsyncLinkSession(
            "id", "secret", base_url=f"http://{host}:{port}", retry=RetryPolicy(max_attempts=1)
        ) as plaid:
            with pytest.raises(PlaidTimeoutError) as caught:
                await plaid.link_token_create(
                    CREATE, timeout=Timeout(total=10, attempt=5, connect=0.3)
                )
        assert caught.value.connecting
        assert "could not open a connection within 0.3 s (connect timeout)" in str(caught.value)
        assert not caught.value.sent
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_waiting_for_a_pooled_connection_is_not_a_connect_timeout(
    fake_plaid: FakePlaidServer,
) -> None:
    fake_plaid.latency = 0.3
    limits = Timeout(total=10, attempt=5, connect=0.1)
    async with session_for(fake_plaid, connector_limit=1, timeout=limits) as plaid:
        # The second call waits 0.3 s for the only connection: longer than `connect`.
        first, second = await asyncio.gather(
            plaid.link_token_create(CREATE), plaid.link_token_create(CREATE)
        )
    assert first.link_token != second.link_token
    assert len(fake_plaid.requests) == 2  # neither was retried


async def test_the_overall_timeout_bounds_the_retries(fake_plaid: FakePlaidServer) -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=0.05)
    async with session_for(fake_plaid, retry=policy) as plaid:
        fake_plaid.inject("link_token_create", *[Fault.hang()] * 10)
        with pytest.raises(PlaidTimeoutError) as caught:
            await plaid.link_token_create(CREATE, timeout=Timeout(total=1.0, attempt=0.3))
        assert 2 <= caught.value.attempts <= 4
        assert acquired(plaid) == 0


async def test_no_sleep_past_the_deadline() -> None:
    # Retry-After of 5 s does not fit in a 1 s call: it gives up at once, with Plaid's error.
    transport, sent = answering((429, {"Retry-After": "5"}, RATE_LIMITED))
    waits: list[float] = []
    async with mocked(transport, waits, retry=RetryPolicy(max_retry_after=10)) as plaid:
        with pytest.raises(RateLimitError) as caught:
            await plaid.link_token_create(CREATE, timeout=1.0)
    assert waits == []
    assert caught.value.attempts == 1
    assert caught.value.retry_after == 5.0
    assert len(sent) == 1


async def test_the_last_error_is_raised_with_the_attempts(fake_plaid: FakePlaidServer) -> None:
    async with session_for(fake_plaid) as plaid:
        fake_plaid.inject(
            "link_token_create",
            Fault.proxy_error(502),
            Fault.connection_reset(),
            Fault.server_error(503),
        )
        with pytest.raises(APIServerError) as caught:
            await plaid.link_token_create(CREATE)
        assert caught.value.attempts == 3
        assert caught.value.status == 503
        assert "after 3 attempts" in str(caught.value)


async def test_a_cancelled_call_stops_at_once(fake_plaid: FakePlaidServer) -> None:
    policy = RetryPolicy(max_retry_after=30)
    async with session_for(fake_plaid, retry=policy, timeout=60) as plaid:
        fake_plaid.inject("link_token_create", Fault.rate_limit(retry_after=20))
        task = asyncio.create_task(plaid.link_token_create(CREATE))
        await asyncio.sleep(0.2)  # now in the 20 s wait before the retry
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # a cancel that waited out the 20 s would hang the test here
        assert len(fake_plaid.requests) == 1
        assert acquired(plaid) == 0
        await plaid.link_token_create(CREATE)  # still works


async def test_retries_are_logged_at_info(
    fake_plaid: FakePlaidServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="plaid_link_async")
    async with session_for(fake_plaid) as plaid:
        fake_plaid.inject("link_token_create", Fault.server_error())
        await plaid.link_token_create(CREATE)
    (record,) = caplog.records
    assert record.levelname == "INFO"
    message = record.getMessage()
    assert "link_token_create attempt 1 of 3 failed" in message
    assert "INTERNAL_SERVER_ERROR" in message
    assert "request_id=" in message


def hosted(client_user_id: str = "u-1") -> Any:
    user = m.LinkTokenCreateRequestUser(client_user_id=client_user_id, phone_number="+14155550100")
    return attrs.evolve(
        CREATE, user=user, hosted_link=m.LinkTokenCreateHostedLink(delivery_method="sms")
    )


async def test_a_tls_handshake_that_never_ends_is_not_sent_when_connect_equals_the_attempt() -> (
    None
):
    # timeout=1.5: the attempt is 1.5 s and so is connect. A server that accepts and never
    # answers the TLS handshake holds the connect phase past the attempt: that must be a
    # connect timeout (never sent), not a maybe-sent timeout, even for a Hosted Link text.
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncLinkSession(
            "id", "secret", base_url=f"https://127.0.0.1:{port}", timeout=1.5,
            retry=RetryPolicy(max_attempts=2, initial_delay=0.01),
        ) as plaid:  # fmt: skip
            with pytest.raises(PlaidTimeoutError) as caught:
                await plaid.link_token_create(hosted())
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert not isinstance(caught.value, AmbiguousOutcomeError)
    assert caught.value.connecting
    assert not caught.value.sent
    assert "the request was not sent" in str(caught.value)


async def test_a_pool_wait_that_outlasts_the_attempt_is_not_sent_and_is_retried(
    fake_plaid: FakePlaidServer,
) -> None:
    fake_plaid.inject("link_token_create", Fault.latency(1.0))  # the first call only
    limits = Timeout(total=10, attempt=0.5, connect=0.5)
    policy = RetryPolicy(max_attempts=5, initial_delay=0.3, max_delay=0.3)
    async with session_for(fake_plaid, connector_limit=1, timeout=limits, retry=policy) as plaid:
        slow = asyncio.ensure_future(plaid.link_token_create(CREATE, timeout=Timeout(total=5)))
        await asyncio.sleep(0.05)  # the only connection is taken for a second
        text = await plaid.link_token_create(hosted())  # waits, gives up unsent, retries
        await slow
    assert text.hosted_link_url
    sent = [r for r in fake_plaid.requests_for("link_token_create") if "hosted_link" in r.body]
    assert len(sent) == 1  # one text: the attempts that waited sent nothing
