"""Changing a meeting's time after it was scheduled: `/meet edit` (start, repeat, reminder,
duration) and `/meet cancel` (the next occurrence, or the whole series).

A change applies from the next occurrence on: one that is open now keeps its time. The next
occurrence is replanned in place (its reminder, opening and end jobs replaced), all in one
transaction with the meeting, so no job of the old time survives the edit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from commands.errors import CommandError
from commands.model import (
    ChatUser,
    Conversation,
    Meeting,
    MeetingState,
    Occurrence,
    OccurrenceState,
)
from commands.schedule.occurrences import plan_next
from commands.schedule.planner import planned, planned_after
from commands.schedule.recurrence import rrule_for
from commands.service import MeetingChanged, MeetingService
from commands.store import JobKind, PlannedOccurrence, Unit


@dataclass(frozen=True)
class Edit:
    start: datetime | None = None
    repeat: str | None = None  # a --repeat word, or "none"
    remind_minutes: int | None = None
    duration_minutes: int | None = None

    @property
    def empty(self) -> bool:
        return all(
            v is None for v in (self.start, self.repeat, self.remind_minutes, self.duration_minutes)
        )


@dataclass(frozen=True)
class Cancelled:
    meeting: Meeting
    cancelled: tuple[datetime, ...]  # the starts of the occurrences cancelled
    series: bool


class ScheduleChanges:
    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store

    async def edit(
        self, user: ChatUser, where: Conversation, reference: str | None, edit: Edit
    ) -> Meeting:
        if edit.empty:
            raise CommandError(
                "Say what to change: --start, --repeat, --remind or --duration (see /meet help "
                "edit)."
            )
        meeting = await self.service.find(where, reference, include_ended=False)
        self.service.require_moderator(user, meeting, "change")
        old = meeting.schedule
        if old.start is None and edit.start is None:
            raise CommandError(
                f"{meeting.title} was not scheduled; give it a time with --start to schedule "
                "its next occurrence."
            )
        start = edit.start or old.start
        assert start is not None
        rrule = old.rrule
        if edit.repeat == "none":
            rrule = None
        elif edit.repeat is not None:
            rrule = rrule_for(edit.repeat, start)
        remind = old.reminder_minutes
        if edit.remind_minutes is not None:
            remind = edit.remind_minutes or None  # --remind 0: no reminder
        schedule = replace(
            old,
            start=start,
            rrule=rrule,
            reminder_minutes=remind,
            duration_minutes=edit.duration_minutes or old.duration_minutes,
            first_start=start if edit.start is not None else old.series_start,
        )
        now = self.service.clock()
        async with self.store.unit() as unit:
            upcoming = await unit.upcoming(meeting.id)
            current = await unit.current_occurrence(meeting.id)
            shown = schedule
            plan: PlannedOccurrence | None = planned(schedule, start, now)
            if meeting.state is MeetingState.RUNNING and current is not None:
                # The open one keeps its time; the next one has the new start, or follows the
                # new rule from the open one.
                if edit.start is None or start <= current.starts_at:
                    plan = planned_after(schedule, current.starts_at, now)
                shown = replace(schedule, start=current.starts_at)
            await _replace_upcoming(unit, meeting.id, upcoming, plan)
            changed = meeting.evolve(schedule=shown)
            if not await unit.update_meeting_if(changed, meeting.state):
                raise MeetingChanged(meeting.id)
        await self.service.observers.changed(changed)  # e.g. a Discord event moves with it
        return changed

    async def cancel(
        self, user: ChatUser, where: Conversation, reference: str | None, *, series: bool
    ) -> Cancelled:
        meeting = await self.service.find(where, reference, include_ended=False)
        self.service.require_moderator(user, meeting, "cancel")
        now = self.service.clock()
        async with self.store.unit() as unit:
            upcoming = await unit.upcoming(meeting.id)
            if not upcoming:
                raise CommandError(
                    f"{meeting.title} has no occurrence still to come; /meet end ends it now."
                )
            chosen = upcoming if series else upcoming[:1]
            for occurrence in chosen:
                await unit.update_occurrence(occurrence.evolve(state=OccurrenceState.CANCELLED))
                await unit.drop_jobs(occurrence.id, tuple(JobKind))
            running = meeting.state is MeetingState.RUNNING
            if series:
                schedule = replace(meeting.schedule, rrule=None)
                after = meeting.evolve(schedule=schedule)
                if not running:
                    after = after.evolve(state=MeetingState.ENDED, ended_at=now)
            else:
                following = await plan_next(unit, meeting, chosen[0], now)
                if running:
                    after = meeting
                elif following is None:
                    after = meeting.evolve(state=MeetingState.ENDED, ended_at=now)
                else:
                    schedule = replace(meeting.schedule, start=following.starts_at)
                    after = meeting.evolve(schedule=schedule)
            if not await unit.update_meeting_if(after, meeting.state):
                raise MeetingChanged(meeting.id)
        if after.state is MeetingState.ENDED:
            await self.service.observers.ended(after)
        else:
            await self.service.observers.changed(after)
        return Cancelled(after, tuple(o.starts_at for o in chosen), series)


async def _replace_upcoming(
    unit: Unit, meeting_id: str, upcoming: list[Occurrence], plan: PlannedOccurrence | None
) -> None:
    """The occurrences still to come become the one `plan` says (or none)."""
    keep = upcoming[0] if upcoming and plan is not None else None
    for occurrence in upcoming:
        if occurrence is not keep:
            await unit.update_occurrence(occurrence.evolve(state=OccurrenceState.CANCELLED))
            await unit.drop_jobs(occurrence.id, tuple(JobKind))
    if keep is not None and plan is not None:
        await unit.replan(keep, plan)
    elif plan is not None:
        await unit.add_occurrence(meeting_id, plan)
