"""Retries never repeat what Plaid may already have done.

An exchange, a Hosted Link delivery and a `link_token_create` that delivers are sent
again only after a failure that proves Plaid did not act (nothing was sent, a 429, a
4xx, planned maintenance). After any other the call raises `AmbiguousOutcomeError`
having sent exactly one request. Everything talks HTTP to the fake on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_link_async import (
    AmbiguousOutcomeError,
    AsyncLinkSession,
    ConfigurationError,
    InvalidInputError,
    PlaidTimeoutError,
    RetryPolicy,
    Timeout,
    TransportError,
    to_dict,
)
from plaid_link_async import models as m
from plaid_link_async._calls._side_effects import RULES, is_repeatable
from plaid_link_async._schema._operations import ENDPOINTS
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, Fault

from ._helpers import (
    CALLS_DEPRECATED,
    CREATE,
    DELIVERING_CREATE,
    FAST_RETRY,
    UNSAFE_CALLS,
    acquired,
    call_requests,
    error_texts,
    examples,
    session_for,
)
from .test_cli import SECRET, lines, plaid_link

QUICK = Timeout(total=5, attempt=0.3, connect=1)

pytestmark = CALLS_DEPRECATED


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- the classification ---------------------------------------------------------------------


def test_every_operation_is_classified() -> None:
    # A `*_get` is a read by its name; every other operation must be listed, so that a
    # new one from a newer contract is looked at (unlisted, it counts as unsafe).
    for name in ENDPOINTS:
        assert name.endswith("_get") or name in RULES, name
    assert not is_repeatable("item_remove", None)  # an operation nobody has classified
    assert is_repeatable("link_token_create", CREATE)
    assert not is_repeatable("link_token_create", DELIVERING_CREATE)
    email = attrs.evolve(CREATE, hosted_link=m.LinkTokenCreateHostedLink(delivery_method="email"))
    assert not is_repeatable("link_token_create", email)
    # Hosted Link without delivery only returns a URL: safe.
    hosted = attrs.evolve(CREATE, hosted_link=m.LinkTokenCreateHostedLink())
    assert is_repeatable("link_token_create", hosted)


def test_the_policy_overrides_the_rule_per_operation() -> None:
    policy = RetryPolicy(
        repeatable={"item_public_token_exchange": True, "link_token_create": False}
    )
    assert policy.repeats("item_public_token_exchange", None)
    assert not policy.repeats("link_token_create", CREATE)
    assert not RetryPolicy().repeats("item_public_token_exchange", None)
    with pytest.raises(ConfigurationError, match="did you mean 'link_token_create'"):
        RetryPolicy(repeatable={"link_token_creat": True})
    with pytest.raises(ConfigurationError, match="True or False"):
        RetryPolicy(repeatable={"link_token_create": "yes"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        policy.repeatable["link_token_get"] = False  # type: ignore[index]
    assert hash(policy) == hash(RetryPolicy())  # still usable as a key


# -- the cases, against the fake ----------------------------------------------------


@pytest.fixture
async def plaid(fake_plaid: FakePlaidServer) -> Any:
    async with session_for(fake_plaid, timeout=QUICK) as session:
        yield session


async def test_a_delivering_create_that_hangs_is_sent_once(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    # The case: the answer is held past the attempt timeout, and Plaid (here the
    # fake, after its latency) does create the token and text the user.
    fake_plaid.inject("link_token_create", Fault.latency(0.8))
    with pytest.raises(AmbiguousOutcomeError) as caught:
        await plaid.link_token_create(DELIVERING_CREATE)
    await asyncio.sleep(0.8)  # time for a retry to arrive, if one were sent
    assert len(fake_plaid.requests_for("link_token_create")) == 1
    assert len(fake_plaid.link_tokens()) == 1  # it did act: one text, never two
    error = caught.value
    assert isinstance(error.error, PlaidTimeoutError)
    assert (error.endpoint, error.attempts, error.status, error.request_id) == (
        "link_token_create",
        1,
        None,
        None,
    )
    line = str(error)
    assert line.startswith("link_token_create: outcome unknown after no answer within 0.3 s")
    assert "Plaid may have processed it" in line
    assert "do not create another" in line
    assert acquired(plaid) == 0


@pytest.mark.parametrize("fault", [Fault.connection_reset(), Fault.lost_answer()])
async def test_a_delivering_create_whose_connection_drops_is_sent_once(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession, fault: Fault
) -> None:
    fake_plaid.inject("link_token_create", fault)
    with pytest.raises(AmbiguousOutcomeError) as caught:
        await plaid.link_token_create(DELIVERING_CREATE)
    assert isinstance(caught.value.error, TransportError)
    assert caught.value.error.sent
    assert len(fake_plaid.requests_for("link_token_create")) == 1


@pytest.mark.parametrize("fault", [Fault.connection_reset(), Fault.lost_answer(), Fault.hang()])
async def test_a_plain_create_is_retried_as_before(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession, fault: Fault
) -> None:
    fake_plaid.inject("link_token_create", fault)
    created = await plaid.link_token_create(CREATE)
    assert created.link_token
    assert len(fake_plaid.requests_for("link_token_create")) == 2


async def exchange_request(
    plaid: AsyncLinkSession, fake: FakePlaidServer
) -> m.ItemPublicTokenExchangeRequest:
    """A request to exchange a fresh public token, from a Link session the fake completed."""
    created = await plaid.link_token_create(CREATE)
    public_token = fake.complete_link(created.link_token).public_tokens[0]
    return m.ItemPublicTokenExchangeRequest(public_token=public_token)


async def test_an_exchange_whose_answer_is_lost_is_not_repeated(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    request = await exchange_request(plaid, fake_plaid)
    fake_plaid.inject("item_public_token_exchange", Fault.lost_answer())
    with pytest.raises(AmbiguousOutcomeError, match="ITEM_ADD_RESULT or SESSION_FINISHED"):
        await plaid.item_public_token_exchange(request)
    assert len(fake_plaid.requests_for("item_public_token_exchange")) == 1
    # What a blind retry would have met: the token was spent by the lost attempt.
    with pytest.raises(InvalidInputError) as caught:
        await plaid.item_public_token_exchange(request)
    assert caught.value.error_code == "INVALID_PUBLIC_TOKEN"


async def test_an_exchange_after_a_429_is_retried(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    request = await exchange_request(plaid, fake_plaid)
    fake_plaid.inject("item_public_token_exchange", Fault.rate_limit(retry_after=0))
    exchanged = await plaid.item_public_token_exchange(request)
    assert exchanged.access_token
    assert len(fake_plaid.requests_for("item_public_token_exchange")) == 2


async def test_an_unsafe_call_is_retried_when_the_connection_is_refused() -> None:
    # Nothing listens on the port for the first attempt; the fake starts there during
    # the backoff, and the second attempt is the first request Plaid ever sees.
    port = _free_port()
    fake = FakePlaidServer(port=port)
    retry = RetryPolicy(initial_delay=0.4, max_delay=0.4, jitter=0)
    async with AsyncLinkSession(
        fake.client_id,
        DEFAULT_SECRET,
        base_url=f"http://127.0.0.1:{port}",
        retry=retry,
        timeout=QUICK,
    ) as plaid:
        call = asyncio.ensure_future(plaid.link_token_create(DELIVERING_CREATE))
        await asyncio.sleep(0.1)
        async with fake:
            created = await call
            assert created.link_token
            assert len(fake.requests_for("link_token_create")) == 1


async def test_a_read_that_hangs_is_retried_as_before(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    created = await plaid.link_token_create(CREATE)
    fake_plaid.inject("link_token_get", Fault.hang())
    info = await plaid.link_token_get(m.LinkTokenGetRequest(link_token=created.link_token))
    assert info.link_token == created.link_token
    assert len(fake_plaid.requests_for("link_token_get")) == 2


async def test_the_override_retries_an_unsafe_call(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    fake_plaid.inject("link_token_create", Fault.server_error())
    policy = attrs.evolve(FAST_RETRY, repeatable={"link_token_create": True})
    created = await plaid.link_token_create(DELIVERING_CREATE, retry=policy)
    assert created.link_token
    assert len(fake_plaid.requests_for("link_token_create")) == 2


async def test_a_later_attempt_can_be_the_ambiguous_one(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    fake_plaid.inject("link_token_create", Fault.rate_limit(retry_after=0), Fault.server_error())
    with pytest.raises(AmbiguousOutcomeError) as caught:
        await plaid.link_token_create(DELIVERING_CREATE)
    error = caught.value
    assert (error.attempts, error.status) == (2, 500)
    assert error.request_id
    assert error.request_id in str(error)
    assert "after 2 attempts" in str(error)
    assert len(fake_plaid.requests_for("link_token_create")) == 2


async def test_the_ambiguous_error_holds_no_secret_and_pickles(
    fake_plaid: FakePlaidServer, plaid: AsyncLinkSession
) -> None:
    fake_plaid.inject("link_token_create", Fault.connection_reset())
    with pytest.raises(AmbiguousOutcomeError) as caught:
        await plaid.link_token_create(DELIVERING_CREATE)
    for text in error_texts(caught.value):
        assert DEFAULT_SECRET not in text
    copy = pickle.loads(pickle.dumps(caught.value))
    assert str(copy) == str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


# -- the property: the requests Plaid sees follow the rule, whatever the faults -------------

#: Faults by name, and whether each proves Plaid did not act.
FAULTS: dict[str, tuple[Fault, bool]] = {
    "invalid_request": (Fault.plaid_error(400, "INVALID_REQUEST", "MISSING_FIELDS"), True),
    "rate_limit": (Fault.rate_limit(retry_after=0), True),
    "maintenance": (Fault.server_error(503), True),
    "server_error": (Fault.server_error(500), False),
    "proxy_error": (Fault.proxy_error(502), False),
    "connection_reset": (Fault.connection_reset(), False),
    "lost_answer": (Fault.lost_answer(), False),
    "hang": (Fault.hang(), False),
    "malformed_json": (Fault.malformed_json(), False),
    "latency": (Fault.latency(0.01), True),  # answers normally
}
#: Faults the default policy retries at all (for any call).
RETRIED = {"rate_limit", "maintenance", "server_error", "proxy_error", "connection_reset"}
RETRIED |= {"lost_answer", "hang"}


def expected_requests(call: str, faults: list[str], max_attempts: int) -> int:
    """The rule, stated independently of the library: how many requests Plaid sees."""
    unsafe = call in UNSAFE_CALLS
    sent = 0
    for name in [*faults, "success"][:max_attempts]:
        sent += 1
        if name == "success" or name == "latency":
            return sent
        proven, retried = FAULTS[name][1], name in RETRIED
        if not retried or (unsafe and not proven):
            return sent
    return sent


CALL_NAMES = sorted({*ENDPOINTS, *UNSAFE_CALLS})


@settings(max_examples=examples(60))
@given(
    call=st.sampled_from(CALL_NAMES),
    faults=st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=3),
)
def test_the_requests_plaid_sees_follow_the_rule(call: str, faults: list[str]) -> None:
    async def run() -> tuple[int, BaseException | None]:
        async with FakePlaidServer() as fake:
            timeout = Timeout(total=5, attempt=0.15)
            async with session_for(fake, timeout=timeout) as plaid:
                requests = await call_requests(plaid, fake)
                endpoint = call.split("+")[0]
                fake.requests.clear()
                fake.inject(endpoint, *(FAULTS[name][0] for name in faults))
                outcome: BaseException | None = None
                try:
                    await getattr(plaid, endpoint)(requests[call])
                except Exception as error:
                    outcome = error
                assert acquired(plaid) == 0
                return len(fake.requests_for(endpoint)), outcome

    seen, outcome = asyncio.run(run())
    assert seen == expected_requests(call, faults, FAST_RETRY.max_attempts)
    if isinstance(outcome, AmbiguousOutcomeError):
        assert call in UNSAFE_CALLS
        assert not FAULTS[faults[seen - 1]][1]


# -- the CLI: an ambiguous row is journaled as such and not resent by --retry-failed --------


@pytest.mark.slow
async def test_the_cli_journals_ambiguous_rows_and_resends_them_only_when_asked(
    tmp_path: Path,
) -> None:
    rows = tmp_path / "users.jsonl"
    body = to_dict(DELIVERING_CREATE)
    rows.write_text(
        "".join(
            json.dumps({**body, "user": {**body["user"], "client_user_id": f"u-{n}"}}) + "\n"
            for n in range(3)
        )
    )
    output = tmp_path / "tokens.jsonl"
    args = ["batch", "create", "--input", str(rows), "--output", str(output)]
    async with FakePlaidServer(secret=SECRET) as fake:
        fake.inject("link_token_create", Fault.connection_reset())
        code, _, err = await plaid_link(fake, *args, "--concurrency", "1")
        assert code == 1, err
        assert "3 rows: 2 created, 1 failed (1 with outcome unknown)" in err
        assert "--retry-ambiguous" in err
        assert len(fake.requests_for("link_token_create")) == 3  # one each, none resent
        (failed,) = [line for line in lines(output) if "error" in line]
        assert failed["row"] == 1
        assert failed["error"]["type"] == "AmbiguousOutcomeError"
        assert failed["error"]["ambiguous"] is True

        code, _, err = await plaid_link(fake, *args, "--retry-failed")
        assert code == 0, err
        assert "3 already done (skipped)" in err
        assert len(fake.requests_for("link_token_create")) == 3  # --retry-failed: not resent

        code, _, err = await plaid_link(fake, *args, "--retry-ambiguous")
        assert code == 0, err
        assert len(fake.requests_for("link_token_create")) == 4
        assert sorted(r["row"] for r in lines(output) if r.get("link_token")) == [1, 2, 3]
