"""Deadlines on one timer behave as `asyncio.timeout` does: an overdue call is stopped with
TimeoutError, a call that ends in time is never touched afterwards, a cancellation from
elsewhere stays a CancelledError. Real waits here are a few tens of milliseconds on events."""

from __future__ import annotations

import asyncio
import time

import pytest

from providers._deadline import Deadlines

TICK = 0.03


async def bounded(deadlines: Deadlines, seconds: float) -> str:
    with deadlines.limit():
        await asyncio.sleep(seconds)
    return "answered"


async def test_an_overdue_call_raises_timeout_error_at_its_deadline():
    deadlines = Deadlines(TICK)
    started = time.perf_counter()
    with pytest.raises(TimeoutError) as caught:
        await bounded(deadlines, 10)
    assert TICK <= time.perf_counter() - started < 10 * TICK
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)


async def test_among_many_only_the_overdue_ones_time_out():
    deadlines = Deadlines(2 * TICK)
    outcomes = await asyncio.gather(
        *(bounded(deadlines, 0 if i % 3 else 10) for i in range(30)), return_exceptions=True
    )
    assert [isinstance(o, TimeoutError) for o in outcomes] == [i % 3 == 0 for i in range(30)]
    assert [o for o in outcomes if not isinstance(o, TimeoutError)] == ["answered"] * 20


async def test_a_call_that_ended_in_time_is_left_alone_after_its_deadline():
    deadlines = Deadlines(TICK)
    assert await bounded(deadlines, 0) == "answered"
    task = asyncio.current_task()
    assert task is not None
    await asyncio.sleep(3 * TICK)  # past the deadline: no cancellation arrives
    assert task.cancelling() == 0


async def test_each_call_gets_its_own_full_time_however_late_it_starts():
    deadlines = Deadlines(6 * TICK)
    first = asyncio.create_task(bounded(deadlines, 10))
    await asyncio.sleep(3 * TICK)
    # Ends a tick after the first one's deadline, two before its own.
    second = asyncio.create_task(bounded(deadlines, 4 * TICK))
    with pytest.raises(TimeoutError):
        await first
    assert await second == "answered"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation():
    deadlines = Deadlines(10)
    call = asyncio.create_task(bounded(deadlines, 10))
    await asyncio.sleep(0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_a_shorter_timeout_set_later_still_holds():
    # Deadlines out of order (here a shorter timeout after a longer one) get a timer each.
    deadlines = Deadlines(10)
    slow = asyncio.create_task(bounded(deadlines, 10))
    await asyncio.sleep(0)
    deadlines.seconds = TICK
    with pytest.raises(TimeoutError):
        await bounded(deadlines, 10)
    assert not slow.done()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


def test_a_new_event_loop_gets_a_working_timer():
    deadlines = Deadlines(TICK)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            asyncio.run(bounded(deadlines, 10))
        assert asyncio.run(bounded(deadlines, 0)) == "answered"
