"""Bringing a store of an older layout up to this one, once, when it is opened, one step after
the other.

Layout 1 kept a meeting's reminders in their own table and its time in the meeting alone;
layout 2 gives each meeting occurrences and drives the clock through the job queue. The step
reads what layout 1 left and plans the same: the current occurrence of every meeting that is
not over, with its unsent reminder, its opening and its end as jobs.

Layout 3 keeps where a meeting's cards were posted in a table of their own (`cards`) instead of
a list on the meeting's row; the step moves the lists there and drops the column.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commands.model import MeetingState, OccurrenceState
from commands.store.cards import add_cards
from commands.store.meetings import meeting_of
from commands.store.records import CardRef, JobKind, PlannedOccurrence
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


async def upgrade_2_to_3(session: AsyncSession) -> int:
    """Move each meeting's list of card refs into the cards table; returns how many moved."""
    rows = (await session.execute(text("SELECT id, card_refs FROM meetings"))).all()
    cards = []
    for meeting_id, refs in rows:
        found = json.loads(refs) if isinstance(refs, str) else refs
        cards += [CardRef(meeting_id, str(ref)) for ref in found or ()]
    for start in range(0, len(cards), 500):  # within the parameters one statement may take
        await add_cards(session, cards[start : start + 500])
    await session.execute(text("ALTER TABLE meetings DROP COLUMN card_refs"))
    return len(cards)
