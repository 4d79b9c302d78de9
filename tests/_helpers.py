"""Requests valid for every endpoint, and pool inspection, shared by the session tests."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import math
import os
import pickle
import signal
import sys
import types
from collections.abc import Iterator
from typing import Any

import aiohttp
import attrs
import pytest

from plaid_link_async import AsyncLinkSession, PlaidLinkError, RetryPolicy, Timeout
from plaid_link_async import models as m
from plaid_link_async._wire import _json
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer

#: For tests that call every operation, the deprecated ones included: those warn, which
#: test_deprecations.py checks; here the warning is not the point.
CALLS_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:.* is deprecated. Plaid removed:DeprecationWarning"
)

#: Retries fast enough for tests, with the default number of attempts.
FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_retry_after=0.05)

CREATE = m.LinkTokenCreateRequest(
    client_name="Test App",
    language="en",
    country_codes=[m.CountryCode.US, m.CountryCode.CA],
    user=m.LinkTokenCreateRequestUser(client_user_id="user-1", phone_number="+14155550011"),
    products=[m.Products.AUTH],
    webhook="https://example.com/hook",
    redirect_uri="https://example.com/oauth",
)
PHONE = "+14155550011"
CORRELATION_ID = "corr-123"


def get_answer(**fields: Any) -> dict[str, Any]:
    """A valid `link_token_get` answer, as JSON data, with `fields` set over it."""
    return {
        "link_token": "link-sandbox-1",
        "created_at": "2026-01-01T00:00:00Z",
        "expiration": "2026-01-01T04:00:00Z",
        "metadata": {
            "initial_products": ["auth"],
            "webhook": None,
            "country_codes": ["US"],
            "language": "en",
            "redirect_uri": None,
            "client_name": "App",
        },
        "link_sessions": [],
        "request_id": "r1",
        **fields,
    }


def session_for(fake: FakePlaidServer, **options: Any) -> AsyncLinkSession:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeout", Timeout(total=10, attempt=5, connect=2))
    return AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url, **options)


#: A well-formed key for the fake to serve; its numbers sign nothing.
WEBHOOK_KEY = {
    "alg": "ES256",
    "crv": "P-256",
    "kid": "6c5516e1-92dc-479e-a8ff-5a51992e0001",
    "kty": "EC",
    "use": "sig",
    "x": "35lvC8uz2QrWpQJ3TUH8t9o9DURMp7ydU518RKDl20k",
    "y": "I8BuXB2bvxelzJAd7OKhd-ZwjCst05Fx47Mb_0ugros",
    "created_at": 1560466143,
    "expired_at": None,
}


async def requests_for(plaid: AsyncLinkSession, fake: FakePlaidServer) -> dict[str, Any]:
    """A valid request per endpoint; what each names exists on `fake`."""
    created = await plaid.link_token_create(CREATE)
    fake.register_correlation_id(CORRELATION_ID, created.link_token)
    fake.eligible_phone_numbers.add(PHONE)
    hosted = await plaid.link_token_create(
        attrs.evolve(CREATE, hosted_link=m.LinkTokenCreateHostedLink())
    )
    delivery = await plaid.link_delivery_create(
        m.LinkDeliveryCreateRequest(link_token=hosted.link_token)
    )
    completion = fake.complete_link(created.link_token)
    fake.add_webhook_key(WEBHOOK_KEY)
    return {
        "link_token_create": CREATE,
        "link_token_get": m.LinkTokenGetRequest(link_token=created.link_token),
        "link_profile_eligibility_check": m.LinkProfileEligibilityCheckRequest(
            link_session_id="session-1", user=m.LinkProfileEligibilityCheckUser(phone_number=PHONE)
        ),
        "link_oauth_correlation_id_exchange": m.LinkOAuthCorrelationIdExchangeRequest(
            link_correlation_id=CORRELATION_ID
        ),
        "link_delivery_create": m.LinkDeliveryCreateRequest(link_token=hosted.link_token),
        "link_delivery_get": m.LinkDeliveryGetRequest(
            link_delivery_session_id=delivery.link_delivery_session_id
        ),
        "item_public_token_exchange": m.ItemPublicTokenExchangeRequest(
            public_token=completion.public_tokens[0]
        ),
        "webhook_verification_key_get": m.WebhookVerificationKeyGetRequest(
            key_id=str(WEBHOOK_KEY["kid"])
        ),
    }


#: Calls that are not safe to repeat, by operation name; `+sms` marks a delivering create.
UNSAFE_CALLS = frozenset(
    {"item_public_token_exchange", "link_delivery_create", "link_token_create+sms"}
)
DELIVERING_CREATE = attrs.evolve(
    CREATE, hosted_link=m.LinkTokenCreateHostedLink(delivery_method=m.HostedLinkDeliveryMethod.SMS)
)


async def call_requests(plaid: AsyncLinkSession, fake: FakePlaidServer) -> dict[str, Any]:
    """`requests_for`, plus a Hosted Link create that texts the user (`link_token_create+sms`)."""
    return {**await requests_for(plaid, fake), "link_token_create+sms": DELIVERING_CREATE}


def acquired(plaid: AsyncLinkSession) -> int:
    """Connections taken from the pool and not given back."""
    http = plaid.http_session
    assert http is not None
    connector = http.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired)


def plaid_variables(fake: FakePlaidServer) -> dict[str, str]:
    """The PLAID_* variables that point an app built with `AsyncLinkSession()` at `fake`."""
    return {
        "PLAID_CLIENT_ID": fake.client_id,
        "PLAID_SECRET": DEFAULT_SECRET,
        "PLAID_BASE_URL": fake.url,
    }


def program_env(fake: FakePlaidServer, **extra: str) -> dict[str, str]:
    """This process's environment for a program run against `fake`, as a user would run it."""
    env = {**os.environ, **plaid_variables(fake), **extra}
    env.pop("PLAID_ENV", None)  # a base URL is given; the environment stays unnamed
    return env


