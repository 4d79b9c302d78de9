"""`plaid-link batch create`: a token per input row, written to a journal, resumable.

The output file is the journal (see `_journal`). One bad row is that row's error
line and the batch goes on; an error no row can survive (Plaid refusing the
credentials) stops the batch at once, leaving the rows not yet sent undone. Results
that finished are journaled before the process exits, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from .._batch._run import BatchProgress, BatchResult, BatchRun
from .._errors._exceptions import (
    CREDENTIAL_ERROR_CODES,
    AmbiguousOutcomeError,
    ConfigurationError,
    PlaidAPIError,
    PlaidLinkError,
    SessionClosedError,
)
from .._session._session import AsyncLinkSession
from ..models import LinkTokenCreateRequest
from ._input_rows import Defaults, Row, read_rows
from ._journal import Journal, JournalWriteError, journal_line


def is_fatal(error: BaseException | None) -> bool:
    """Whether `error` will happen to every row alike, so the batch should stop."""
    if isinstance(error, PlaidAPIError):
        return error.error_code in CREDENTIAL_ERROR_CODES
    return isinstance(error, (ConfigurationError, SessionClosedError))


@attrs.define
class Summary:
    total: int = 0
    created: int = 0
    failed: int = 0
    #: Of the failed rows, those Plaid may have acted on (journaled as `ambiguous`).
    ambiguous: int = 0
    skipped: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    #: The error that stopped the batch before its end, if one did.
    stopped_by: PlaidLinkError | None = None

    @property
    def left(self) -> int:
        return max(0, self.total - self.created - self.failed - self.skipped)

    def line(self) -> str:
        unknown = f" ({self.ambiguous} with outcome unknown)" if self.ambiguous else ""
        text = (
            f"{self.total} rows: {self.created} created, {self.failed} failed{unknown}, "
            f"{self.skipped} already done (skipped)"
        )
        if self.left:
            text += f", {self.left} not done"
        return text + f" in {self.seconds:.1f} s"


async def run_batch(
    plaid: AsyncLinkSession,
    input_path: Path,
    journal: Journal,
    defaults: Defaults,
    summary: Summary,
    *,
    encoding: str,
    concurrency: int,
    max_per_second: float | None,
    retry_failed: bool,
    retry_ambiguous: bool = False,
    progress: Any = None,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Create tokens for the rows not done yet, journaling a line per row.

    `summary.total` and `summary.skipped` come from the journal's check. `report` gets
    one line per failed row. On cancellation (Ctrl-C) the results that finished are
    journaled, `summary.interrupted` is set, and the cancellation goes on.
    """
    started = time.perf_counter()
    pending: dict[int, Row] = {}

    def failed(row: Row, error: PlaidLinkError, line: str) -> None:
        report(line)
        journal.write(journal_line(row.number, row.user_id, row.fingerprint, error=error))
        summary.failed += 1
        summary.ambiguous += isinstance(error, AmbiguousOutcomeError)

    def record(row: Row, result: BatchResult) -> None:
        if not result.ok:
            failed(row, result.error, f"row {row.number}: {result.error}")
            return
        journal.write(
            journal_line(row.number, row.user_id, row.fingerprint, created=result.response)
        )
        summary.created += 1  # counted once journaled: a row not journaled is not done

    def requests() -> Iterator[LinkTokenCreateRequest]:
        index = 0
        for row in read_rows(input_path, defaults, encoding):
            if journal.is_done(
                row.number, retry_failed=retry_failed, retry_ambiguous=retry_ambiguous
            ):
                continue
            if row.request is None:
                assert row.error is not None
                failed(row, row.error, str(row.error))
                continue
            pending[index] = row
            index += 1
            yield row.request

    run: BatchRun = plaid.link_token_create_many(
        requests(), concurrency=concurrency, max_per_second=max_per_second, progress=progress
    )
    try:
        async for result in run:
            row = pending.pop(result.index)
            if is_fatal(result.error):
                assert result.error is not None
                summary.stopped_by = result.error  # its row stays not done
                break
            record(row, result)
    except JournalWriteError as error:
        summary.stopped_by = error  # nothing more can be kept: stop sending
    except asyncio.CancelledError:
        summary.interrupted = True
        raise
    finally:
        await run.aclose()
        for result in run.drain():
            row = pending.pop(result.index)
            if is_fatal(result.error) or isinstance(summary.stopped_by, JournalWriteError):
                continue  # not journaled: done again on resume
            try:
                record(row, result)
            except JournalWriteError as error:
                summary.stopped_by = error
        summary.seconds = time.perf_counter() - started


class TextProgress:
    """A one-line progress display for terminals without tqdm."""

    def __init__(self, err: IO[str], total: int, initial: int) -> None:
        self._err = err
        self._last = 0.0
        self._total = total
        self._initial = initial

    def __call__(self, progress: BatchProgress) -> None:
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        done = self._initial + progress.done
        left = max(0, self._total - done)
        eta = f", {left / progress.rate:.0f} s left" if progress.rate > 0 else ""
        self._err.write(
            f"\r{done}/{self._total} rows ({self._initial} done before), {progress.failed} "
            f"failed, {progress.in_flight} in flight, {progress.rate:.0f}/s{eta}"
        )
        self._err.flush()

    def close(self) -> None:
        self._err.write("\n")
        self._err.flush()


def progress_display(show: bool, err: IO[str], *, total: int, initial: int) -> Any:
    """A bar over all `total` rows, the `initial` ones done before shown as done."""
    if not show:
        return None
    try:
        from .._batch._progress import ProgressBar

        return ProgressBar(total=total, initial=initial, file=err, unit="row")
    except PlaidLinkError:
        return TextProgress(err, total, initial)
