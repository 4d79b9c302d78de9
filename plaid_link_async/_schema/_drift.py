"""`Drift`: a detail of an answer that did not fit the contract, and the bounded list of them.

A leaf module: the exceptions, the raw response and the tolerant reader all name these,
and none of them need anything else from each other for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import attrs

#: How many drifts of one answer are kept; the rest are only counted.
MAX_KEPT_DRIFT: Final = 100
#: Past this many drifted details an answer is refused, not read: Plaid relaxing a
#: field drifts an answer in a few places (once per event at most), and reading a body
#: built to drift everywhere would cost hundreds of thousands of objects.
MAX_DRIFT: Final = 10_000


@attrs.frozen
class Drift:
    """One detail of an answer that did not fit the contract; it reads as `None`.

    `path` names it (`link_sessions[0].events[2].event_metadata.request_id`), `problem`
    says what was wrong (`required field is missing`, `expected a string, got an integer`).
    """

    path: str
    problem: str

    @property
    def pattern(self) -> str:
        """The path without list indices: the same drift in every event is one pattern."""
        return path_pattern(self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


class Drifts(tuple[Drift, ...]):
    """The drifts of one answer: the first `MAX_KEPT_DRIFT` of them, and how many in all.

    It is a tuple of `Drift`; `total` counts those not kept too, so that an answer with
    a million drifted details costs a hundred objects, not a million.
    """

    total: int

    def __new__(cls, kept: Iterable[Drift] = (), total: int | None = None) -> Drifts:
        drifts = super().__new__(cls, kept)
        drifts.total = len(drifts) if total is None else total
        return drifts

    def __repr__(self) -> str:
        more = self.total - len(self)
        return f"Drifts({tuple.__repr__(self)}{f', {more} more' if more else ''})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Drifts, (tuple(self), self.total))


#: An answer without drift: empty, and shared.
NO_DRIFTS: Final = Drifts()

_INDEX: Final = re.compile(r"\[\d+\]")


def path_pattern(path: str) -> str:
    """`path` without list indices: `events[2].event_id` -> `events[].event_id`."""
    return _INDEX.sub("[]", path)
