"""Reminders of scheduled meetings: which are due, and the channel post each one makes.

Reminders live in the store (so they survive a restart). A reminder is marked sent only after
its post was delivered; one that failed is tried again on the next tick, up to
`MAX_FAILURES` times (a channel the bot was removed from must not be retried forever). A
reminder whose meeting has ended, started already or been deleted is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from commands import cards
from commands.model import Meeting, MeetingState, Tenant
from commands.policy import RolePolicy
from commands.replies import Reply, Visibility
from commands.store import MeetingStore, Reminder


@dataclass(frozen=True)
class Announcement:
    """A reminder ready to post: the meeting, its channel card, and the reminder to mark."""

    reminder: Reminder
    meeting: Meeting
    reply: Reply


MAX_FAILURES = 5


class ReminderDesk:
    def __init__(self, store: MeetingStore, policy: RolePolicy | None = None) -> None:
        self.store = store
        # A reminder speaks to a whole channel: times are shown in the tenant's zone, if set.
        self.policy = policy

    async def due(self, now: datetime) -> list[Announcement]:
        found = []
        for reminder in await self.store.due_reminders(now):
            meeting = await self.store.get_meeting_for_reminder(reminder)
            if meeting is None or meeting.state is not MeetingState.SCHEDULED:
                await self.store.mark_reminder_sent(reminder.id, now)  # nothing left to remind
                continue
            zone = self.zone(meeting.tenant)
            found.append(Announcement(reminder, meeting, self.reply(meeting, now, zone)))
        return found

    def zone(self, tenant: Tenant) -> tzinfo:
        name = self.policy.timezone(tenant) if self.policy is not None else None
        return cards.zone_named(name)

    @staticmethod
    def reply(meeting: Meeting, now: datetime, zone: tzinfo = cards.UTC_ZONE) -> Reply:
        start = meeting.schedule.start
        if start is not None and start > now:
            minutes = max(1, round((start - now).total_seconds() / 60))
            when = f"starts in {minutes} min ({cards.when(start, zone)})"
        else:
            when = "starts now"
        text = f"Reminder: {meeting.title} {when}. Press Join for your personal link."
        return Reply(text, Visibility.CHANNEL, card=cards.meeting_card(meeting, zone))

    async def delivered(self, announcement: Announcement, at: datetime) -> None:
        await self.store.mark_reminder_sent(announcement.reminder.id, at)

    async def failed(self, announcement: Announcement, at: datetime) -> bool:
        """Count a failed post; True when the reminder was given up."""
        failures = await self.store.reminder_failed(announcement.reminder.id)
        if failures >= MAX_FAILURES:
            await self.store.mark_reminder_sent(announcement.reminder.id, at)
            return True
        return False
