"""Discord scheduled events that mirror scheduled meetings, in servers that switch them on.

A scheduled meeting is shown as an EXTERNAL guild scheduled event: the meeting's title, its
occurrence's start, an end (start + duration; `DEFAULT_LENGTH` when the meeting has none,
since Discord requires an end for external events), and a location. Members who mark it
"Interested" get Discord's own notice when it starts. Discord starts an external event at its
start and completes it at its end by itself, so the mirror only has to follow what differs:
it ends the event early when the meeting ended early, cancels it when its occurrence will not
happen (ended before its start, deleted), moves it when the meeting's time moved, and renames
it with the meeting.

The location is a link to the meeting's channel, never a join link (those are personal, and a
moderator's grants moderation). The channel link grants nothing: Discord opens it only for
members who can see that channel, which is where the meeting's card and its Join button are
and where `/meet join ID` works; the description says so. (LiveMinutes' meeting page is not
used: its document does not say what opening it grants, and the other providers have none.)

Per meeting there are at most two events: the live one (the occurrence happening now, until
it is over) and the next one (the first occurrence still to start: a series' next one is
created as soon as the current one opens). Their ids are kept in the store, so a restart
neither loses nor doubles them. A person who cancels or deletes our event in Discord is
respected: that occurrence is not mirrored again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import discord

from commands.model import Meeting, MeetingState, Platform, Tenant
from commands.observers import ObserverFailed
from commands.render import truncate
from commands.schedule.recurrence import next_occurrence
from commands.store import MeetingStore

log = logging.getLogger("meetbot.discord")

# The end of an event for a meeting without a duration (Discord requires one): an hour, the
# length calendars give a meeting by default. The meeting itself runs on regardless.
DEFAULT_LENGTH = timedelta(hours=1)
NAME_LIMIT = 100  # Discord's limit on an event's name (a location too: ours is at most 70)
_UNDER_WAY = (discord.EventStatus.scheduled, discord.EventStatus.active)
MISSING_PERMISSIONS = 50013
_KEY = "discord.events.{meeting}"


@dataclass(frozen=True)
class Mirrored:
    """One event of ours: its id, and the start of the occurrence it shows."""

    event_id: int
    start: datetime


@dataclass(frozen=True)
class Mirror:
    """A meeting's events: the one happening now and the one still to come."""

    live: Mirrored | None = None
    next: Mirrored | None = None

    def dumps(self) -> str:
        def one(mirrored: Mirrored | None) -> dict[str, str] | None:
            if mirrored is None:
                return None
            return {"id": str(mirrored.event_id), "start": mirrored.start.isoformat()}

        return json.dumps({"live": one(self.live), "next": one(self.next)})

    @classmethod
    def loads(cls, text: str | None) -> Mirror:
        if not text:
            return cls()
        raw = json.loads(text)

        def one(item: dict[str, str] | None) -> Mirrored | None:
            if not item:
                return None
            return Mirrored(int(item["id"]), datetime.fromisoformat(item["start"]))

        return cls(one(raw.get("live")), one(raw.get("next")))


