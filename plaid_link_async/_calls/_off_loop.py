"""Reading an answer without holding the event loop: small ones on the loop, large
or drifted ones in a worker thread bounded by the time the attempt has left."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any, Final

from .._errors._exceptions import PlaidTimeoutError
from .._schema._drift import Drifts
from .._schema._model_base import Model
from .._transport._seam import TransportResponse
from ._answers import decode, parse, read_drifted

if TYPE_CHECKING:
    from ._routes import Route

# Bodies up to this size are parsed on the loop (a few ms at most); larger ones in a
# worker thread, bounded by the time the attempt has left.
INLINE_DECODE_BYTES: Final = 64 * 1024
# A drifted body up to this size is read tolerantly on the loop: at worst (an array of
# empty objects, each a model with its drift, about 1 µs a field) about 10 ms; larger
# ones in the thread. Drift is rare, so the thread's hop costs little.
INLINE_TOLERANT_BYTES: Final = 4 * 1024


#: What `read_at_once` gives as the data of a body it left unread (a large one).
UNREAD: Final = object()


def read_at_once(raw: TransportResponse, route: Route) -> tuple[Model | None, Any]:
    """The common case, on the loop: (the model, its data) for a small answer that fits
    the contract; else (None, the data parsed, or `UNREAD`), for `read_rest`.

    A function, not a coroutine, so that most answers cost no coroutine to read.

    Raises:
        PlaidAPIError, UnexpectedResponseError: a non-2xx answer, a body not JSON.
    """
    if len(raw.body) > INLINE_DECODE_BYTES:
        return None, UNREAD
    return parse(raw, route.response, endpoint=route.name)


async def read_rest(
    raw: TransportResponse, data: Any, route: Route, strict: bool, deadline: float
) -> tuple[Model, Drifts]:
    """What `read_at_once` left: the model and its drift, read tolerantly or off the
    loop (`deadline` is on the loop's clock)."""
    if data is UNREAD:
        return await _in_thread(raw, route, strict, deadline)
    try:
        return await _drifted(raw, data, route, deadline, strict)
    finally:
        del data  # a failure's traceback keeps this frame, not the parsed body


async def _drifted(
    raw: TransportResponse, data: Any, route: Route, deadline: float, strict: bool
) -> tuple[Model, Drifts]:
    """A small answer the strict parse refused: read tolerantly (or diagnosed).

    On the loop up to `INLINE_TOLERANT_BYTES` (the tolerant read of a body of empty
    objects builds a model per two bytes); a larger one in a worker thread that
    stops itself at `deadline`, so that the loop keeps serving other calls and the
    thread does not outlive the call.
    """
    size = len(raw.body)
    if size <= INLINE_TOLERANT_BYTES:
        try:
            return read_drifted(raw, data, route.response, strict=strict, deadline=None)
        except BaseException:
            del data  # a failure's traceback keeps this frame, not the parsed body
            raise
    del data  # the thread parses again, a few ms off the loop (see _in_thread)
    return await _in_thread(raw, route, strict, deadline)


async def _in_thread(
    raw: TransportResponse, route: Route, strict: bool, deadline: float
) -> tuple[Model, Drifts]:
    # The thread parses the body itself rather than be handed parsed data: what a
    # thread is handed, a failure's traceback would keep alive.
    work = functools.partial(decode, raw, route.response, endpoint=route.name, strict=strict)
    size = len(raw.body)
    loop = asyncio.get_running_loop()
    left = max(deadline - loop.time(), 0.0)
    thread = asyncio.to_thread(work, deadline=time.monotonic() + left)
    try:
        # The call ends at the deadline; the thread stops itself then too, but for
        # the steps it cannot interrupt (json.loads, the fast parse), which are short.
        return await asyncio.wait_for(thread, left)
    except asyncio.TimeoutError:
        pass
    raise PlaidTimeoutError(
        f"parsing a {size:,}-byte answer did not finish in the time left", retryable=False
    )
