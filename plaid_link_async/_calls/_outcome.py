"""A call's answer with what came with it: `Outcome` inside, `RawAPIResponse` outside."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import attrs

from .._schema._drift import Drifts

if TYPE_CHECKING:
    from .._transport._seam import TransportResponse

_T = TypeVar("_T")


@attrs.frozen(repr=False)
class RawAPIResponse(Generic[_T]):
    """A parsed response with what came with it on the wire.

    `session.with_raw_response.<operation>(...)` returns one; `parsed` is what the plain
    call would have returned. `drift` lists the details of the answer that did not fit
    the contract and read as `None` (empty when it fit): the first 100, with
    `drift.total` counting them all.
    """

    parsed: _T
    status: int
    headers: Mapping[str, str]
    request_id: str | None
    attempts: int
    elapsed: float  # seconds, the whole call with its retries
    endpoint: str
    drift: Drifts = Drifts()  # noqa: RUF009  (an empty tuple: immutable, safe to share)

    def __repr__(self) -> str:
        # Short whatever the answer: the model and its drift have their own reprs.
        drift = f", drift=<{self.drift.total:,} drifted>" if self.drift.total else ""
        return (
            f"<RawAPIResponse {self.endpoint} HTTP {self.status} "
            f"{type(self.parsed).__name__} request_id={self.request_id!r} "
            f"attempts={self.attempts} elapsed={self.elapsed:.3f}s{drift}>"
        )


class Outcome(NamedTuple):
    """One call's result, with its raw answer, its drift and what it took.

    `result` is typed Any: the generated coroutine that asked knows its class, the
    operation's response model.
    """

    result: Any
    raw: TransportResponse
    drift: Drifts
    attempts: int
    elapsed: float
