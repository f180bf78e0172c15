"""The pool after the ack: at most `size` pieces of work at once, in arrival order, drained on
stop, and work given up while it waited never made."""

from __future__ import annotations

import asyncio

import pytest

from adapters._pool import WorkPool


async def test_at_most_size_run_at_once_in_arrival_order():
    pool = WorkPool(2)
    release = asyncio.Event()
    running: list[int] = []
    started: list[int] = []
    peak = 0

    async def work(number: int) -> None:
        nonlocal peak
        started.append(number)
        running.append(number)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(number)

    def job(number: int):
        return lambda: work(number)

    tasks = [asyncio.create_task(pool.run(job(number))) for number in range(6)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == [0, 1], "two slots: the others wait"
    release.set()
    await asyncio.gather(*tasks)
    assert started == [0, 1, 2, 3, 4, 5]
    assert peak == 2


async def test_drain_waits_for_work_waiting_and_running():
    pool = WorkPool(1)
    done: list[int] = []

    async def work(number: int) -> None:
        await asyncio.sleep(0)
        done.append(number)

    def job(number: int):
        return lambda: work(number)

    tasks = [asyncio.create_task(pool.run(job(number))) for number in range(3)]
    await asyncio.sleep(0)
    await pool.drain(5)
    assert done == [0, 1, 2]
    await asyncio.gather(*tasks)


async def test_work_given_up_while_waiting_is_never_made():
    pool = WorkPool(1)
    hold = asyncio.Event()
    made: list[str] = []

    async def first() -> None:
        await hold.wait()

    def second() -> asyncio.Future[None]:
        made.append("second")
        return asyncio.get_running_loop().create_future()

    busy = asyncio.create_task(pool.run(first))
    waiting = asyncio.create_task(pool.run(second))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    hold.set()
    await busy
    assert made == []


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError, match="at least one worker"):
        WorkPool(0)


async def test_submitted_work_is_counted_from_the_hand_over_and_drained():
    pool = WorkPool(1)
    done: list[int] = []

    async def work(number: int) -> None:
        await asyncio.sleep(0)
        done.append(number)

    for number in range(3):
        pool.submit(lambda number=number: work(number))  # type: ignore[misc]
    assert done == [], "handed over: the caller goes on at once"
    # Drained although no task has started yet: each counts from its submit.
    await pool.drain(5)
    assert done == [0, 1, 2]
