"""The fault matrix: every fault kind against every call, through the real transport.

For each: the attempts made, the exception and its fields, and that every connection
went back to the pool. A call that is not safe to repeat (an exchange, a delivery) is
retried only after a fault that proves Plaid did not act; after any other it raises
`AmbiguousOutcomeError` having sent one request.
"""

from __future__ import annotations

from typing import Any

import pytest

from plaid_link_async import (
    AmbiguousOutcomeError,
    APIServerError,
    InvalidRequestError,
    PlaidLinkError,
    PlaidTimeoutError,
    RateLimitError,
    Timeout,
    TransportError,
    UnexpectedResponseError,
)
from plaid_link_async._schema._operations import ENDPOINTS
from plaid_link_async.testing import FakePlaidServer, Fault

from ._helpers import CALLS_DEPRECATED, UNSAFE_CALLS, acquired, call_requests, session_for

# (fault, exception raised once attempts run out, retried, fields to check)
MATRIX: dict[str, tuple[Fault, type[PlaidLinkError], bool, dict[str, Any]]] = {
    "invalid_request": (
        Fault.plaid_error(400, "INVALID_REQUEST", "MISSING_FIELDS", "missing: user"),
        InvalidRequestError,
        False,
        {"status": 400, "error_code": "MISSING_FIELDS", "error_message": "missing: user"},
    ),
    "server_error_500": (
        Fault.server_error(500),
        APIServerError,
        True,
        {"status": 500, "error_type": "API_ERROR", "error_code": "INTERNAL_SERVER_ERROR"},
    ),
    "maintenance_503": (
        Fault.server_error(503),
        APIServerError,
        True,
        {"status": 503, "error_code": "PLANNED_MAINTENANCE"},
    ),
    "rate_limit_429": (
        Fault.rate_limit(retry_after=0.01),
        RateLimitError,
        True,
        {"status": 429, "error_type": "RATE_LIMIT_EXCEEDED", "retry_after": 0.01},
    ),
    "proxy_502_html": (
        Fault.proxy_error(502),
        UnexpectedResponseError,
        True,
        {"status": 502, "request_id": None},
    ),
    "proxy_504_html": (
        Fault.proxy_error(504),
        UnexpectedResponseError,
        True,
        {"status": 504},
    ),
    "proxy_503_empty": (
        Fault.empty_body(503),
        UnexpectedResponseError,
        True,
        {"status": 503, "body_snippet": ""},
    ),
    "connection_reset": (Fault.connection_reset(), TransportError, True, {"retryable": True}),
    "hang": (Fault.hang(), PlaidTimeoutError, True, {}),
    "malformed_json": (
        Fault.malformed_json(),
        UnexpectedResponseError,
        False,
        {"status": 200, "body_snippet": '{"link_token": "link-sandbox-'},
    ),
    "empty_body": (Fault.empty_body(), UnexpectedResponseError, False, {"status": 200}),
    "wrong_shape": (Fault.wrong_shape(), UnexpectedResponseError, False, {"status": 200}),
    "lost_answer": (Fault.lost_answer(), TransportError, True, {"retryable": True}),
}
#: The faults that prove Plaid did not act: its refusals (4xx) and its maintenance
#: answer, whose operations are disabled. Every other fault leaves the outcome unknown.
NOT_PROCESSED = frozenset({"invalid_request", "rate_limit_429", "maintenance_503"})
CALLS = sorted({*ENDPOINTS, *UNSAFE_CALLS})

pytestmark = CALLS_DEPRECATED


@pytest.fixture
async def setup(fake_plaid: FakePlaidServer) -> Any:
    # A short attempt timeout keeps the hang cases quick.
    async with session_for(fake_plaid, timeout=Timeout(total=5, attempt=0.2)) as plaid:
        requests = await call_requests(plaid, fake_plaid)
        fake_plaid.requests.clear()
        yield plaid, fake_plaid, requests


def endpoint_of(call: str) -> str:
    return call.split("+")[0]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("case", sorted(MATRIX))
async def test_fault_until_attempts_run_out(setup: Any, call: str, case: str) -> None:
    plaid, fake, requests = setup
    endpoint = endpoint_of(call)
    fault, error_class, retried, fields = MATRIX[case]
    ambiguous = call in UNSAFE_CALLS and case not in NOT_PROCESSED
    expected_attempts = plaid.retry.max_attempts if retried and not ambiguous else 1
    fake.inject(endpoint, *[fault] * 3)

    with pytest.raises(AmbiguousOutcomeError if ambiguous else error_class) as caught:
        await getattr(plaid, endpoint)(requests[call])

    assert len(fake.requests_for(endpoint)) == expected_attempts
    assert acquired(plaid) == 0
    if ambiguous:
        outer = caught.value
        assert isinstance(outer, AmbiguousOutcomeError)
        assert (outer.endpoint, outer.attempts) == (endpoint, 1)
        line = str(outer)
        assert "\n" not in line
        assert "not sent again" in line
        assert outer.check in line
        error: Any = outer.error
        assert outer.status == getattr(error, "status", None)
        assert outer.request_id == getattr(error, "request_id", None)
    else:
        error = caught.value
    assert type(error) is error_class
    assert error.attempts == expected_attempts
    assert error.endpoint == endpoint
    for name, value in fields.items():
        assert getattr(error, name) == value, name
    if isinstance(error, (APIServerError, InvalidRequestError, RateLimitError)):
        assert error.request_id
        assert error.request_id in str(error)
    line = str(error)
    assert "\n" not in line
    assert endpoint in line


@pytest.mark.parametrize(
    ("call", "case"),
    [
        (call, case)
        for call in CALLS
        for case in sorted(name for name, spec in MATRIX.items() if spec[2])
        # The others raise AmbiguousOutcomeError, as the matrix above checks.
        if call not in UNSAFE_CALLS or case in NOT_PROCESSED
    ],
)
async def test_retryable_fault_once_then_success(setup: Any, call: str, case: str) -> None:
    plaid, fake, requests = setup
    endpoint = endpoint_of(call)
    fake.inject(endpoint, MATRIX[case][0])
    result = await getattr(plaid, endpoint)(requests[call])
    assert result.request_id
    assert len(fake.requests_for(endpoint)) == 2
    assert acquired(plaid) == 0


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
async def test_latency_fault_only_delays(setup: Any, endpoint: str) -> None:
    plaid, fake, requests = setup
    fake.inject(endpoint, Fault.latency(0.05))
    result = await getattr(plaid, endpoint)(requests[endpoint])
    assert result.request_id
    assert len(fake.requests_for(endpoint)) == 1


async def test_faults_for_any_endpoint_are_used_once_in_order(setup: Any) -> None:
    plaid, fake, requests = setup
    fake.inject("*", Fault.server_error(), Fault.rate_limit(retry_after=0))
    assert fake.pending_faults("*") == 2
    await plaid.link_token_get(requests["link_token_get"])
    assert fake.pending_faults("*") == 0
    assert len(fake.requests) == 3


def test_injecting_for_an_unknown_endpoint_is_refused() -> None:
    fake = FakePlaidServer()
    with pytest.raises(ValueError, match="unknown endpoint 'link_token_make'"):
        fake.inject("link_token_make", Fault.hang())
