"""Planning occurrences: when an occurrence starts, which jobs its time needs and when each is
due, and the next slot of a series. Pure: no I/O, times in, plans out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.model import OccurrenceState, Schedule
from commands.schedule.recurrence import next_occurrence
from commands.store import JobKind, PlannedOccurrence


@dataclass(frozen=True)
class Timing:
    """The operator's time settings (the `reminders` and `attendance` sections of the config)."""

    default_remind_minutes: int | None = None  # a scheduled meeting's reminder, unless told
    early_join: timedelta = timedelta(minutes=15)  # attendees may join this long before
    grace: timedelta = timedelta(minutes=10)  # a reminder this late is still posted
    # While a meeting runs, who is in it is asked this often (the `attendance` section).
    sample_every: timedelta = timedelta(seconds=30)


def planned(schedule: Schedule, starts_at: datetime, now: datetime) -> PlannedOccurrence:
    """The occurrence at `starts_at` and its jobs: the reminder (at once when the start is
    already inside the reminder's lead, never silently none), the opening, and the end."""
    jobs: list[tuple[JobKind, datetime]] = []
    if schedule.reminder_minutes and starts_at > now:
        due = starts_at - timedelta(minutes=schedule.reminder_minutes)
        jobs.append((JobKind.REMIND, max(due, now)))
    jobs.append((JobKind.OPEN, starts_at))
    if schedule.duration_minutes:
        jobs.append((JobKind.END, starts_at + timedelta(minutes=schedule.duration_minutes)))
    return PlannedOccurrence(starts_at, tuple(jobs))


def planned_now(schedule: Schedule, now: datetime) -> PlannedOccurrence:
    """An ad-hoc meeting's one occurrence: open from now, ended by the clock if it has a
    duration."""
    jobs: tuple[tuple[JobKind, datetime], ...] = ()
    if schedule.duration_minutes:
        jobs = ((JobKind.END, now + timedelta(minutes=schedule.duration_minutes)),)
    return PlannedOccurrence(now, jobs, OccurrenceState.OPEN)


def planned_after(
    schedule: Schedule, after_start: datetime, now: datetime
) -> PlannedOccurrence | None:
    """The series' next occurrence: the first slot after the occurrence that started (or
    was to start) at `after_start`; None for a one-off meeting."""
    following = next_occurrence(schedule, after=after_start)
    if following is None:
        return None
    return planned(schedule, following, now)


def end_due(schedule: Schedule, starts_at: datetime, opened_at: datetime) -> datetime | None:
    """When an occurrence's duration is up: from its start, or from its opening when that
    came later."""
    if not schedule.duration_minutes:
        return None
    return max(starts_at, opened_at) + timedelta(minutes=schedule.duration_minutes)
