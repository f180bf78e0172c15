"""Writes to a SQLite store take turns inside this process.

SQLite lets one connection write at a time. A second writer waits in SQLite's busy handler,
which sleeps in growing steps (1, 2, 5 ... 100 ms) and is not woken when the lock comes free:
under a burst (10,000 reminders, each a card to remember and a job to finish) our own pooled
connections queued that way, and the write lock sat idle between them. So the writers of one
store queue here instead, in order, on an asyncio lock, and reach SQLite one after another;
the busy handler is left to waits on other processes. A task that holds the turn (a write
inside a unit) is not made to wait for itself. Other databases take concurrent writers as
they come.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriteTurns:
    def __init__(self, *, serial: bool) -> None:
        self.serial = serial
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None

    def mine(self) -> bool:
        """Whether the running task holds the turn (a batched write must not wait on it)."""
        return self._holder is not None and self._holder is asyncio.current_task()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if not self.serial or (task is not None and task is self._holder):
            yield
            return
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None
