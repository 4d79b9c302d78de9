"""An asyncio worker: tasks share one session, take jobs from a queue, stop on SIGTERM.

    PLAID_CLIENT_ID=... PLAID_SECRET=... python examples/worker.py < user_ids.txt

Each line of standard input is a job (a user id; in production, a message from your
broker). Four tasks create a link token per job and print a JSON line per result. On
SIGTERM or SIGINT the worker stops taking jobs, finishes the ones it has taken (for at
most GRACE seconds), closes the session and exits 0: no call is cut off mid-way unless
the grace period runs out, and no connection is left open.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from plaid_link_async import AsyncLinkSession, PlaidLinkError
from plaid_link_async import models as m

WORKERS = 4
GRACE = 10.0  # seconds to finish taken jobs after SIGTERM


async def read_jobs(queue: asyncio.Queue[str]) -> None:
    """Feed stdin's lines to the queue; a full queue pauses reading (back-pressure)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        if user_id := line.decode().strip():
            await queue.put(user_id)


async def work(plaid: AsyncLinkSession, queue: asyncio.Queue[str], counts: dict[str, int]) -> None:
    while True:
        user_id = await queue.get()
        try:
            created = await plaid.link_token_create(
                m.LinkTokenCreateRequest(
                    client_name="My App",
                    language="en",
                    country_codes=[m.CountryCode.US],
                    user=m.LinkTokenCreateRequestUser(client_user_id=user_id),
                    products=[m.Products.AUTH],
                )
            )
        except PlaidLinkError as error:
            counts["failed"] += 1
            print(json.dumps({"user_id": user_id, "error": str(error)}), flush=True)
        else:
            counts["created"] += 1
            print(json.dumps({"user_id": user_id, "link_token": created.link_token}), flush=True)
        finally:
            queue.task_done()


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
    counts = {"created": 0, "failed": 0}
    async with AsyncLinkSession() as plaid:
        workers = [asyncio.create_task(work(plaid, queue, counts)) for _ in range(WORKERS)]
        reader = asyncio.create_task(read_jobs(queue))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
        reader.cancel()  # take no new jobs
        stopping.cancel()
        why = "signal" if stop.is_set() else "end of input"
        try:
            await asyncio.wait_for(queue.join(), GRACE)  # finish the jobs already taken
        except asyncio.TimeoutError:
            print(f"grace period over: {queue.qsize()} jobs left", file=sys.stderr)
        for task in workers:
            task.cancel()
        await asyncio.gather(reader, *workers, return_exceptions=True)
    print(
        f"stopped on {why}: {counts['created']} created, {counts['failed']} failed; session closed",
        file=sys.stderr,
    )


if __name__ == "__main__":
    asyncio.run(main())
