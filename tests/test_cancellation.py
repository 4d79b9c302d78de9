"""Cancelling calls mid-flight leaks no connection or task, and the session keeps working."""

from __future__ import annotations

import asyncio

from plaid_link_async import models as m
from plaid_link_async.testing import FakePlaidServer

from ._helpers import CREATE, acquired, session_for


def _our_tasks() -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task is not current and "plaid_link_async/_" in repr(task.get_coro())
    ]


async def test_half_of_200_concurrent_calls_cancelled_mid_flight(
    fake_plaid: FakePlaidServer,
) -> None:
    fake_plaid.latency = 0.2
    async with session_for(fake_plaid, connector_limit=100) as plaid:
        tasks = [asyncio.create_task(plaid.link_token_create(CREATE)) for _ in range(200)]
        await asyncio.sleep(0.1)  # every call is waiting for a connection or an answer
        for task in tasks[::2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)

        cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
        finished = [r for r in results if isinstance(r, m.LinkTokenCreateResponse)]
        assert len(cancelled) == 100
        assert len(finished) == 100
        assert acquired(plaid) == 0
        assert _our_tasks() == []

        fake_plaid.latency = 0.0
        again = await asyncio.gather(*(plaid.link_token_create(CREATE) for _ in range(20)))
        assert len({result.link_token for result in again}) == 20
        assert acquired(plaid) == 0


async def test_cancelling_while_waiting_for_a_pooled_connection(
    fake_plaid: FakePlaidServer,
) -> None:
    fake_plaid.latency = 0.2
    async with session_for(fake_plaid, connector_limit=2) as plaid:
        tasks = [asyncio.create_task(plaid.link_token_create(CREATE)) for _ in range(10)]
        await asyncio.sleep(0.05)
        for task in tasks[2:]:  # these are queued for one of the two connections
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert sum(isinstance(r, m.LinkTokenCreateResponse) for r in results) == 2
        assert acquired(plaid) == 0
        fake_plaid.latency = 0.0
        await plaid.link_token_create(CREATE)
