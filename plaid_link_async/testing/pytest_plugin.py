"""pytest fixtures `fake_plaid` and `plaid_session`, registered through `pytest11`.

Both are async fixtures: with pytest-asyncio installed they work in its strict and auto
modes alike. Nothing heavy is imported until a test asks for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from plaid_link_async import AsyncLinkSession

    from ._server import FakePlaidServer

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
    """A started `FakePlaidServer` on a free port, closed after the test."""
    from ._server import FakePlaidServer

    async with FakePlaidServer() as fake:
        yield fake


@_async_fixture
async def plaid_session(fake_plaid: FakePlaidServer) -> AsyncIterator[AsyncLinkSession]:
    """An `AsyncLinkSession` bound to `fake_plaid`, retrying with waits of milliseconds."""
    from plaid_link_async import AsyncLinkSession, RetryPolicy

    from ._server import DEFAULT_SECRET

    async with AsyncLinkSession(
        fake_plaid.client_id,
        DEFAULT_SECRET,
        base_url=fake_plaid.url,
        retry=RetryPolicy(initial_delay=0.001, max_delay=0.01, max_retry_after=0.05),
    ) as session:
        yield session
