"""link_token_create_many and create_link_tokens against the fake server."""

from __future__ import annotations

import asyncio
import gc
import io
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import attrs
import pytest

from plaid_link_async import (
    AsyncLinkSession,
    BatchProgress,
    BatchResult,
    ConfigurationError,
    InvalidRequestError,
    ProgressBar,
    RequestValidationError,
    create_link_tokens,
)
from plaid_link_async import (
    models as m,
)
from plaid_link_async.testing import (
    DEFAULT_CLIENT_ID,
    DEFAULT_SECRET,
    FakePlaidServer,
    Fault,
    fake_server_process,
)

from ._helpers import CREATE, acquired, session_for


def requests(count: int, pulled: list[int] | None = None) -> Iterator[m.LinkTokenCreateRequest]:
    for n in range(count):
        if pulled is not None:
            pulled[0] += 1
        yield attrs.evolve(CREATE, user=m.LinkTokenCreateRequestUser(client_user_id=f"user-{n}"))


def batch_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("plaid-link-batch")]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0.02)


@pytest.mark.slow  # a load test: the full run
async def test_5000_with_429s_and_5xx_in_the_middle(fake_plaid: FakePlaidServer) -> None:
    fake_plaid.latency = 0.005
    concurrency: list[int] = []
    seen: dict[int, BatchResult] = {}
    async with session_for(fake_plaid) as plaid:
        run = plaid.link_token_create_many(
            requests(5000), concurrency=64, progress=lambda p: concurrency.append(p.concurrency)
        )
        async for result in run:
            assert result.index not in seen
            seen[result.index] = result
            if len(seen) == 1000:
                fake_plaid.inject(
                    "link_token_create",
                    *[Fault.rate_limit(retry_after=0.01)] * 40,
                    *[Fault.server_error(503)] * 20,
                    *[Fault.plaid_error(400, "INVALID_REQUEST", "INVALID_FIELD")] * 3,
                )
        assert acquired(plaid) == 0
    assert sorted(seen) == list(range(5000))
    for index, result in seen.items():
        assert result.request.user.client_user_id == f"user-{index}"
        assert (result.response is None) != (result.error is None)
    failures = [r for r in seen.values() if not r.ok]
    assert len(failures) == 3
    assert all(isinstance(r.error, InvalidRequestError) for r in failures)
    assert len({r.response.link_token for r in seen.values() if r.response}) == 4997
    assert concurrency[0] == 64
    low = min(concurrency)
    assert low <= 32  # the 429s halved it for the whole batch
    assert max(concurrency[concurrency.index(low) :]) > low  # and it climbed back


@pytest.fixture
def fake_plaid_process() -> Iterator[str]:
    """The fake server in a child process, so that its request log is not in our memory."""
    with fake_server_process() as url:
        yield url


@pytest.mark.slow  # a load test: the full run
async def test_a_million_inputs_are_pulled_lazily_with_flat_memory(
    fake_plaid_process: str,
) -> None:
    pulled = [0]
    consumed = 0
    baseline = 0
    tracemalloc.start()
    try:
        async with AsyncLinkSession(
            DEFAULT_CLIENT_ID, DEFAULT_SECRET, base_url=fake_plaid_process
        ) as plaid:
            async with plaid.link_token_create_many(
                requests(1_000_000, pulled), concurrency=16
            ) as run:
                async for _result in run:
                    consumed += 1
                    if consumed == 500:
                        gc.collect()
                        baseline = tracemalloc.get_traced_memory()[0]
                    if consumed == 3000:
                        break
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    # Only what is in flight or queued was ever pulled: no task or input up front.
    assert pulled[0] <= consumed + 3 * 16
    assert grown < 500_000, f"memory grew by {grown} bytes over 2,500 results"


async def test_breaking_out_early_cancels_and_leaks_nothing(fake_plaid: FakePlaidServer) -> None:
    fake_plaid.latency = 0.05
    async with session_for(fake_plaid) as plaid:
        count = 0
        async for _ in plaid.link_token_create_many(requests(10_000), concurrency=20):
            count += 1
            if count == 30:
                break
        await settle()
        assert batch_tasks() == []
        assert acquired(plaid) == 0
        made = len(fake_plaid.requests)
        await asyncio.sleep(0.2)
        assert len(fake_plaid.requests) == made  # no new calls after the break
        assert made < 30 + 2 * 20


