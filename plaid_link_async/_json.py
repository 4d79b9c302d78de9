"""JSON in and out for the whole package: orjson with the `speedups` extra, else the
standard json, with the same results either way.

orjson is only ever a faster way to the standard library's answer. Reading, anything
orjson refuses goes to `json` (which then decides: a lone surrogate, a BOM, a number
too large for a double, nesting past orjson's 1,024 levels), and so does a body with
a number of 19 digits or more, because orjson reads an integer past 64 bits as a
float where `json` keeps it exact. Writing, orjson's bytes are kept only when they read
back equal to what was written, which lets through exactly the values the standard
encoder writes the same way; anything else (a NaN, which orjson writes as null, a
tuple, a UUID, an integer past 64 bits) is the standard encoder's to write or refuse.

Both refuse NaN and Infinity, which JSON does not have: the standard `json` would
read and write them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

try:
    import orjson
except ImportError:  # pragma: no cover - the tests run with the extra installed
    orjson = None  # type: ignore[assignment]

#: Whether the `speedups` extra (orjson) is in use.
SPEEDUPS: Final = orjson is not None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)
# One encoder for all: `json.dumps` with any option builds a new encoder per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


# The C scanner, with `parse_constant` bound (typeshed does not list the attribute).
_scan: Final[Callable[[str, int], tuple[Any, int]]] = _DECODER.scan_once  # type: ignore[attr-defined]


def std_loads(data: bytes | str) -> Any:
    """`json.loads`, refusing NaN and Infinity."""
    # Nearly every answer is an object in UTF-8 (json.detect_encoding's answer for a
    # body opening with `{` and no NUL after it): it goes straight to the C scanner,
    # skipping the Python steps of json.loads (detect_encoding, decode, raw_decode).
    # Anything the scanner refuses goes the long way, which raises json's own error.
    if data.__class__ is bytes and data[:1] == b"{" and data[1:2] != b"\0":
        text = data.decode("utf-8", "surrogatepass")
        try:
            value, end = _scan(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            # What may follow the value is JSON's whitespace, and only that.
            if end == len(text) or not text[end:].strip(" \t\n\r"):
                return value
    if isinstance(data, (bytes, bytearray)):
        # What json.loads does with bytes: UTF-8, -16 or -32, by the first bytes.
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    elif data.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    return _DECODER.decode(data)


def std_dumps(data: Any) -> bytes:
    """Compact JSON by the standard encoder; ValueError for NaN or Infinity."""
    return _ENCODER.encode(data).encode()


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


_PASSTHROUGH: Final = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    if orjson is not None
    else 0
)


def _not_plain(value: Any) -> Any:
    raise TypeError  # orjson's own types beyond JSON's go to the standard encoder


def fast_loads(data: bytes | str) -> Any:
    """`std_loads`'s result, by orjson where it gives the same."""
    assert orjson is not None
    if isinstance(data, str) or long_number(data):
        return std_loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    return std_loads(data)  # outside `except`: its error should not chain orjson's


def fast_dumps(data: Any) -> bytes:
    """`std_dumps`'s JSON value, by orjson where it writes the same."""
    assert orjson is not None
    try:
        out: bytes = orjson.dumps(data, default=_not_plain, option=_PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError too
        return std_dumps(data)
    # Equal on reading back: no NaN (NaN != NaN), no tuple, no enum or UUID turned
    # into its value, no key or number changed.
    if orjson.loads(out) == data:
        return out
    return std_dumps(data)


def loads_unchecked(data: bytes) -> tuple[Any, bool]:
    """Read `data` for the models' fast path: (value, whether orjson read it unchecked).

    Unchecked, an integer past 64 bits reads as a float. The caller must then structure
    the value with `try_from_plain`, which refuses a float where it would be kept as it
    came (only a float kept in a free-form value could differ, and that is where the
    check looks); when that refuses, the value is exact unless `long_number(data)`,
    and `loads` reads it again then.
    """
    if _fast and data.__class__ is bytes:
        try:
            return orjson.loads(data), True
        except orjson.JSONDecodeError:
            pass
    return (fast_loads(data) if _fast else std_loads(data)), False


_fast = SPEEDUPS


def loads(data: bytes | str) -> Any:
    """Read JSON: the same value, or the same refusal, with or without orjson."""
    return fast_loads(data) if _fast else std_loads(data)


def dumps(data: Any) -> bytes:
    """Write compact JSON: the same value, or the same refusal, with or without orjson."""
    return fast_dumps(data) if _fast else std_dumps(data)


def _plain_writer() -> Callable[[Any, int], Any] | None:
    """The C encoder `_ENCODER.encode` builds on every call, built once; None where
    this Python has none, or builds it otherwise."""
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        # No `markers` (the cycle check): only `dumps_plain` uses it, on values built
        # fresh, which hold no cycle.
        return make(  # type: ignore[no-any-return, misc]
            None,
            _ENCODER.default,
            json.encoder.encode_basestring_ascii,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
    except TypeError:
        return None


_write_plain: Final = _plain_writer()


def dumps_plain(data: dict[str, Any]) -> bytes:
    """`dumps` of a value built of `str`, `bool`, `int`, finite `float`, `None`, `list`
    and `dict` only (what `_sending.plain_request` builds), and holding no cycle: for
    those, orjson needs no reading back, and the standard encoder no cycle check."""
    if _fast:
        try:
            return orjson.dumps(data)
        except TypeError:  # a lone surrogate, an integer past 64 bits
            pass
    if _write_plain is None:  # pragma: no cover - CPython has the C encoder
        return std_dumps(data)
    return "".join(_write_plain(data, 0)).encode()


def use_speedups(enabled: bool) -> None:
    """Switch orjson on or off for this process (the benchmarks compare the two)."""
    global _fast
    _fast = enabled and SPEEDUPS
