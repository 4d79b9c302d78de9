"""`RawAPIResponse`: a parsed answer with what came with it on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

import attrs

from ._tolerant import Drift

_T = TypeVar("_T")


@attrs.frozen
class RawAPIResponse(Generic[_T]):
    """A parsed response with what came with it on the wire.

    `session.with_raw_response.<operation>(...)` returns one; `parsed` is what the plain
    call would have returned. `drift` lists the details of the answer that did not fit
    the contract and read as `None` (empty when it fit).
    """

    parsed: _T
    status: int
    headers: Mapping[str, str]
    request_id: str | None
    attempts: int
    elapsed: float  # seconds, the whole call with its retries
    endpoint: str
    drift: tuple[Drift, ...] = ()
