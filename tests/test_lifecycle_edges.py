"""Small edges of a session's life: views of closed sessions, closing from another
event loop, and warn-once memories that forget instead of going silent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from plaid_link_async import AsyncLinkSession, SessionClosedError
from plaid_link_async._schema._warn_once import _Seen
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer, FakePlaidThread

from ._helpers import CREATE
from .conftest import ROOT


async def test_with_options_of_a_closed_session_or_view_is_refused(
    fake_plaid: FakePlaidServer,
) -> None:
    plaid = AsyncLinkSession(fake_plaid.client_id, DEFAULT_SECRET, base_url=fake_plaid.url)
    view = plaid.with_options(timeout=5)
    await view.close()
    with pytest.raises(SessionClosedError, match="closed"):
        view.with_options(timeout=2)
    plaid.with_options(timeout=2)  # the session itself is still open
    await plaid.close()
    with pytest.raises(SessionClosedError):
        plaid.with_options(timeout=2)


@pytest.fixture
def fake() -> Iterator[FakePlaidThread]:
    with FakePlaidThread() as served:
        yield served


def make_session(fake: FakePlaidThread) -> AsyncLinkSession:
    return AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url)


async def test_closing_from_another_loop_while_the_first_runs(fake: FakePlaidThread) -> None:
    other = asyncio.new_event_loop()
    runner = threading.Thread(target=other.run_forever, daemon=True)
    runner.start()
    try:
        plaid = make_session(fake)
        future = asyncio.run_coroutine_threadsafe(plaid.link_token_create(CREATE), other)
        await asyncio.wrap_future(future)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            await plaid.close()
        http = plaid.http_session
        assert http is not None
        assert http.closed
    finally:
        other.call_soon_threadsafe(other.stop)
        runner.join(10)
        other.close()


async def test_closing_from_another_loop_when_the_first_is_idle(fake: FakePlaidThread) -> None:
    other = asyncio.new_event_loop()
    plaid = make_session(fake)
    await asyncio.to_thread(other.run_until_complete, plaid.link_token_create(CREATE))
    await plaid.close()
    http = plaid.http_session
    assert http is not None
    assert http.closed
    await asyncio.to_thread(other.close)


LEFT_OPEN = """
import asyncio, warnings
from plaid_link_async import AsyncLinkSession
from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidThread
from tests._helpers import CREATE

warnings.simplefilter("always")
with FakePlaidThread() as fake:
    plaid = AsyncLinkSession(fake.client_id, DEFAULT_SECRET, base_url=fake.url)
    asyncio.run(plaid.link_token_create(CREATE))  # its loop is closed when this returns
    asyncio.run(plaid.close())
"""


@pytest.mark.slow
def test_a_session_left_open_by_asyncio_run_is_named_when_closed_late() -> None:
    # In a process of its own: aiohttp's warnings about the same connections come when
    # the garbage collector gets to them, which this process's tests must not see.
    done = subprocess.run(
        [sys.executable, "-c", LEFT_OPEN], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "could not be closed cleanly" in done.stderr
    assert "Close it in the loop that used it" in done.stderr


def test_warn_once_memory_forgets_the_oldest() -> None:
    seen = _Seen(3)
    assert [seen.first_time(key) for key in "abca"] == [True, True, True, False]
    assert seen.first_time("d")  # "b", least recently seen, is forgotten
    assert seen.first_time("b")
    assert not seen.first_time("a")


async def test_a_session_made_before_the_in_loop_fake_still_names_it_when_its_loop_is_blocked() -> (
    None
):
    # As an app configured from the environment does: its session is made (at import,
    # or in its lifespan) before the test starts the fake, and names it `localhost`.
    import socket
    import threading

    from plaid_link_async import ConfigurationError
    from plaid_link_async.testing import DEFAULT_SECRET, FakePlaidServer

    from ._helpers import CREATE

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failures: list[BaseException] = []

    def app_call(session: AsyncLinkSession) -> None:
        async def run() -> None:
            async with session:
                await session.link_token_create(CREATE)

        try:
            asyncio.run(run())
        except BaseException as error:
            failures.append(error)

    session = AsyncLinkSession(
        "test-client-id", DEFAULT_SECRET, base_url=f"http://localhost:{port}", timeout=30
    )
    async with FakePlaidServer(port=port):
        thread = threading.Thread(target=app_call, args=(session,))
        thread.start()
        thread.join(10)  # blocks this loop, where the fake serves, as TestClient does
    (failure,) = failures
    assert isinstance(failure, ConfigurationError)
    assert "fake_plaid_thread" in str(failure)
