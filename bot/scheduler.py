"""The scheduler loop: every tick, post the due reminders through their platform's adapter,
then bring up to date the cards of meetings that ended without a command (see commands.watch).

`tick()` does one round and is what tests call (no sleeping); `run()` repeats it until asked
to stop. A reminder is marked sent only once its post went out, so a failed post (Slack down,
bot removed from the channel) is tried again next tick, and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from commands.model import Meeting, Platform
from commands.reminders import ReminderDesk
from commands.replies import Reply
from commands.watch import MeetingWatch

log = logging.getLogger("meetbot.reminders")


class Announcer(Protocol):
    async def announce(self, meeting: Meeting, reply: Reply) -> None:
        """Post `reply` in the meeting's channel as a new message."""

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """Show `reply` in place of the meeting's cards already posted."""


class ReminderLoop:
    def __init__(
        self,
        desk: ReminderDesk,
        announcers: Mapping[Platform, Announcer],
        clock: Callable[[], datetime],
        interval: float = 30.0,
        watch: MeetingWatch | None = None,
    ) -> None:
        self.desk = desk
        self.announcers = announcers
        self.clock = clock
        self.interval = interval
        self.watch = watch

    async def tick(self) -> int:
        """Post what is due now; returns how many reminders went out."""
        posted = 0
        for announcement in await self.desk.due(self.clock()):
            platform = announcement.meeting.tenant.platform
            announcer = self.announcers.get(platform)
            if announcer is None:
                continue  # that platform is not running now; the reminder waits for it
            try:
                await announcer.announce(announcement.meeting, announcement.reply)
            except Exception:
                # One failed post must not stop the others; it is retried a bounded number
                # of times (a channel the bot was removed from must not be tried forever).
                gave_up = await self.desk.failed(announcement, self.clock())
                log.exception(
                    "reminder for meeting %s failed; %s",
                    announcement.meeting.id,
                    "giving up" if gave_up else "retrying next tick",
                )
                continue
            await self.desk.delivered(announcement, self.clock())
            posted += 1
        if self.watch is not None:
            await self.refresh_cards(self.watch)
        return posted

    async def refresh_cards(self, watch: MeetingWatch) -> int:
        """End what ended without a command and update its cards; returns how many."""
        updates = await watch.sweep(self.clock())
        for update in updates:
            announcer = self.announcers.get(update.meeting.tenant.platform)
            if announcer is None:
                continue  # the meeting is ended in our records; its card stays as it was
            try:
                await announcer.refresh(update.meeting, update.reply)
            except Exception:
                # A card we cannot edit (deleted message, bot removed) is not worth a retry.
                log.exception("could not update the card of meeting %s", update.meeting.id)
        return len(updates)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                # The loop must outlive a bad round (a database hiccup); the next tick retries.
                log.exception("reminder round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
