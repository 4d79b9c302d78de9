"""A process's own pace (`LocalRateLimit`): calls spaced evenly, a 429's cooldown, the
rate lowered a tenth per burst of 429s and climbing back. On a `VirtualClock`: the
waits are moved through, not waited, and no wall time is asserted."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plaid_link_async import ConfigurationError, LocalRateLimit
from plaid_link_async._calls._rate_limit import MIN_FACTOR, recovered

from ._helpers import VirtualClock

OPERATION = "link_token_create"


def paced(clock: VirtualClock, max_per_second: float | None = None) -> LocalRateLimit:
    return LocalRateLimit(max_per_second, clock=clock.time, sleep=clock.sleep)


async def test_calls_start_evenly_spaced_at_the_rate() -> None:
    clock = VirtualClock()
    limiter = paced(clock, max_per_second=20)
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire(OPERATION)
        starts.append(clock.now)

    calls = [asyncio.ensure_future(call()) for _ in range(10)]
    for _ in range(20):
        await clock.advance(0.05)
    await asyncio.gather(*calls)
    assert [round(later - earlier, 9) for earlier, later in itertools.pairwise(starts)] == [
        0.05
    ] * 9


async def test_a_429_makes_the_next_calls_wait_out_its_retry_after() -> None:
    clock = VirtualClock()
    limiter = paced(clock)  # no pace: the cooldown alone
    await limiter.throttled(OPERATION, 0.3)
    waiting = asyncio.ensure_future(limiter.acquire(OPERATION))
    await clock.advance(0.29)
    assert not waiting.done()
    await clock.advance(0.01)
    assert waiting.done()
    with pytest.raises(ConfigurationError):
        LocalRateLimit(max_per_second=0)


async def test_one_burst_of_429s_lowers_the_rate_once() -> None:
    limiter = paced(VirtualClock(), max_per_second=40)
    for _ in range(6):
        await limiter.throttled(OPERATION, 0.01)
    assert limiter.rate(OPERATION) == pytest.approx(36, rel=0.01)


async def test_a_429_on_a_machine_up_for_years_lowers_the_rate_and_it_climbs_back() -> None:
    # time.monotonic() counts from boot: a clock of years must not break the sums.
    clock = VirtualClock(start=10.0**8)
    limiter = paced(clock, max_per_second=40)
    await limiter.throttled(OPERATION, 0.01)
    assert limiter.rate(OPERATION) == pytest.approx(36)
    clock.now += 1.0
    assert limiter.rate(OPERATION) == pytest.approx(38)
    clock.now += 10.0**7
    assert limiter.rate(OPERATION) == 40


async def test_a_local_429_voids_the_slots_handed_out() -> None:
    clock = VirtualClock()
    limiter = paced(clock, max_per_second=4)
    await limiter.acquire(OPERATION)  # now; the next slot is in 250 ms
    sleeper = asyncio.ensure_future(limiter.acquire(OPERATION))
    await clock.advance(0.05)
    await limiter.throttled(OPERATION, 0.6)
    throttled_at = clock.now
    await clock.advance(0.2)  # the booked slot comes, at the pace refused: booked again
    assert not sleeper.done()
    while not sleeper.done():
        await clock.advance(0.05)
    assert clock.now - throttled_at >= 0.6  # after the cooldown


@given(
    factor=st.floats(min_value=MIN_FACTOR, max_value=1.0),
    since=st.floats(min_value=-1e12, max_value=1e300),
)
def test_recovery_is_bounded_for_any_factor_and_time(factor: float, since: float) -> None:
    assert factor <= recovered(factor, since) <= 1.0
