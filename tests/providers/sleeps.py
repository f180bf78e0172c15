"""A stand-in for `asyncio.sleep` that records retry back-off delays instead of waiting."""

from __future__ import annotations


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
