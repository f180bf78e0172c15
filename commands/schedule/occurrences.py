"""What happens to a meeting's occurrences when it opens and when it ends, written inside the
caller's `Unit` so that the meeting, its occurrences and their jobs change together.

A series always has its next occurrence planned once the current one has opened (or ended),
so its reminder is a job in the store well before it is due; a slot is planned once however
often this runs (the store keeps one occurrence per slot and one job of a kind per occurrence).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from commands.model import Meeting, MeetingState, Occurrence, OccurrenceState
from commands.schedule.planner import end_due, planned_after
from commands.store import JobKind, Unit


async def plan_next(
    unit: Unit, meeting: Meeting, after: Occurrence, now: datetime
) -> Occurrence | None:
    """The occurrence after `after` (planned now unless it was already); None if the meeting
    does not repeat."""
    following = planned_after(meeting.schedule, after.starts_at, now)
    if following is None:
        return None
    await unit.add_occurrence(meeting.id, following)
    return await unit.next_occurrence(meeting.id, after.starts_at)


async def opened(
    unit: Unit,
    meeting: Meeting,
    now: datetime,
    session_id: str,
    *,
    sample_every: timedelta | None = None,
) -> Occurrence | None:
    """The current occurrence's session was opened now: it is open, its end counts from its
    start (or from now, when it opened late), a series' next occurrence is planned, and (with
    `sample_every`) its attendance is sampled from then on, first `sample_every` from now."""
    current = await unit.current_occurrence(meeting.id)
    if current is None:
        return None
    current = current.evolve(state=OccurrenceState.OPEN, opened_at=now, session_id=session_id)
    await unit.update_occurrence(current)
    due = end_due(meeting.schedule, current.starts_at, now)
    if due is not None:
        await unit.reschedule(current.id, JobKind.END, due)
    if sample_every is not None:
        await unit.plan_job(meeting.id, current.id, JobKind.SAMPLE, now + sample_every)
    await plan_next(unit, meeting, current, now)
    return current


async def ended(unit: Unit, meeting: Meeting, now: datetime, *, missed: bool = False) -> Meeting:
    """The current occurrence is over (ended, or `missed` when nobody opened it): the meeting
    as it is now, waiting for the series' next occurrence, or ended for good. Its jobs not yet
    done are dropped: a job handler calling this finishes its own job first."""
    current = await unit.current_occurrence(meeting.id)
    following = None
    if current is not None and not current.state.closed:
        state = OccurrenceState.MISSED if missed else OccurrenceState.ENDED
        await unit.update_occurrence(current.evolve(state=state, ended_at=now))
        await unit.drop_jobs(
            current.id, (JobKind.REMIND, JobKind.OPEN, JobKind.END, JobKind.SAMPLE)
        )
        following = await plan_next(unit, meeting, current, now)
    if following is None:
        return meeting.evolve(state=MeetingState.ENDED, ended_at=now)
    schedule = replace(
        meeting.schedule, start=following.starts_at, first_start=meeting.schedule.series_start
    )
    return meeting.evolve(state=MeetingState.SCHEDULED, ended_at=now, schedule=schedule)
