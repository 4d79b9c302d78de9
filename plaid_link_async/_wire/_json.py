"""JSON in and out for the whole package: orjson with the `speedups` extra, else the
standard json, each used as documented, with the same results either way.

Reading, the two differ in three places, and each has one rule:
- an integer past 64 bits: orjson reads a float, json the exact integer. A body that
  may hold one (`long_number`) is read by json.
- what orjson refuses and json reads (a byte-order mark, a lone surrogate, nesting
  past orjson's 1,024 levels): json decides, and its answer or error stands.
- nesting: json gives up at Python's recursion limit, which depends on how deep the
  caller's stack is. So both refuse a value nested deeper than `MAX_DEPTH` levels, far
  below either limit, with the same `JSONTooDeep`.
Both refuse NaN and Infinity, which JSON does not have (json alone would read them).

Writing is for JSON values (strings, finite numbers, booleans, null, lists, objects
with string keys), which is what the converter makes of a checked request: orjson
writes them, and what it refuses (an integer past 64 bits, a lone surrogate) is
json's to write.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ._nesting import nesting_within

try:
    import orjson
except ImportError:  # pragma: no cover - the tests run with the extra installed
    orjson = None  # type: ignore[assignment]

#: Whether the `speedups` extra (orjson) is in use.
SPEEDUPS: Final = orjson is not None

#: The deepest JSON read, by either library (Plaid's deepest answer nests under 10).
MAX_DEPTH: Final = 512


class JSONTooDeep(ValueError):
    """A JSON text nested deeper than `MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Made once: `json.loads` and `json.dumps` given any option build a new decoder or
# encoder on every call, a tenth of a small call's CPU.
_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def std_loads(data: bytes | str) -> Any:
    """`json.loads`, refusing NaN, Infinity and nesting past `MAX_DEPTH`."""
    try:
        if isinstance(data, str):
            value = json.loads(data, parse_constant=_no_constant)  # its check of a BOM
        else:
            # What `json.loads` does with bytes: UTF-8, -16 or -32, told by the first bytes.
            value = _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except RecursionError:
        raise JSONTooDeep from None
    return _bounded(data, value)


def std_dumps(data: Any) -> bytes:
    """Compact JSON by the standard encoder; ValueError for NaN or Infinity."""
    return _ENCODER.encode(data).encode()


def fast_loads(data: bytes | str) -> Any:
    """`std_loads`'s result, by orjson where it gives the same."""
    assert orjson is not None
    if isinstance(data, str) or long_number(data):
        return std_loads(data)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        return _bounded(data, value)
    return std_loads(data)  # outside `except`: its error should not chain orjson's


def fast_dumps(data: Any) -> bytes:
    """`std_dumps`'s JSON value, by orjson where it can write it."""
    assert orjson is not None
    try:
        out: bytes = orjson.dumps(data)
    except orjson.JSONEncodeError:  # an integer past 64 bits, a lone surrogate
        return std_dumps(data)
    return out


def _bounded(data: bytes | str, value: Any) -> Any:
    """`value`, or `JSONTooDeep` if it nests past `MAX_DEPTH`."""
    # A text with few brackets cannot nest deep: counting them is a pass in C, and
    # spares the walk (a step per object) for all but large bodies.
    opening = (b"[", b"{") if isinstance(data, bytes) else ("[", "{")
    if data.count(opening[0]) + data.count(opening[1]) <= MAX_DEPTH:  # type: ignore[arg-type]
        return value
    if not nesting_within(value, MAX_DEPTH):
        raise JSONTooDeep
    return value


# Where a number may start, digits, and the rest: a JSON number follows one of `:,[`,
# whitespace, or nothing, so a run of digits inside a string (a hex id) seldom looks
# like one, and orjson is kept for it.
_CLASSES: Final = bytes(
    48 if 48 <= byte <= 57 else 45 if byte == 45 else 58 if byte in b":,[ \t\n\r" else 46
    for byte in range(256)
)
_LONG: Final = b"0" * 19


def long_number(data: bytes) -> bool:
    """Whether `data` may hold an integer of 19 digits or more, outside any string."""
    classes = data.translate(_CLASSES)
    return (
        b":" + _LONG in classes
        or b":-" + _LONG in classes
        or classes.startswith(_LONG)
        or classes.startswith(b"-" + _LONG)
    )


_fast = SPEEDUPS


def loads(data: bytes | str) -> Any:
    """Read JSON: the same value, or the same refusal, with or without orjson.

    Raises:
        ValueError: not JSON (`json.JSONDecodeError`, or a `UnicodeDecodeError`), or
            nested past `MAX_DEPTH` (`JSONTooDeep`).
    """
    return fast_loads(data) if _fast else std_loads(data)


def dumps(data: Any) -> bytes:
    """Write a JSON value compactly: the same value with or without orjson."""
    return fast_dumps(data) if _fast else std_dumps(data)


def use_speedups(enabled: bool) -> None:
    """Switch orjson on or off for this process (the benchmarks compare the two)."""
    global _fast
    _fast = enabled and SPEEDUPS