def wanted(meeting: Meeting, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The starts of the occurrences that should have an event: (happening now, to come).

    The current occurrence (`schedule.start`) is live once it started or its session was
    opened early; then a series' next one is to come. An ended meeting wants none."""
    start = meeting.schedule.start
    if start is None or meeting.state is MeetingState.ENDED:
        return None, None
    if meeting.state is MeetingState.RUNNING or start <= now:
        return start, next_occurrence(meeting.schedule, after=max(start, now))
    return None, start


def channel_link(meeting: Meeting) -> str:
    return f"https://discord.com/channels/{meeting.tenant.id}/{meeting.channel_id}"


def description(meeting: Meeting) -> str:
    # No user text here: descriptions render markdown (the title is in the plain name).
    return (
        f"A meeting in {channel_link(meeting)}. When it opens, press Join on its card there "
        f"or type /meet join {meeting.id}: your personal link comes by direct message."
    )


class EventMirror:
    """A `MeetingObserver` that keeps each scheduled meeting's Discord events true.

    `enabled(tenant)` is the switch (per server, else the default); a meeting of a server
    where it is off causes no Discord call and no store access at all."""

    def __init__(
        self,
        client: discord.Client,
        store: MeetingStore,
        clock: Callable[[], datetime],
        enabled: Callable[[Tenant], bool],
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.enabled = enabled
        # meeting id -> the lock that keeps two steps of one meeting from racing
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- the observer's steps: each one brings the events in line with the meeting -----------

    async def scheduled(self, meeting: Meeting) -> None:
        await self._guarded(meeting, self._sync)

    async def opened(self, meeting: Meeting) -> None:
        await self._guarded(meeting, self._sync)

    async def changed(self, meeting: Meeting) -> None:
        await self._guarded(meeting, self._sync)

    async def ended(self, meeting: Meeting) -> None:
        await self._guarded(meeting, self._sync)

    async def deleted(self, meeting: Meeting) -> None:
        await self._guarded(meeting, self._close_all)

    async def _guarded(self, meeting: Meeting, step: Callable[[Meeting], Awaitable[None]]) -> None:
        if meeting.tenant.platform is not Platform.DISCORD or not self.enabled(meeting.tenant):
            return
        if meeting.schedule.start is None:
            return  # never scheduled, so never mirrored
        lock = self._locks.setdefault(meeting.id, asyncio.Lock())
        async with lock:
            try:
                await step(meeting)
            except discord.HTTPException as error:
                raise ObserverFailed(_said(error, meeting)) from None

    # -- bringing them in line ---------------------------------------------------------------

    async def _sync(self, meeting: Meeting) -> None:
        key = _KEY.format(meeting=meeting.id)
        before = Mirror.loads(await self.store.get_value(key))
        live_at, next_at = wanted(meeting, self.clock())
        if before == Mirror() and next_at is None:
            return  # nothing mirrored, nothing to mirror (a live occurrence is never created)
        events = _Events(self.client, int(meeting.tenant.id))
        mirror = before
        try:
            if mirror.next is not None and live_at == mirror.next.start:
                # The next occurrence's time came (or it was opened early): it is the live one.
                if mirror.live is not None and mirror.live.start != live_at:
                    await events.close(mirror.live)
                mirror = Mirror(live=mirror.next)
            if mirror.live is not None and mirror.live.start != live_at:
                await events.close(mirror.live)
                mirror = replace(mirror, live=None)
            if mirror.live is not None:
                await events.rename(mirror.live, meeting)
            mirror = replace(mirror, next=await self._next(events, meeting, mirror.next, next_at))
        finally:
            if mirror != before:
                await self._keep(key, mirror)

    async def _next(
        self, events: _Events, meeting: Meeting, current: Mirrored | None, start: datetime | None
    ) -> Mirrored | None:
        """The event of the occurrence still to come at `start`: made, moved, or closed."""
        if start is None:
            if current is not None:
                await events.close(current)
            return None
        if current is None:
            return await events.create(meeting, start)
        if await events.move(current, meeting, start):
            return Mirrored(current.event_id, start)
        if current.start == start:
            return current  # cancelled or deleted in Discord by a person: left so
        return await events.create(meeting, start)

    async def _close_all(self, meeting: Meeting) -> None:
        key = _KEY.format(meeting=meeting.id)
        mirror = Mirror.loads(await self.store.get_value(key))
        events = _Events(self.client, int(meeting.tenant.id))
        for mirrored in (mirror.live, mirror.next):
            if mirrored is not None:
                await events.close(mirrored)
        await self.store.delete_value(key)

    async def _keep(self, key: str, mirror: Mirror) -> None:
        if mirror == Mirror():
            await self.store.delete_value(key)
        else:
            await self.store.set_value(key, mirror.dumps())


class _Events:
    """One server's scheduled events, through discord.py (its caches first, then REST)."""

    def __init__(self, client: discord.Client, guild_id: int) -> None:
        self.client = client
        self.guild_id = guild_id
        self._guild: discord.Guild | None = None

    async def guild(self) -> discord.Guild:
        if self._guild is None:
            cached = self.client.get_guild(self.guild_id)
            self._guild = cached or await self.client.fetch_guild(self.guild_id)
        return self._guild

    async def find(self, mirrored: Mirrored) -> discord.ScheduledEvent | None:
        guild = await self.guild()
        cached = guild.get_scheduled_event(mirrored.event_id)
        if cached is not None:
            return cached
        try:
            return await guild.fetch_scheduled_event(mirrored.event_id, with_counts=False)
        except discord.NotFound:
            return None  # deleted in Discord

    async def create(self, meeting: Meeting, start: datetime) -> Mirrored:
        guild = await self.guild()
        event = await guild.create_scheduled_event(
            name=_name(meeting),
            start_time=start,
            end_time=_end(meeting, start),
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            location=channel_link(meeting),
            description=description(meeting),
            reason=f"meetbot: meeting {meeting.id} was scheduled",
        )
        log.info("meeting %s: Discord event %s for %s", meeting.id, event.id, start.isoformat())
        return Mirrored(event.id, start)

    async def move(self, mirrored: Mirrored, meeting: Meeting, start: datetime) -> bool:
        """Show `start` (and the meeting's name and length) on an event still to begin; False
        when it cannot be: it began, ended, or was cancelled or deleted."""
        event = await self.find(mirrored)
        if event is None or event.status is not discord.EventStatus.scheduled:
            return False
        name, end = _name(meeting), _end(meeting, start)
        if (event.name, event.start_time, event.end_time) != (name, start, end):
            await event.edit(
                name=name, start_time=start, end_time=end, reason=f"meetbot: {meeting.id} changed"
            )
        return True

    async def rename(self, mirrored: Mirrored, meeting: Meeting) -> None:
        """The live event keeps its times (Discord runs it), but follows the meeting's title."""
        event = await self.find(mirrored)
        name = _name(meeting)
        if event is None or event.status not in _UNDER_WAY:
            return  # over: its name no longer shows anywhere that matters
        if event.name != name:
            await event.edit(name=name, reason=f"meetbot: {meeting.id} renamed")

    async def close(self, mirrored: Mirrored) -> None:
        """End an event that began, cancel one that did not; one that is over stays so."""
        event = await self.find(mirrored)
        if event is None:
            return
        if event.status is discord.EventStatus.active:
            await event.end(reason="meetbot: the meeting ended")
        elif event.status is discord.EventStatus.scheduled:
            await event.cancel(reason="meetbot: this occurrence will not happen")


def _name(meeting: Meeting) -> str:
    # Event names are plain text (no markdown, no mentions): the title as it is.
    return truncate(meeting.title, NAME_LIMIT) or meeting.id


def _end(meeting: Meeting, start: datetime) -> datetime:
    minutes = meeting.schedule.duration_minutes
    return start + (timedelta(minutes=minutes) if minutes else DEFAULT_LENGTH)


def _said(error: discord.HTTPException, meeting: Meeting) -> str:
    """A log line's worth of why Discord refused (its message names no secret)."""
    if error.code == MISSING_PERMISSIONS or isinstance(error, discord.Forbidden):
        return (
            f"the bot may not manage events in server {meeting.tenant.id}; add it again with "
            "the URL `meetbot discord-invite` prints (it asks for Create and Manage Events)"
        )
    return f"Discord answered HTTP {error.status} (code {error.code}): {error.text[:200]}"


__all__ = ["DEFAULT_LENGTH", "EventMirror", "Mirror", "Mirrored", "wanted"]
