"""Many `link_token_create` calls at once: lazy input, bounded memory, adaptive concurrency.

A fixed pool of workers pulls requests one at a time from the caller's (async)
iterable, so a generator of a million requests costs no more memory than ten. Results
come back in completion order through a bounded queue. Rate limits seen by any call
halve the concurrency of the whole batch; quiet periods raise it again (AIMD).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

import attrs

from .._calls._retry_policy import RetryPolicy
from .._errors._exceptions import ConfigurationError, PlaidLinkError
from ._limits import Limiter, Pacer

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from ..models import LinkTokenCreateRequest, LinkTokenCreateResponse

logger = logging.getLogger("plaid_link_async")


@attrs.frozen
class BatchSuccess:
    """One input's token was created: `response`, with the input's `index`."""

    index: int
    request: LinkTokenCreateRequest
    response: LinkTokenCreateResponse
    error: None = None

    @property
    def ok(self) -> Literal[True]:
        return True


@attrs.frozen
class BatchFailure:
    """One input failed: `error`, with the input's `index`."""

    index: int
    request: LinkTokenCreateRequest
    error: PlaidLinkError
    response: None = None

    @property
    def ok(self) -> Literal[False]:
        return False


BatchResult: TypeAlias = BatchSuccess | BatchFailure
"""The outcome of one input. `if result.ok:` (or `if result.error is None:`) narrows it
for type checkers: `result.response.link_token` then needs no cast."""


@attrs.frozen
class BatchProgress:
    """Where a batch stands; given to the `progress=` callback after every result."""

    done: int  # results so far, failures included
    failed: int
    in_flight: int
    rate: float  # results per second since the start
    concurrency: int  # the current limit, after rate-limit adjustments
    elapsed: float  # seconds since the start


ProgressCallback = Callable[[BatchProgress], Any]

#: What a batch calls once per input: one `link_token_create`, retried by `retry`,
#: telling `on_error` of every failed attempt. The session hands in its own, so that
#: this module never imports the session and imports run one way.
CreateOne: TypeAlias = Callable[
    ["LinkTokenCreateRequest", "RetryPolicy | None", Callable[[PlaidLinkError], None]],
    Awaitable["LinkTokenCreateResponse"],
]


class Batches(Protocol):
    """What `create_link_tokens` needs: a session's `link_token_create_many`."""

    def link_token_create_many(
        self,
        requests: Iterable[LinkTokenCreateRequest],
        *,
        concurrency: int = ...,
        max_per_second: float | None = ...,
        retry: RetryPolicy | None = ...,
    ) -> BatchRun: ...


class _End:
    """Put on the results queue by the last worker to finish."""


