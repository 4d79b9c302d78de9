"""The journal of `plaid-link batch create`: its output file, one JSON line per finished row.

A row with a line holding a `link_token` is done; so is one with an `error`, unless
failed rows are retried, and one whose outcome is unknown (Plaid may have acted on it),
unless those are retried by name. Every line names its input row by number,
`client_user_id` and a fingerprint of the row's content, so resuming against another
input, or one with a row inserted, is refused instead of skipping rows that were never
sent. A complete line is never removed or rewritten; only an unterminated last line,
which a crash may leave, is dropped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import attrs

from .._errors._exceptions import AmbiguousOutcomeError, PlaidAPIError, PlaidLinkError, one_line
from .._wire._datetimes import format_datetime
from ._lockfile import OutputLock
from ._records import Record

#: At most one fsync per this many seconds while writing, and one at the end.
FSYNC_INTERVAL: Final = 1.0
_BLOCK: Final = 1 << 16


class JournalError(PlaidLinkError, ValueError):
    """The output file cannot be used as this input's journal; nothing was sent."""


class JournalWriteError(PlaidLinkError):
    """A line could not be written (a full disk, a file size limit): the run stops."""


@attrs.frozen
class Entry:
    """What the journal says of one row."""

    fingerprint: str | None
    user_id: str | None
    created: bool
    #: The call may have reached Plaid and been acted on (`AmbiguousOutcomeError`).
    ambiguous: bool = False


def journal_line(
    row: int,
    user_id: str | None,
    fingerprint: str,
    *,
    created: Any = None,
    error: BaseException | None = None,
) -> dict[str, Any]:
    """One row's journal line, as `batch create` and campaigns write it: the row's
    identity (so that a resume can check it), then its token or its error."""
    line: dict[str, Any] = {"row": row, "user_id": user_id, "fp": fingerprint}
    if error is not None:
        line["error"] = error_record(error)
        return line
    line["link_token"] = created.link_token
    line["expiration"] = format_datetime(created.expiration)
    line["request_id"] = created.request_id
    if getattr(created, "hosted_link_url", None):
        line["hosted_link_url"] = created.hosted_link_url
    return line


def error_record(error: BaseException) -> dict[str, Any]:
    """What a journal line says of a row's error."""
    record: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, AmbiguousOutcomeError):
        # A resume must know not to send it again without --retry-ambiguous.
        record["ambiguous"] = True
    if isinstance(error, PlaidAPIError):
        # Cut and escaped as in str(error): a journal line is no place for 1 MiB.
        record["code"] = one_line(error.error_code, 100) if error.error_code else None
        record["message"] = one_line(error.error_message, 1000) if error.error_message else None
    request_id = getattr(error, "request_id", None)
    if request_id:
        record["request_id"] = request_id
    return record


def check_paths(input_path: Path, output_path: Path) -> None:
    """Refuse, with one line each, every pair of paths that cannot work."""
    if not input_path.exists():
        raise JournalError(f"no such input file: {input_path}")
    if input_path.is_dir():
        raise JournalError(f"--input is a folder, not a file: {input_path}")
    if output_path.is_dir():
        raise JournalError(f"--output is a folder, not a file: {output_path}")
    if not output_path.parent.is_dir():
        raise JournalError(f"the folder of --output does not exist: {output_path.parent}")
    if output_path.exists() and os.path.samefile(input_path, output_path):
        raise JournalError(
            f"--output is the --input file ({output_path}): results would be appended to "
            "the input; choose another output file"
        )


