"""Link tokens for every user in a CSV file, with a progress bar, resumable.

    pip install 'plaid-link-async[progress]'
    PLAID_CLIENT_ID=... PLAID_SECRET=... python examples/batch_job.py users.csv tokens.jsonl

`users.csv` has a `user_id` column. Each result is appended to `tokens.jsonl` as soon as
it arrives, so after a crash or Ctrl-C the same command carries on where it stopped:
users that already have a line are skipped. (`plaid-link batch create` is the full
version of this, with more input formats and options.)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plaid_link_async import AsyncLinkSession, BatchProgress, ConfigurationError, ProgressBar
from plaid_link_async import models as m


def already_done(output: Path) -> set[str]:
    """User ids that have a token in `output` (failures are tried again).

    A last line cut short by a crash is removed first, so that the next line appended
    does not run into it; that user is simply done again.
    """
    if not output.exists():
        return set()
    text = output.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        output.write_text(text, encoding="utf-8")
    done: set[str] = set()
    for line in text.splitlines():
        record = json.loads(line)
        if "link_token" in record:
            done.add(record["user_id"])
    return done


def pending_users(users_csv: Path, done: set[str]) -> Iterator[str]:
    with users_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["user_id"] not in done:
                yield row["user_id"]


def progress_display(total: int) -> Any:
    """tqdm's bar when the `progress` extra is installed, else a line every 100 results."""
    try:
        return ProgressBar(total=total)
    except ConfigurationError:  # tqdm is not installed
        pass

    def print_progress(progress: BatchProgress) -> None:
        if progress.done % 100 == 0 or progress.done == total:
            print(f"{progress.done}/{total} done, {progress.failed} failed", file=sys.stderr)

    return print_progress


async def main(users_csv: Path, output: Path, concurrency: int) -> int:
    done = already_done(output)
    user_ids = list(pending_users(users_csv, done))
    print(f"{len(done)} users already have a token; {len(user_ids)} to go", file=sys.stderr)
    requests = (
        m.LinkTokenCreateRequest(
            client_name="My App",
            language="en",
            country_codes=[m.CountryCode.US],
            user=m.LinkTokenCreateRequestUser(client_user_id=user_id),
            products=[m.Products.AUTH],
        )
        for user_id in user_ids
    )
    failed = 0
    progress = progress_display(len(user_ids))
    try:
        async with AsyncLinkSession() as plaid:
            with output.open("a", encoding="utf-8") as out:
                batch = plaid.link_token_create_many(
                    requests, concurrency=concurrency, progress=progress
                )
                async with batch:
                    async for result in batch:
                        record: dict[str, Any] = {"user_id": user_ids[result.index]}
                        if result.response is not None:
                            record["link_token"] = result.response.link_token
                            record["expiration"] = result.response.expiration.isoformat()
                        else:
                            failed += 1
                            record["error"] = str(result.error)
                        # A whole line at a time, flushed: a kill leaves only whole lines.
                        out.write(json.dumps(record) + "\n")
                        out.flush()
    finally:
        close = getattr(progress, "close", None)
        if close is not None:
            close()
    print(f"{len(user_ids) - failed} created, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users_csv", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.users_csv, args.output, args.concurrency)))