class _Failure:
    """Put on the results queue when the input iterable itself raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Source:
    """The caller's requests, handed out one at a time with their index."""

    def __init__(self, requests: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._sync: Iterator[Any] | None = None
        self._async: AsyncIterator[Any] | None = None
        if isinstance(requests, AsyncIterable):
            self._async = aiter(requests)
        elif isinstance(requests, Iterable):
            self._sync = iter(requests)
        else:
            raise TypeError(f"requests must be iterable, got {type(requests).__name__}")
        # An async generator cannot be advanced by two tasks at once.
        self._lock = asyncio.Lock()
        self._index = 0
        self.exhausted = False

    async def next(self) -> tuple[int, Any] | None:
        if self.exhausted:
            return None
        if self._sync is not None:
            try:
                item = next(self._sync)
            except StopIteration:
                self.exhausted = True
                return None
        else:
            assert self._async is not None
            async with self._lock:
                if self.exhausted:
                    return None
                try:
                    item = await anext(self._async)
                except StopAsyncIteration:
                    self.exhausted = True
                    return None
        index = self._index
        self._index += 1
        return index, item


class _State:
    """Everything the workers share; they hold this, never the `BatchRun`, so that
    dropping the run (a `break`) lets it be collected and its workers cancelled."""

    def __init__(
        self,
        create: CreateOne,
        source: _Source,
        concurrency: int,
        max_per_second: float | None,
        retry: RetryPolicy | None,
        progress: ProgressCallback | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.create = create
        self.source = source
        self.retry = retry
        self.progress = progress
        self.limiter = Limiter(concurrency, loop)
        self.pacer = Pacer(max_per_second, loop) if max_per_second else None
        self.results: asyncio.Queue[BatchResult | _End | _Failure] = asyncio.Queue(concurrency)
        self.workers_left = concurrency
        # Results made but not yet on the queue: a worker cancelled while waiting for
        # room must not lose a token Plaid already created.
        self.unqueued: list[BatchResult] = []
        self.started = loop.time()
        self.done = 0
        self.failed = 0

    async def work(self) -> None:
        try:
            while True:
                await self.limiter.acquire()
                try:
                    item = await self.source.next()
                    if item is None:
                        break
                    result = await self._one(*item)
                    self.unqueued.append(result)
                finally:
                    await self.limiter.release()
                # If cancelled, put() has not queued it, and it stays in `unqueued`.
                await self.results.put(result)
                self.unqueued.remove(result)
        except Exception as error:  # the caller's iterable failed: end the batch with it
            self.source.exhausted = True
            await self.results.put(_Failure(error))
        self.workers_left -= 1
        if self.workers_left == 0:
            await self.results.put(_End())

    async def _one(self, index: int, request: Any) -> BatchResult:
        if self.pacer is not None:
            await self.pacer.wait()
        try:
            response = await self.create(request, self.retry, self.limiter.rate_limited)
        except PlaidLinkError as error:
            self.failed += 1
            result: BatchResult = BatchFailure(index, request, error)
        else:
            result = BatchSuccess(index, request, response)
        self.done += 1
        if self.progress is not None:
            self._report()
        return result

    def _report(self) -> None:
        assert self.progress is not None
        elapsed = self.loop.time() - self.started
        snapshot = BatchProgress(
            done=self.done,
            failed=self.failed,
            in_flight=self.limiter.in_flight - 1,  # this one has finished
            rate=self.done / elapsed if elapsed > 0 else 0.0,
            concurrency=int(self.limiter.limit),
            elapsed=elapsed,
        )
        try:
            self.progress(snapshot)
        except Exception:
            logger.warning("progress callback %r failed; ignored", self.progress, exc_info=True)


class BatchRun:
    """The async iterator `link_token_create_many` returns; results in completion order.

    Leaving the loop early (break, exception, cancellation) stops new calls and cancels
    those in flight. `async with` (or `await run.aclose()`) does it at once; otherwise
    it happens when the run is garbage collected, which CPython does on `break`.
    """

    def __init__(
        self,
        create: CreateOne,
        requests: Iterable[LinkTokenCreateRequest] | AsyncIterable[LinkTokenCreateRequest],
        *,
        concurrency: int,
        max_per_second: float | None,
        retry: RetryPolicy | None,
        progress: ProgressCallback | None,
    ) -> None:
        self._tasks: list[asyncio.Task[None]] = []  # first: __del__ runs even if we raise
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be a positive integer, got {concurrency!r}")
        if max_per_second is not None and not (
            isinstance(max_per_second, (int, float)) and max_per_second > 0
        ):
            raise ConfigurationError(f"max_per_second must be positive, got {max_per_second!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        self._create = create
        self._source = _Source(requests)
        self._options = (concurrency, max_per_second, retry, progress)
        self._state: _State | None = None
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> BatchResult:
        if self._closed:
            raise StopAsyncIteration
        if self._state is None:
            self._start()
        assert self._state is not None
        item = await self._state.results.get()
        if isinstance(item, BatchResult):
            return item
        await self.aclose()
        if isinstance(item, _Failure):
            raise item.error
        raise StopAsyncIteration

    def _start(self) -> None:
        concurrency, max_per_second, retry, progress = self._options
        state = _State(self._create, self._source, concurrency, max_per_second, retry, progress)
        self._state = state
        self._tasks = [
            asyncio.create_task(state.work(), name=f"plaid-link-batch-{n}")
            for n in range(concurrency)
        ]

    async def aclose(self) -> None:
        """Stop: no new calls, calls in flight cancelled and awaited. Safe to call twice."""
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def drain(self) -> list[BatchResult]:
        """Results that finished but were not yielded before the run was closed.

        After leaving the loop early (a `break`, an exception, Ctrl-C) and `aclose()`,
        these are the calls that did succeed or fail: a caller keeping a journal
        records them too, so that no created link token is lost.
        """
        state = self._state
        if state is None:
            return []
        found = []
        while not state.results.empty():
            item = state.results.get_nowait()
            if isinstance(item, BatchResult):
                found.append(item)
        found += state.unqueued
        state.unqueued.clear()
        return found

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Cancelling is synchronous; the loop then unwinds the workers and frees their
        # connections on its next turns.
        for task in self._tasks:
            task.cancel()


async def create_link_tokens(
    session: Batches,
    requests: Iterable[LinkTokenCreateRequest],
    *,
    concurrency: int = 32,
    max_per_second: float | None = None,
    retry: RetryPolicy | None = None,
) -> list[BatchResult]:
    """Create a link token per request, concurrently; results in the input's order.

    For batches that fit in memory; for large ones iterate `link_token_create_many`.
    """
    results: list[BatchResult | None] = []
    async with session.link_token_create_many(
        requests, concurrency=concurrency, max_per_second=max_per_second, retry=retry
    ) as run:
        async for result in run:
            if result.index >= len(results):
                results.extend([None] * (result.index + 1 - len(results)))
            results[result.index] = result
    return [result for result in results if result is not None]
