"""`plaid-link batch create`: a token per input row, written as JSON Lines, resumable.

The output file is the journal: a row with a line in it is done, so running again
with the same output skips it. Lines are written whole and flushed one by one; a
line cut short by a crash is dropped on the next run and its row done again.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from ._batch import BatchProgress, BatchResult
from ._cli_input import Defaults, Row, read_rows
from ._datetimes import format_datetime
from ._exceptions import PlaidAPIError, PlaidLinkError
from ._session import AsyncLinkSession
from .models import LinkTokenCreateRequest


@attrs.define
class Summary:
    total: int = 0
    created: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.total} rows: {self.created} created, {self.failed} failed, "
            f"{self.skipped} already done (skipped) in {self.seconds:.1f} s"
        )


def finished_rows(output: Path, *, retry_failed: bool) -> set[int]:
    """The rows the output already has a line for (failed ones too, unless retried).

    A last line cut short by a crash is removed from the file first.
    """
    if not output.exists():
        return set()
    _drop_partial_last_line(output)
    created: set[int] = set()
    failed: set[int] = set()
    with output.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
                row = int(record["row"])
            except (ValueError, KeyError, TypeError):
                continue
            (created if "link_token" in record else failed).add(row)
    return created if retry_failed else created | failed


def _drop_partial_last_line(path: Path) -> None:
    with path.open("rb+") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size == 0:
            return
        # Read back just far enough to find the last newline.
        block = min(size, 1 << 16)
        handle.seek(size - block)
        tail = handle.read(block)
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        handle.truncate(size - block + cut + 1 if cut >= 0 else 0)


def error_record(error: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, PlaidAPIError):
        record["code"] = error.error_code
        record["message"] = error.error_message
    request_id = getattr(error, "request_id", None)
    if request_id:
        record["request_id"] = request_id
    return record


class _Writer:
    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def write(self, record: dict[str, Any]) -> None:
        # One write per whole line, flushed: a kill leaves complete lines behind.
        self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._handle.flush()


async def run_batch(
    plaid: AsyncLinkSession,
    input_path: Path,
    output_path: Path,
    defaults: Defaults,
    *,
    concurrency: int,
    max_per_second: float | None,
    retry_failed: bool,
    show_progress: bool,
    err: IO[str] = sys.stderr,
) -> Summary:
    """Create tokens for the rows not done yet; append a line per row to the output."""
    summary = Summary()
    started = time.perf_counter()
    done = finished_rows(output_path, retry_failed=retry_failed)
    pending: dict[int, Row] = {}
    with output_path.open("a", encoding="utf-8") as handle:
        writer = _Writer(handle)

        def requests() -> Iterator[LinkTokenCreateRequest]:
            index = 0
            for row in read_rows(input_path, defaults):
                summary.total += 1
                if row.number in done:
                    summary.skipped += 1
                    continue
                if row.request is None:
                    assert row.error is not None
                    summary.failed += 1
                    print(f"error: {row.error}", file=err, flush=True)
                    writer.write(
                        {
                            "row": row.number,
                            "user_id": row.user_id,
                            "error": error_record(row.error),
                        }
                    )
                    continue
                pending[index] = row
                index += 1
                yield row.request

        progress = _progress(show_progress, err)
        try:
            async with plaid.link_token_create_many(
                requests(),
                concurrency=concurrency,
                max_per_second=max_per_second,
                progress=progress,
            ) as run:
                async for result in run:
                    row = pending.pop(result.index)
                    _record(writer, row, result, summary, err)
        finally:
            close = getattr(progress, "close", None)
            if close is not None:
                close()
            summary.seconds = time.perf_counter() - started
    return summary


def _record(writer: _Writer, row: Row, result: BatchResult, summary: Summary, err: IO[str]) -> None:
    record: dict[str, Any] = {"row": row.number, "user_id": row.user_id}
    if result.response is not None:
        summary.created += 1
        record["link_token"] = result.response.link_token
        record["expiration"] = format_datetime(result.response.expiration)
        record["request_id"] = result.response.request_id
    else:
        assert result.error is not None
        summary.failed += 1
        record["error"] = error_record(result.error)
        print(f"error: row {row.number}: {result.error}", file=err, flush=True)
    writer.write(record)


def _progress(show: bool, err: IO[str]) -> Any:
    if not show:
        return None
    try:
        from ._progress import ProgressBar

        return ProgressBar(file=err)
    except PlaidLinkError:
        return _TextProgress(err)


class _TextProgress:
    """A one-line progress display for terminals without tqdm."""

    def __init__(self, err: IO[str]) -> None:
        self._err = err
        self._last = 0.0

    def __call__(self, progress: BatchProgress) -> None:
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self._err.write(
            f"\r{progress.done} done, {progress.failed} failed, {progress.in_flight} in flight, "
            f"{progress.rate:.0f}/s"
        )
        self._err.flush()

    def close(self) -> None:
        self._err.write("\n")
        self._err.flush()