async def test_an_exception_in_the_loop_body_cleans_up(plaid_session: AsyncLinkSession) -> None:
    async def consume() -> None:
        async with plaid_session.link_token_create_many(requests(1000), concurrency=8) as run:
            async for _ in run:
                raise KeyError("boom")

    with pytest.raises(KeyError):
        await consume()
    assert batch_tasks() == []
    assert acquired(plaid_session) == 0


async def test_cancelling_the_consumer_cleans_up(fake_plaid: FakePlaidServer) -> None:
    fake_plaid.latency = 0.05

    async with session_for(fake_plaid) as plaid:

        async def consume() -> None:
            async for _ in plaid.link_token_create_many(requests(10_000), concurrency=20):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        assert batch_tasks() == []
        assert acquired(plaid) == 0
        assert (await plaid.link_token_create(CREATE)).link_token


async def test_async_iterables_and_bad_items(plaid_session: AsyncLinkSession) -> None:
    async def source() -> AsyncIterator[object]:
        yield CREATE
        yield {"not": "a request"}
        yield attrs.evolve(CREATE, client_name="")
        yield CREATE

    results = [r async for r in plaid_session.link_token_create_many(source(), concurrency=3)]  # type: ignore[arg-type]
    by_index = {r.index: r for r in results}
    assert sorted(by_index) == [0, 1, 2, 3]
    assert by_index[0].ok
    assert by_index[3].ok
    assert isinstance(by_index[1].error, RequestValidationError)
    assert isinstance(by_index[2].error, RequestValidationError)
    assert by_index[2].error.paths == ("client_name",)


async def test_a_failing_input_iterable_ends_the_batch_with_its_error(
    plaid_session: AsyncLinkSession,
) -> None:
    def broken() -> Iterator[m.LinkTokenCreateRequest]:
        yield CREATE
        yield CREATE
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        async for _ in plaid_session.link_token_create_many(broken(), concurrency=2):
            pass
    await settle()
    assert batch_tasks() == []


async def test_max_per_second_caps_the_start_rate(plaid_session: AsyncLinkSession) -> None:
    started = time.perf_counter()
    results = await create_link_tokens(
        plaid_session, requests(41), concurrency=10, max_per_second=100
    )
    assert time.perf_counter() - started >= 0.39
    assert len(results) == 41


async def test_create_link_tokens_keeps_input_order(fake_plaid: FakePlaidServer) -> None:
    async with session_for(fake_plaid) as plaid:
        fake_plaid.inject("link_token_create", Fault.latency(0.2))  # the first finishes last
        results = await create_link_tokens(plaid, requests(25), concurrency=5)
    assert [r.index for r in results] == list(range(25))
    assert [r.request.user.client_user_id for r in results] == [f"user-{n}" for n in range(25)]
    assert all(r.ok for r in results)


async def test_progress_reports_and_a_failing_callback_is_ignored(
    plaid_session: AsyncLinkSession, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[BatchProgress] = []

    def progress(snapshot: BatchProgress) -> None:
        reports.append(snapshot)
        raise RuntimeError("dashboard down")

    results = [
        r async for r in plaid_session.link_token_create_many(requests(20), progress=progress)
    ]
    assert len(results) == 20
    assert [r.done for r in reports] == list(range(1, 21))
    assert reports[-1].failed == 0
    assert reports[-1].rate > 0
    assert "progress callback" in caplog.text


async def test_progress_bar_draws_with_tqdm(plaid_session: AsyncLinkSession) -> None:
    out = io.StringIO()
    with ProgressBar(total=10, file=out, mininterval=0) as bar:
        async for _ in plaid_session.link_token_create_many(requests(10), progress=bar):
            pass
    assert "10/10" in out.getvalue()


@pytest.mark.parametrize(
    "options", [{"concurrency": 0}, {"concurrency": 2.5}, {"max_per_second": 0}]
)
def test_bad_batch_options_are_refused(options: dict[str, float]) -> None:
    plaid = AsyncLinkSession("id", "secret")
    with pytest.raises(ConfigurationError):
        plaid.link_token_create_many([], **options)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        plaid.link_token_create_many(5)  # type: ignore[arg-type]
