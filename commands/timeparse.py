"""Reading durations and dates as people type them in chat, in the user's own time zone.

`parse_duration("1h30m") == 90`; `parse_when("tomorrow 9am", now, tz)` is an aware UTC datetime.
Both raise `ValueError` with a message fit to show the user; the parser turns it into usage.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from dateutil import parser as dateparser

MAX_DURATION_MINUTES = 7 * 24 * 60
MAX_AHEAD = timedelta(days=366)

_DURATION = re.compile(
    r"^\s*(?:(?P<hours>\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hour|hours))?\s*"
    r"(?:(?P<minutes>\d+)\s*(?:m|min|mins|minute|minutes)?)?\s*$",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"^in\s+(?P<amount>.+)$", re.IGNORECASE)
_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_duration(text: str) -> int:
    """Minutes in "45", "45m", "1h", "1.5h", "1h30m", "2 hours"."""
    match = _DURATION.match(text)
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise ValueError(f"{text!r} is not a duration; write it like 45m, 1h or 1h30m")
    # Decimal, not float: any run of digits stays a number that compares (a float of 310
    # digits is infinity, and rounding infinity raises OverflowError).
    exact = Decimal(match.group("hours") or 0) * 60 + Decimal(match.group("minutes") or 0)
    if exact > MAX_DURATION_MINUTES:
        raise ValueError("a duration can be at most 7 days")
    total = round(exact)
    if total <= 0:
        raise ValueError("a duration must be at least one minute")
    return total


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """A future moment from "2026-12-01 09:00", "tomorrow 9am", "monday 10:00", "in 2h"."""
    cleaned = " ".join(text.replace(" at ", " ").split())
    if not cleaned:
        raise ValueError("say when, e.g. tomorrow 9:00 or 2026-12-01 14:30")
    local_now = now.astimezone(tz)
    moment = _relative(cleaned, now) or _named_day(cleaned, local_now, tz)
    if moment is None:
        moment = _absolute(cleaned, local_now, tz)
    if moment < now - timedelta(minutes=1):
        shown = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        raise ValueError(f"{shown} has already passed")
    if moment > now + MAX_AHEAD:
        raise ValueError("meetings can be scheduled at most a year ahead")
    return moment.astimezone(UTC)


def _relative(text: str, now: datetime) -> datetime | None:
    if text.lower() == "now":
        return now
    match = _RELATIVE.match(text)
    if match is None:
        return None
    return now + timedelta(minutes=parse_duration(match.group("amount")))


def _named_day(text: str, local_now: datetime, tz: tzinfo) -> datetime | None:
    first, _, rest = text.partition(" ")
    word = first.lower()
    if word in _DAY_WORDS:
        day = local_now.date() + timedelta(days=_DAY_WORDS[word])
    elif word in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(word) - local_now.weekday()) % 7 or 7
        day = local_now.date() + timedelta(days=ahead)
    else:
        return None
    clock = _clock(rest) if rest else time(9, 0)
    return _local(day, clock, tz)


def _absolute(text: str, local_now: datetime, tz: tzinfo) -> datetime:
    try:
        parsed = dateparser.parse(
            text, default=local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text!r} is not a date I understand; try 2026-12-01 14:30, tomorrow 9am or in 2h"
        ) from None
    if parsed.tzinfo is None:
        return _local(parsed.date(), parsed.time(), tz)
    return parsed


def _clock(text: str) -> time:
    try:
        parsed = dateparser.parse(text, default=datetime(2000, 1, 1))  # a bare time: no zone
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a time of day; try 9am or 14:30") from None
    if parsed.date() != date(2000, 1, 1):
        raise ValueError(f"{text!r} is not a time of day; try 9am or 14:30")
    return parsed.time().replace(second=0, microsecond=0)


def _local(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=tz)
