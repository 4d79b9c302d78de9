"""pytest fixtures for the fake Plaid server, registered through `pytest11`.

- `fake_plaid`, `plaid_session` and `plaid_session_factory`: async fixtures, the fake
  in the test's own loop (pytest-asyncio in strict or auto mode, which the `testing`
  extra installs, or anyio's plugin with an `asyncio` backend);
- `fake_plaid_thread`: the fake in a background thread, for sync tests, FastAPI's
  `TestClient` and any code that blocks the test's loop or runs its own;
- `fake_plaid_process`: the fake in a child process, driven over its control API.

The last two are plain fixtures, so they work under pytest-asyncio, anyio or no async
plugin at all. Nothing heavy is imported until a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from plaid_link_async import AsyncLinkSession

    from ._process import FakePlaidProcess
    from ._server import FakePlaidServer
    from ._thread import FakePlaidThread

_F = TypeVar("_F", bound=Callable[..., Any])

try:
    import pytest_asyncio

    _fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - another async plugin (anyio) may drive them
    _fixture = pytest.fixture


def _async_fixture(function: _F) -> _F:
    return cast("_F", _fixture(function))


@_async_fixture
async def fake_plaid() -> AsyncIterator[FakePlaidServer]:
    """A started `FakePlaidServer` on a free port, closed after the test; its webhook
    retries come a thousand times sooner than Plaid's."""
    from ._server import FakePlaidServer

    async with FakePlaidServer(webhook_time_scale=0.001) as fake:
        yield fake


#: The fixtures' test-sized settings: a hung fake fails a call in 2 s, not 20, and
#: retries wait milliseconds (a `Retry-After` over 50 ms is raised at once).
TEST_TIMEOUT_SECONDS: dict[str, float] = {"total": 5.0, "attempt": 2.0, "connect": 1.0}
TEST_RETRY: dict[str, Any] = {"initial_delay": 0.001, "max_delay": 0.01, "max_retry_after": 0.05}


def _test_session(url: str, client_id: str, **options: Any) -> AsyncLinkSession:
    from plaid_link_async import AsyncLinkSession, RetryPolicy, Timeout

    from ._server import DEFAULT_SECRET

    options.setdefault("timeout", Timeout(**TEST_TIMEOUT_SECONDS))
    options.setdefault("retry", RetryPolicy(**TEST_RETRY))
    return AsyncLinkSession(client_id, DEFAULT_SECRET, base_url=url, **options)


@_async_fixture
async def plaid_session(fake_plaid: FakePlaidServer) -> AsyncIterator[AsyncLinkSession]:
    """An `AsyncLinkSession` bound to `fake_plaid`, with test-sized settings: 5 s per
    call, 2 s per attempt, retries after milliseconds. For other options use
    `plaid_session_factory`."""
    async with _test_session(fake_plaid.url, fake_plaid.client_id) as session:
        yield session


@_async_fixture
async def plaid_session_factory(
    fake_plaid: FakePlaidServer,
) -> AsyncIterator[Callable[..., AsyncLinkSession]]:
    """`make(**options)`: a session bound to `fake_plaid` with the test-sized settings
    unless `options` says otherwise (`make(strict=True, timeout=0.5)`); every session
    made is closed after the test."""
    made: list[AsyncLinkSession] = []

    def make(**options: Any) -> AsyncLinkSession:
        session = _test_session(fake_plaid.url, fake_plaid.client_id, **options)
        made.append(session)
        return session

    yield make
    for session in made:
        await session.close()


@pytest.fixture
def fake_plaid_thread() -> Iterator[FakePlaidThread]:
    """A `FakePlaidThread`: the fake in a background thread, driven from any thread."""
    from ._thread import FakePlaidThread

    with FakePlaidThread(webhook_time_scale=0.001) as fake:
        yield fake


@pytest.fixture
def fake_plaid_process() -> Iterator[FakePlaidProcess]:
    """A `FakePlaidProcess`: the fake in a child process, driven over its control API."""
    from ._process import FakePlaidProcess

    with FakePlaidProcess(webhook_time_scale=0.001) as fake:
        yield fake
