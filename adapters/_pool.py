"""A bounded pool for the work that follows an acknowledgement.

Both chat platforms want an answer within seconds ("received"), and the work after it (look the
person up, find the meeting, mint the link, send it) can queue. If every acknowledged command
ran at once, a class of 1,500 pressing Join together would put 1,500 commands on the event
loop, and the acknowledgement of the next request would wait behind all of them. So at most
`size` run at a time, the others wait their turn in order, and the loop stays free to
acknowledge; given a `Lull` (`adapters._lull`), the work also waits, boundedly, while a burst
of requests is still coming in. `submit` hands the work over without waiting for it, so the
listener that acks can return (and its HTTP answer go out) at once. Work still waiting or
running is tracked, so an adapter that stops can wait (bounded) for what it already
acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from adapters._inflight import InFlight
from adapters._lull import Lull

# Most of a command's work is waiting (on Slack, the provider, the store), and the store's
# reads of commands at work together are one query (commands/store/batching.py): 96 at once
# made a join 1.59 ms of CPU against 1.79 ms with 32 (1,500 joins, bench/slack_burst.py).
DEFAULT_SIZE = 64


class WorkPool:
    def __init__(self, size: int = DEFAULT_SIZE, lull: Lull | None = None) -> None:
        if size < 1:
            raise ValueError("a work pool needs at least one worker")
        self.size = size
        self.lull = lull
        self._slots: asyncio.Semaphore | None = None
        self._inflight = InFlight()
        self._tasks: set[asyncio.Task[None]] = set()  # held until done (the loop holds weakly)

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work()` once a slot is free (slots are handed out in arrival order). The work
        is made only then: one given up while waiting leaves no coroutine never awaited."""
        async with self._inflight.track():
            await self._in_slot(work, time.monotonic())

    def submit(self, work: Callable[[], Awaitable[None]]) -> None:
        """`run(work)` in a task of its own, counted in flight from now; the caller goes on.
        The work must handle its own errors: nobody awaits the task."""
        self._inflight.begin()
        task = asyncio.get_running_loop().create_task(self._counted(work, time.monotonic()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _counted(self, work: Callable[[], Awaitable[None]], since: float) -> None:
        try:
            await self._in_slot(work, since)
        finally:
            self._inflight.end()

    async def _in_slot(self, work: Callable[[], Awaitable[None]], since: float) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)  # inside the event loop that uses it
        async with self._slots:
            if self.lull is not None:
                await self.lull.wait(since)
            await work()

    async def drain(self, grace_seconds: float) -> None:
        """Wait until the work taken so far is done, or `grace_seconds` passed."""
        await self._inflight.drain(grace_seconds)
