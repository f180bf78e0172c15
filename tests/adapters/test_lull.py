"""The work after the acks waits for a lull in arriving requests, and no longer than its
patience: a burst is acked first, a steady stream still gets its work done."""

from __future__ import annotations

import asyncio
import time

from adapters._lull import Lull
from adapters._pool import WorkPool


async def test_work_waits_while_requests_arrive_and_starts_in_the_lull():
    lull = Lull(quiet=0.05, patience=5.0)
    pool = WorkPool(4, lull)
    started: list[float] = []

    async def work() -> None:
        started.append(time.monotonic())

    lull.arrived()
    pool.submit(work)
    last = time.monotonic()
    for _ in range(5):  # a burst: a request every 20 ms, each inside the last one's quiet
        await asyncio.sleep(0.02)
        assert started == [], "no work while requests keep coming"
        lull.arrived()
        last = time.monotonic()
    await pool.drain(5)
    assert len(started) == 1
    assert started[0] - last >= 0.05 - 0.005, "it began only after a quiet moment"


async def test_a_steady_stream_delays_work_by_the_patience_at_most():
    lull = Lull(quiet=0.05, patience=0.1)
    pool = WorkPool(1, lull)
    started: list[float] = []

    async def work() -> None:
        started.append(time.monotonic())

    lull.arrived()
    handed = time.monotonic()
    pool.submit(work)
    while not started:  # requests every 10 ms, never a lull
        lull.arrived()
        await asyncio.sleep(0.01)
        assert time.monotonic() - handed < 1.0, "work starved"
    assert 0.1 - 0.005 <= started[0] - handed < 0.5


async def test_without_requests_work_starts_at_once_and_release_lets_it_go():
    lull = Lull(quiet=10.0, patience=10.0)
    pool = WorkPool(1, lull)
    done: list[int] = []

    async def work() -> None:
        done.append(1)

    pool.submit(work)
    await pool.drain(1)
    assert done == [1], "no request seen: nothing to wait for"
    lull.arrived()
    pool.submit(work)
    await asyncio.sleep(0.01)
    assert done == [1]
    lull.release()  # the adapter stops: what it acked goes now
    await pool.drain(1)
    assert done == [1, 1]