def error_chain(error: BaseException | None) -> list[BaseException]:
    """`error` and every exception behind it, through `__cause__` and `__context__`."""
    seen: list[BaseException] = []
    pending = [error]
    while pending:
        link = pending.pop()
        if link is None or any(link is known for known in seen):
            continue
        seen.append(link)
        pending += [link.__cause__, link.__context__]
    return seen


def error_texts(error: BaseException) -> list[str]:
    """Everything a logger, an error tracker or a pickle could show of `error`'s chain."""
    texts = []
    for link in error_chain(error):
        texts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        texts += [repr(value) for value in vars(link).values()]
        if isinstance(link, PlaidLinkError):
            texts.append(repr(vars(pickle.loads(pickle.dumps(link)))))
    return texts


def attribute_docstrings(module: types.ModuleType) -> dict[str, str]:
    """`Class.field` to the docstring written right under the field in `module`'s source."""
    docs = {}
    for cls in ast.parse(inspect.getsource(module)).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for statement, after in zip(cls.body, cls.body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[f"{cls.name}.{statement.target.id}"] = after.value.value
    return docs


def run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with standard error on a pseudo-terminal, as a person sees it."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    # A terminal of 120 columns: a new pty has none, and tqdm would draw a bar of 0.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    with subprocess.Popen(
        [sys.executable, "-m", "plaid_link_async", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(60)
    os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down, and floats equal bit for bit.

    A loop, not recursion: the values compared nest as deep as json can read."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if math.isnan(x) or math.isnan(y):
                return False  # neither side may produce NaN
            if x != y or math.copysign(1, x) != math.copysign(1, y):
                return False
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending.extend((x[key], y[key]) for key in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def hears_ctrl_c() -> None:
    """For a child process that a test stops with SIGINT: Ctrl-C's default action, even
    when the tests run with SIGINT ignored (a shell's background job), which the child
    would inherit and, as programs should, keep ignoring."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def json_mode(speedups: bool) -> Iterator[None]:
    """The JSON codecs on orjson (`speedups`) or the standard json for a block, then
    back on orjson, as every other test expects."""
    _json.use_speedups(speedups)
    try:
        yield
    finally:
        _json.use_speedups(True)


def examples(full: int) -> int:
    """A property's number of examples: `full` in the full run, and the quick profile's
    (`--hypothesis-profile=quick`, for `-m "not slow"`) in the quick loop."""
    from hypothesis import settings

    active: int = settings.default.max_examples
    return full if active >= 100 else active


class VirtualClock:
    """Time that moves only when a test says so: `time` for a clock, `sleep` for its
    waits (a sleeper wakes when `advance` passes its hour), as a session's parts take
    them, so that a test of pacing neither waits nor asserts a wall time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + max(seconds, 0.0), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time on, wake whoever's hour came, and let them run."""
        self.now += seconds
        due = [entry for entry in self._sleepers if entry[0] <= self.now]
        for entry in due:
            self._sleepers.remove(entry)
            entry[1].set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)
