"""Work still running after its acknowledgement, so an adapter can stop without cutting it off.

Both chat platforms answer "received" first and do the work after; on shutdown the adapter
stops taking requests, then waits (bounded) for what it already acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self.begin()
        try:
            yield
        finally:
            self.end()

    def begin(self) -> None:
        """One more in flight, from now (for work handed to a task that starts later)."""
        self._count += 1
        self._idle.clear()

    def end(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def drain(self, grace_seconds: float) -> None:
        """Wait until nothing is in flight, or `grace_seconds` passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
