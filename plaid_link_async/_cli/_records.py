"""The records of a CSV or JSON Lines input file, read lazily and with bounds.

A bad row is that row's error, never the whole file's: a line that does not decode,
one too long, JSON nested too deep, a missing column. Each row also gets a fingerprint
of its content, which the journal keeps to tell a resumed input from another file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final

import attrs

from .._errors._exceptions import PlaidLinkError

#: The longest input line read: longer ones are that row's error (and skipped in pieces,
#: never read whole).
MAX_LINE_BYTES: Final = 1 << 20
#: The longest CSV field, as Python's csv module has it by default.
MAX_FIELD_CHARS: Final = 128 * 1024
DEFAULT_ENCODING: Final = "utf-8"


class InputError(PlaidLinkError, ValueError):
    """A row of the input cannot become a request; `row` and `field` say where."""

    def __init__(self, row: int, field: str, message: str) -> None:
        self.row = row
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"row {self.row}"] if self.row else []
        if self.field:
            parts.append(self.field)
        return ", ".join(parts) + f": {self.message}" if parts else self.message


@attrs.frozen
class Record:
    """One input row as read: its number (1 for the first data row), the line it starts
    on, its fields or the reason it has none, and a fingerprint of its content."""

    number: int
    line: int
    fingerprint: str
    fields: Mapping[str, Any] | None = None
    problem: str | None = None

    @property
    def user_id(self) -> str | None:
        if self.fields is None:
            return None
        # `client_user_id` is the column's name; `user_id`, its older one, still reads.
        value = self.fields.get("client_user_id") or self.fields.get("user_id")
        user = self.fields.get("user")
        if value is None and isinstance(user, Mapping):
            value = user.get("client_user_id")
        return None if value is None else str(value)[:200]


def read_records(path: Path, encoding: str = DEFAULT_ENCODING) -> Iterator[Record]:
    """The rows of `path` as read, without building requests: cheap, for a first pass.

    Raises:
        InputError: (row 0) the file as a whole is unusable, such as a CSV file without
            a client_user_id (or user_id) column.
    """
    with path.open("rb") as handle:
        lines = _Lines(handle, encoding)
        if path.suffix.lower() == ".csv":
            yield from _csv_records(path, lines)
        else:
            yield from _jsonl_records(lines)


class _Lines:
    """Decoded lines of a binary file, each at most `MAX_LINE_BYTES`; a line that is too
    long or does not decode is noted in `problems` by its number, not raised.

    A line that is too long is never held whole: its pieces go to `on_skip` as they are
    read (the CSV reader follows its quotes through them), then an empty line stands in
    for it, so that the lines after keep their numbers, and `skipped` names it.
    """

    def __init__(self, handle: IO[bytes], encoding: str) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder(encoding)
        self._encoding = encoding
        self.number = 0  # lines read so far
        self.problems: dict[int, str] = {}
        self.on_skip: Callable[[str], None] | None = None
        self.skipped = 0  # the number of the last line that was too long

    def __iter__(self) -> Iterator[str]:
        utf8 = codecs.lookup(self._encoding).name == "utf-8"
        bom = codecs.BOM_UTF8 if utf8 else b""
        while True:
            raw = self._handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.number += 1
            if self.number == 1 and bom and raw.startswith(bom):
                raw = raw[len(bom) :]
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self._skip_rest(raw)
                self.problems[self.number] = f"line {self.number} is over {MAX_LINE_BYTES:,} bytes"
                self.skipped = self.number
                yield ""
                continue
            try:
                yield self._decoder().decode(raw, final=True)
            except UnicodeDecodeError as error:
                self.problems[self.number] = (
                    f"line {self.number} is not valid {self._encoding} (byte "
                    f"0x{raw[error.start]:02x} at position {error.start + 1}); "
                    "pass --encoding if the file has another"
                )
                yield raw.decode(self._encoding, errors="replace")

    def _skip_rest(self, first: bytes) -> None:
        piece = first
        while True:
            if self.on_skip is not None:
                self.on_skip(piece.decode(self._encoding, errors="replace"))
            if piece.endswith(b"\n"):
                return
            piece = self._handle.readline(MAX_LINE_BYTES)
            if not piece:
                return

    def take_problem(self, since: int) -> str | None:
        """The first problem on lines after `since`, up to the current one."""
        for number in range(since + 1, self.number + 1):
            problem = self.problems.pop(number, None)
            if problem is not None:
                return problem
        return None


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _csv_records(path: Path, lines: _Lines) -> Iterator[Record]:
    records = _csv_split(path, lines)
    header: list[str] | None = None
    for _, texts, problem in records:
        if texts is not None and _empty(texts):
            continue  # empty lines before the header
        if problem is None and texts is not None:
            try:
                header = next(csv.reader(texts), None)
            except csv.Error as error:
                problem = str(error)
        if header is None or problem is not None:
            raise InputError(0, "", f"{path.name}: the header line is not CSV: {problem}")
        break
    if header is None:
        return
    header = [name.strip() for name in header]
    if not {"user_id", "client_user_id"} & set(header):
        raise InputError(0, "user_id", f"{path.name} has no client_user_id (or user_id) column")
    number = 0
    for line, texts, problem in records:
        values: list[str] | None = None
        if problem is None and texts is not None:
            if _empty(texts):
                continue  # an empty line is no row, as the csv module has it
            try:
                values = next(csv.reader(texts), None) or []
            except csv.Error as error:
                problem = f"not CSV: {error}"
        number += 1
        fingerprint = _fingerprint(json.dumps(values))
        if problem is None and values is not None:
            if any(len(value) > MAX_FIELD_CHARS for value in values):
                problem = f"a field is over {MAX_FIELD_CHARS:,} characters"
            elif len(values) > len(header):
                problem = f"{len(values)} fields, but the header names {len(header)}"
        if problem is not None or values is None:
            yield Record(number, line, fingerprint, problem=problem or "not CSV")
            continue
        # Fewer values than columns is fine (the rest are empty), more was refused above.
        fields = {name: value for name, value in zip(header, values, strict=False) if value}
        yield Record(number, line, fingerprint, fields=fields)


def _empty(texts: list[str]) -> bool:
    return len(texts) == 1 and not texts[0].strip("\r\n")


# The csv module's quoting states (dialect "excel", not strict): at the start of a
# field, inside an unquoted one, inside a quoted one, just after a quote in a quoted one.
_START, _UNQUOTED, _QUOTED, _CLOSED = range(4)
_SPECIAL: Final = re.compile(r'[",]')


def _advance(state: int, text: str) -> int:
    """The csv module's state after reading `text` from `state`; it carries across pieces.

    Only quotes and commas change it, so only they are visited: a line without a quote
    costs one `in` test.
    """
    if '"' not in text:
        if state == _QUOTED or not text:
            return state
        return _START if text.endswith(",") else _UNQUOTED
    at = 0  # everything before `at` has been taken into `state`
    for match in _SPECIAL.finditer(text):
        pos = match.start()
        if state == _QUOTED:
            if text[pos] == '"':
                state, at = _CLOSED, pos + 1
            continue
        if pos > at and state != _UNQUOTED:
            state = _UNQUOTED  # plain characters came first: a quote now is literal
        if text[pos] == ",":
            state = _START
        elif state != _UNQUOTED:
            state = _QUOTED  # a field opening with a quote, or a doubled quote inside one
        at = pos + 1
    if len(text) > at and state != _QUOTED:
        state = _UNQUOTED
    return state


def _csv_split(path: Path, lines: _Lines) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """Each CSV record as (its first line, its lines, a problem), cut where the csv module
    itself ends a record: at a line end outside quotes.

    Records are cut here rather than by one `csv.reader` over the whole file, because
    after an error that reader goes on at the next *line*, which may be inside a field:
    every line of one bad quoted field would become a row of its own. A record is held
    up to `MAX_LINE_BYTES` characters; a longer one is that row's problem, skipped to
    its true end. A quoted field still open at the end of the file refuses the input.

    Raises:
        InputError: (row 0) a quoted field is never closed.
    """
    state = _START

    def follow(piece: str) -> None:
        nonlocal state
        state = _advance(state, piece)

    lines.on_skip = follow
    texts: list[str] = []
    size = 0
    first = 0
    oversized = False
    for text in lines:
        if not texts and not oversized:
            first = lines.number
        if lines.skipped == lines.number:
            oversized = True  # `follow` has seen its pieces
        else:
            state = _advance(state, text)
            size += len(text)
            oversized = oversized or size > MAX_LINE_BYTES
            if not oversized:
                texts.append(text)
        if state == _QUOTED:
            continue
        problem = lines.take_problem(first - 1)
        if oversized and problem is None:
            problem = (
                f"the row (lines {first}-{lines.number}) is over {MAX_LINE_BYTES:,} characters"
            )
        yield first, None if oversized else texts, problem
        texts, size, oversized, state = [], 0, False, _START
    if texts or oversized:
        raise InputError(
            0,
            "",
            f"{path.name}: line {first} opens a quoted field that is never closed (the "
            "rest of the file would be one field); fix the quotes. Nothing was sent.",
        )


def _jsonl_records(lines: _Lines) -> Iterator[Record]:
    number = 0
    for text in lines:
        problem = lines.take_problem(lines.number - 1)
        if problem is None and not text.strip():
            continue
        number += 1
        fingerprint = _fingerprint(text.strip())
        if problem is not None:
            yield Record(number, lines.number, fingerprint, problem=problem)
            continue
        try:
            fields = json.loads(text)
        except json.JSONDecodeError as error:
            yield Record(number, lines.number, fingerprint, problem=f"not JSON: {error.msg}")
            continue
        except RecursionError:
            yield Record(number, lines.number, fingerprint, problem="JSON nested too deep")
            continue
        if not isinstance(fields, dict):
            yield Record(number, lines.number, fingerprint, problem="not a JSON object")
            continue
        yield Record(number, lines.number, fingerprint, fields=fields)
