"""Repeating meetings: the RFC 5545 rule for a `--repeat` word, and the next occurrence."""

from __future__ import annotations

from datetime import datetime

from dateutil.rrule import rrulestr

from commands.model import Schedule

_RULES = {
    "daily": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
}


def rrule_for(repeat: str, start: datetime | None) -> str:
    """The RRULE for `daily`, `weekdays`, `weekly` or `monthly` (weekly keeps start's weekday)."""
    if repeat not in _RULES:
        raise ValueError(f"repeat is one of: {', '.join(_RULES)}")
    if start is None:
        raise ValueError("a repeating meeting needs a start")
    return _RULES[repeat]


def next_occurrence(schedule: Schedule, *, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`, or None for a one-off meeting."""
    if schedule.rrule is None or schedule.start is None:
        return None
    rule = rrulestr(schedule.rrule, dtstart=schedule.start)
    following: datetime | None = rule.after(after)
    return following
