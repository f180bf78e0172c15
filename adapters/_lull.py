"""A lull in arriving requests: while a burst comes in, the work after the acks waits for one.

A class of 1,500 pressing Join within a second is 1,500 requests to ack (Slack allows 3 s) and
1,500 joins to carry out (a lookup, a link, a DM). On one event loop, each join's work would
take its turn between the acks, and the acks of the burst's tail would wait behind the work
of its head. So the work waits while requests keep arriving: it starts once none has arrived
for `quiet` seconds, or once it has waited `patience` seconds, whichever is first (so a steady
stream of requests delays the work by at most that much, and never starves it).

One timer at most is armed, whatever the number of requests or of waiting workers: an arrival
only notes its time, and the timer, when it fires, either opens the gate or re-arms itself
for the last arrival's quiet moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

QUIET = 0.02  # seconds without a new request that make a lull
PATIENCE = 1.0  # seconds a piece of work waits for a lull at most


class Lull:
    def __init__(self, quiet: float = QUIET, patience: float = PATIENCE) -> None:
        self.quiet = quiet
        self.patience = patience
        self._last = -float("inf")
        self._open: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None

    def arrived(self) -> None:
        """A request came in: the gate closes until `quiet` seconds pass without another."""
        self._last = time.monotonic()
        if self._open is None:
            self._open = asyncio.Event()  # inside the event loop that uses it
        self._open.clear()
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.quiet, self._check)

    async def wait(self, since: float) -> None:
        """Return at the next lull, or `patience` seconds after `since` (time.monotonic())."""
        if self._open is None or self._open.is_set():
            return
        left = since + self.patience - time.monotonic()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._open.wait(), left)

    def _check(self) -> None:
        self._timer = None
        calm_at = self._last + self.quiet
        now = time.monotonic()
        if now >= calm_at:
            assert self._open is not None
            self._open.set()
        else:
            self._timer = asyncio.get_running_loop().call_later(calm_at - now, self._check)

    def release(self) -> None:
        """Let the waiting work go now (the adapter stops taking requests, or waits for it)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._open is not None:
            self._open.set()
