"""Repeating meetings: the RFC 5545 rule for a `--repeat` word, the next occurrence, and the
rule in words for people."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    """The first slot of the series strictly after `after`, or None for a one-off meeting.

    The rule is expanded on the wall clock of the meeting's own zone, then each slot is placed
    in that zone: a weekly 09:00 in Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in
    summer, never 10:00 local after the change. A slot that falls into a spring-forward gap
    moves on by the gap (02:30 becomes 03:30), as zoneinfo reads it.
    """
    first = schedule.series_start
    if schedule.rrule is None or first is None:
        return None
    zone = zone_named(schedule.timezone)
    rule = rrulestr(schedule.rrule, dtstart=_wall(first, zone))
    # The slot after `after` on the wall clock; a slot at the same UTC moment is not "after".
    local: datetime | None = rule.after(_wall(after, zone))
    while local is not None:
        moment = _placed(local, zone)
        if moment > after:
            return moment
        local = rule.after(local)
    return None


def zone_named(name: str | None) -> tzinfo:
    """The IANA zone `name`; UTC for none or an unknown one."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _placed(wall: datetime, zone: tzinfo) -> datetime:
    # Through UTC and back normalizes a wall time inside a spring-forward gap.
    return wall.replace(tzinfo=zone).astimezone(UTC)


_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def describe_rule(rrule: str, start: datetime, zone: tzinfo) -> str:
    """The rule in words, at the start's time of day in `zone`: "every Monday at 09:00".
    Never RRULE text: people read this on a card."""
    local = start.astimezone(zone)
    at = f"at {local:%H:%M}"
    if rrule == _RULES["daily"]:
        return f"every day {at}"
    if rrule == _RULES["weekdays"]:
        return f"every weekday (Monday to Friday) {at}"
    if rrule == _RULES["weekly"]:
        return f"every {_WEEKDAY_NAMES[local.weekday()]} {at}"
    if rrule == _RULES["monthly"]:
        day = local.day
        words = f"every month on the {_ordinal(day)} {at}"
        if day > 28:
            # RFC 5545: a month without that day has no occurrence (it is not moved).
            words += f"; months without a {_ordinal(day)} are skipped"
        return words
    return "on a repeating schedule"


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
