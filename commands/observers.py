"""Telling others what happened to a meeting, after our records say so.

A `MeetingObserver` hears of a meeting's life once each step is in the store: scheduled (made
with a start), opened (its current occurrence opened: by the clock or an early join), changed
(its title or time), ended (an occurrence is over; the meeting passed on is as it is now: at
its series' next occurrence, or ended for good) and deleted. A chat platform mirrors meetings
with these (Discord's scheduled events), so the command layer never knows the platform.

`Observers` is what the use cases call: it tells every observer and keeps their failures
from the caller. A mirror is a courtesy, never the command: a platform that refuses
(`ObserverFailed`) or takes too long is logged as a warning, once, without a traceback; any
other exception is a bug of ours and logged as an error with one. Nothing is raised.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal, Protocol

from commands.model import Meeting

log = logging.getLogger("meetbot.observers")

Step = Literal["scheduled", "opened", "changed", "ended", "deleted"]

# Longer than a few ordinary platform round trips, short enough that a platform holding its
# answers (a long rate-limit wait) cannot hold a command or a job.
OBSERVER_TIMEOUT = 10.0


class ObserverFailed(Exception):
    """The platform refused or could not be reached: said in the log, the command goes on.
    The message must be fit for a log line (no secret)."""


class MeetingObserver(Protocol):
    async def scheduled(self, meeting: Meeting) -> None:
        """A meeting was made to start later (`meeting.schedule.start`)."""

    async def opened(self, meeting: Meeting) -> None:
        """The occurrence at `meeting.schedule.start` opened."""

    async def changed(self, meeting: Meeting) -> None:
        """The meeting's title or time changed."""

    async def ended(self, meeting: Meeting) -> None:
        """An occurrence ended; `meeting` waits for the next one or has ended for good."""

    async def deleted(self, meeting: Meeting) -> None:
        """The meeting is gone from our records."""


class Observers:
    """Every observer of meetings, told in turn; see the module docstring for failures."""

    def __init__(self, *observers: MeetingObserver, timeout: float = OBSERVER_TIMEOUT) -> None:
        self._observers = list(observers)
        self.timeout = timeout

    def add(self, observer: MeetingObserver) -> None:
        self._observers.append(observer)

    async def scheduled(self, meeting: Meeting) -> None:
        await self._tell("scheduled", meeting)

    async def opened(self, meeting: Meeting) -> None:
        await self._tell("opened", meeting)

    async def changed(self, meeting: Meeting) -> None:
        await self._tell("changed", meeting)

    async def ended(self, meeting: Meeting) -> None:
        await self._tell("ended", meeting)

    async def deleted(self, meeting: Meeting) -> None:
        await self._tell("deleted", meeting)

    async def _tell(self, step: Step, meeting: Meeting) -> None:
        for observer in self._observers:
            name = type(observer).__name__
            try:
                async with asyncio.timeout(self.timeout):
                    await getattr(observer, step)(meeting)
            except ObserverFailed as failure:
                log.warning("%s: meeting %s %s, not mirrored: %s", name, meeting.id, step, failure)
            except TimeoutError:
                log.warning(
                    "%s: meeting %s %s, not mirrored: no answer within %ss",
                    name,
                    meeting.id,
                    step,
                    self.timeout,
                )
            except Exception:
                log.exception("%s failed on meeting %s %s", name, meeting.id, step)


__all__ = ["MeetingObserver", "ObserverFailed", "Observers", "Step"]