class Journal:
    """Open with `Journal.open`; `entries` is what earlier runs finished."""

    def __init__(
        self, path: Path, entries: dict[int, Entry], moved_to: Path | None, lock: OutputLock
    ) -> None:
        self.path = path
        self.entries = entries
        #: Where `--new-journal` moved an earlier journal, if it did.
        self.moved_to = moved_to
        self._lock = lock
        self._fd: int | None = None
        self._synced = time.monotonic()

    @classmethod
    def open(cls, path: Path, *, new: bool = False) -> Journal:
        """Read the journal at `path` (repairing a cut last line), or start one.

        `new` moves an existing journal aside (never deletes it) and starts afresh. The
        journal is locked until `close()`: a second run on it is refused.

        Raises:
            LockedError: another process has this journal open.
        """
        lock = OutputLock(path)
        lock.acquire(f"the journal {path.name}")
        try:
            moved_to = None
            if new and path.exists() and path.stat().st_size > 0:
                moved_to = path.with_name(f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}.old")
                path.rename(moved_to)
            entries = _read(path) if path.exists() else {}
            journal = cls(path, entries, moved_to, lock)
            journal._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except BaseException:
            lock.release()
            raise
        return journal

    def is_done(self, row: int, *, retry_failed: bool, retry_ambiguous: bool) -> bool:
        """Whether `row` is finished: created, or failed and not to be sent again.

        A row whose outcome is unknown is sent again only when asked by name: Plaid may
        have texted its user already, and `--retry-failed` must not do that twice.
        """
        entry = self.entries.get(row)
        if entry is None or entry.created:
            return entry is not None
        return not (retry_ambiguous if entry.ambiguous else retry_failed)

    def count_done(self, total: int, *, retry_failed: bool, retry_ambiguous: bool) -> int:
        """How many of the input's first `total` rows are done already."""
        return sum(
            1
            for row in self.entries
            if row <= total
            and self.is_done(row, retry_failed=retry_failed, retry_ambiguous=retry_ambiguous)
        )

    def check(self, records: Iterable[Record], input_name: str) -> int:
        """Count the input's rows, refusing at the first one the journal knows otherwise.

        Raises:
            JournalError: the journal was written for another input, or rows moved.
        """
        count = 0
        for record in records:
            count = record.number
            entry = self.entries.get(record.number)
            if entry is None:
                continue
            if entry.fingerprint is not None:
                same = entry.fingerprint == record.fingerprint
            else:  # a line of plaid-link 0.1.0: only the user id to go by
                same = entry.user_id == record.user_id
            if not same:
                raise JournalError(
                    f"{self.path.name} does not match {input_name}: row {record.number} is "
                    f"{_who(entry.user_id)} in the journal but {_who(record.user_id)} in "
                    f"the input (line {record.line}); was the input edited, or is this "
                    "another file's journal? Use another --output, or --new-journal to "
                    "start over (the old journal is kept beside it)"
                )
        beyond = [row for row in self.entries if row > count]
        if beyond:
            raise JournalError(
                f"{self.path.name} does not match {input_name}: the journal has row "
                f"{min(beyond)}, the input only {count} rows; use another --output, or "
                "--new-journal to start over"
            )
        return count

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` as one line, with one write call per line where the OS allows.

        Raises:
            JournalWriteError: the OS refused the write (a full disk, a size limit).
        """
        assert self._fd is not None, "journal is closed"
        data = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            # Unbuffered, so the line is in the OS as soon as this returns: a killed
            # process loses nothing written. fsync (surviving a power cut) at most once
            # a second.
            now = time.monotonic()
            if now - self._synced >= FSYNC_INTERVAL:
                os.fsync(self._fd)
                self._synced = now
        except OSError as error:
            failure = _write_error(self.path, error)
        else:
            return
        raise failure

    def close(self) -> None:
        """Sync, close and unlock.

        Raises:
            JournalWriteError: the final sync failed (the lines are written, maybe not
                on disk).
        """
        fd, self._fd = self._fd, None
        failure: JournalWriteError | None = None
        if fd is not None:
            try:
                os.fsync(fd)
            except OSError as error:
                failure = _write_error(self.path, error)
            finally:
                os.close(fd)
                self._lock.release()
        if failure is not None:
            raise failure


def _write_error(path: Path, error: OSError) -> JournalWriteError:
    return JournalWriteError(
        f"could not write the journal {path.name}: {error.strerror or type(error).__name__}"
    )


def _who(user_id: str | None) -> str:
    return f"user {user_id!r}" if user_id is not None else "a row without a user id"


def cut_unterminated_tail(path: Path) -> int:
    """Drop the last line of `path` if it has no newline, however long; bytes dropped."""
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            start = max(0, end - _BLOCK)
            handle.seek(start)
            block = handle.read(end - start)
            if end == size and block.endswith(b"\n"):
                return 0
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                handle.truncate(keep)
                return size - keep
            end = start
        handle.truncate(0)  # one line, never finished
        return size


def _read(path: Path) -> dict[int, Entry]:
    cut_unterminated_tail(path)
    entries: dict[int, Entry] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            record = _parse(raw)
            if record is None:
                raise JournalError(
                    f"{path.name} is not a plaid-link journal (line {number} is not one of "
                    "its lines); choose another --output, or --new-journal to move it aside"
                )
            row, entry = record
            if entry is None:
                continue  # neither a token nor an error: not done
            known = entries.get(row)
            if known is None or not known.created:
                entries[row] = entry
    return entries


def _parse(raw: bytes) -> tuple[int, Entry | None] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    row = data.get("row")
    if isinstance(row, bool) or not isinstance(row, int) or row < 1:
        return None
    created = isinstance(data.get("link_token"), str) and bool(data["link_token"])
    error = data.get("error")
    if not created and not isinstance(error, dict):
        return row, None
    fingerprint = data.get("fp")
    user_id = data.get("user_id")
    return row, Entry(
        fingerprint if isinstance(fingerprint, str) else None,
        user_id if isinstance(user_id, str) else None,
        created,
        ambiguous=not created and isinstance(error, dict) and error.get("ambiguous") is True,
    )
