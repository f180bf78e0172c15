"""Bringing a store of an older layout up to this one, once, when it is opened.

Layout 1 kept a meeting's reminders in their own table and its time in the meeting alone;
layout 2 gives each meeting occurrences and drives the clock through the job queue. The step
reads what layout 1 left and plans the same: the current occurrence of every meeting that is
not over, with its unsent reminder, its opening and its end as jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commands.model import MeetingState, OccurrenceState
from commands.store.meetings import meeting_of
from commands.store.records import JobKind, PlannedOccurrence
from commands.store.schema import MeetingRow, OccurrenceRow, ReminderRow
from commands.store.timeline import Unit


async def upgrade_1_to_2(session: AsyncSession) -> int:
    """Plan the occurrences layout 1 had in its meetings; returns how many."""
    live = [MeetingState.SCHEDULED.value, MeetingState.RUNNING.value]
    rows = (await session.scalars(select(MeetingRow).where(MeetingRow.state.in_(live)))).all()
    planned = 0
    unit = Unit(session)
    for row in rows:
        has = select(OccurrenceRow.id).where(OccurrenceRow.meeting_id == row.id).limit(1)
        if (await session.execute(has)).first() is not None:
            continue
        meeting = meeting_of(row)
        schedule = meeting.schedule
        running = meeting.state is MeetingState.RUNNING
        start = schedule.start or meeting.started_at or meeting.created_at
        jobs: list[tuple[JobKind, datetime]] = []
        reminders = select(ReminderRow).where(
            ReminderRow.meeting_id == row.id, ReminderRow.sent_at.is_(None)
        )
        for reminder in (await session.scalars(reminders)).all():
            jobs.append((JobKind.REMIND, reminder.due_at))
            break  # one reminder per occurrence
        if not running and schedule.start is not None:
            jobs.append((JobKind.OPEN, schedule.start))
        if schedule.duration_minutes:
            began = meeting.started_at if running and meeting.started_at else start
            jobs.append((JobKind.END, began + timedelta(minutes=schedule.duration_minutes)))
        occurrence = await unit.add_occurrence(
            row.id,
            PlannedOccurrence(
                start,
                tuple(jobs),
                OccurrenceState.OPEN if running else OccurrenceState.SCHEDULED,
            ),
        )
        if occurrence is not None and running:
            session_id = meeting.room.session_id or meeting.room.create_time
            opened = occurrence.evolve(opened_at=meeting.started_at, session_id=session_id)
            await unit.update_occurrence(opened)
        planned += 1
    return planned
