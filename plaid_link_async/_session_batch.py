"""The session's batches: `link_token_create_many`, a face over `_batch` that hands
it the session's own call, so that the batch never imports the session."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING

from ._exceptions import PlaidLinkError
from ._raw_calls import Caller
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from . import models
    from ._batch import BatchRun, ProgressCallback


class BatchMethods:
    """`link_token_create_many`, for `AsyncLinkSession` (a `Caller`)."""

    def link_token_create_many(
        self: Caller,
        requests: Iterable[models.LinkTokenCreateRequest]
        | AsyncIterable[models.LinkTokenCreateRequest],
        *,
        concurrency: int = 32,
        max_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> BatchRun:
        """Create a link token per request, many at once; iterate the results as they finish.

        `async for result in plaid.link_token_create_many(requests, concurrency=50):`
        gives a `BatchResult` per input (its `index`, `request`, and `response` or
        `error`). Inputs are pulled lazily from any iterable or async iterable, so a
        generator of millions is fine. One failure never stops the batch; a rate limit
        halves the concurrency of the whole batch, which climbs back when it is quiet.

        Args:
            requests: `LinkTokenCreateRequest`s, in any number.
            concurrency: most calls in flight (also the starting point).
            max_per_second: most calls started per second, if set.
            retry: the retry policy of each call instead of the session's.
            progress: called with a `BatchProgress` after every result
                (`ProgressBar` draws one with tqdm).
        """
        from ._batch import BatchRun  # here: a web app that never batches never loads it

        return BatchRun(
            functools.partial(_create_one, self),
            requests,
            concurrency=concurrency,
            max_per_second=max_per_second,
            retry=retry,
            progress=progress,
        )


async def _create_one(
    caller: Caller,
    request: models.LinkTokenCreateRequest,
    retry: RetryPolicy | None,
    on_error: Callable[[PlaidLinkError], None],
) -> models.LinkTokenCreateResponse:
    outcome = await caller._call("link_token_create", request, None, retry, on_error)
    result: models.LinkTokenCreateResponse = outcome.result
    return result
