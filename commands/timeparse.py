"""Reading durations and dates as people type them in chat, in the user's own time zone.

`parse_duration("1h30m") == 90`; `parse_when("9am tomorrow", now, tz)` is an aware UTC datetime.
Both raise `ValueError` with a message fit to show the user; the parser turns it into usage.

The dates read: "2026-12-01 09:00", "tomorrow 9am", "9am tomorrow", "tomorrow noon",
"monday 10:00", "next monday 10:00", "in 2h", "in 2 days", "now", "tonight" (today 20:00;
refused once that has passed, with a hint), "midnight" (the coming one), "5 jan 10:00",
"05.01.2027 10:00" / "01/05/2027 10:00" (day or month first by the zone's habit, see
`zonenames.date_order`), with an optional zone after them ("10:00 PST", "2027-01-05 10:00
+02:00", "tomorrow 9:00 Europe/Berlin"). Every word must be understood: what is not, or what
reads two ways ("next friday" on a Monday, 05/01/2027 in UTC, 01:30 on the night clocks go
back), is refused with what to write instead, never guessed.

A grammar of our own, not a general parser: dateparser 1.5 reads the relative forms, but it
drops what it does not understand ("tomorrow 25:00" became 15:00) and knows no IANA names;
dateutil reads ISO dates backwards when told days come first and warns about "PST". Neither
can say "I did not understand that word", which is the check a meeting time needs.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from commands.datewords import MAX_AHEAD, WEEKDAYS, Clock, Day, Pieces, read_words
from commands.walltime import wall_time
from commands.zonenames import offset_text

__all__ = ["MAX_AHEAD", "MAX_DURATION_MINUTES", "parse_duration", "parse_when"]

MAX_DURATION_MINUTES = 7 * 24 * 60
# "tonight" alone; a time said with it must be in the evening.
TONIGHT = time(20, 0)
EVENING = time(17, 0)

_FLAGS = re.IGNORECASE | re.ASCII
_DURATION = re.compile(
    r"^\s*(?:(?P<hours>\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hour|hours))?\s*"
    r"(?:(?P<minutes>\d+)\s*(?:m|min|mins|minute|minutes)?)?\s*$",
    _FLAGS,
)


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
    """A future moment from what a person typed; see the module docstring for the forms."""
    pieces = read_words(text, tz)
    zone = pieces.zone.zone if pieces.zone is not None else tz
    local_now = now.astimezone(zone)
    if pieces.moment is not None:
        moment = now + pieces.moment
    else:
        moment = _place(pieces, local_now, zone)
        _check_abbreviation(pieces, moment)
    return _checked(moment, now, zone, pieces)


# -- placing it on the calendar -------------------------------------------------------------


def _place(pieces: Pieces, local_now: datetime, zone: tzinfo) -> datetime:
    day, clock = pieces.day, pieces.clock
    today = local_now.date()
    if clock is not None and clock.midnight:
        if day is not None and not (day.offset == 0 and not day.keeps_clock):
            raise ValueError(
                f"{pieces.text[:60]!r}: midnight at the start or at the end of that day? "
                "write 00:00 or 23:59 with the date, e.g. tomorrow 00:00"
            )
        # Plain "midnight" (or "tonight midnight"): the coming one, at the end of today.
        return wall_time(today + timedelta(days=1), time(0, 0), zone)
    if day is None:
        assert clock is not None  # _read found something
        moment = wall_time(today, clock.at, zone)
        if moment < local_now - timedelta(minutes=1):
            zone_said = f" {pieces.zone.written}" if pieces.zone is not None else ""
            raise ValueError(
                f"{clock.at:%H:%M} today has already passed; say tomorrow {clock.written}"
                f"{zone_said}"
            )
        return moment
    if day.tonight:
        return _tonight(clock, local_now, zone)
    if day.keeps_clock and clock is None:
        return wall_time(today + timedelta(days=day.offset or 0), local_now.time(), zone)
    if clock is None and day.weekday is not None:
        raise ValueError(f"at what time? e.g. {day.written} 9:00 or {day.written} 14:30")
    on = _day(day, clock, local_now)
    # Before the zone arithmetic: a day beyond the range cannot be a meeting (and year 9999
    # in New York would overflow into year 10000 in UTC).
    _check_day(on, today)
    if clock is None:
        raise ValueError(
            f"at what time on {on:%a %d %b %Y}? e.g. {day.written} 9:00 or {day.written} 14:30"
        )
    return wall_time(on, clock.at, zone)


def _tonight(clock: Clock | None, local_now: datetime, zone: tzinfo) -> datetime:
    today = local_now.date()
    if clock is None:
        if local_now.time() >= time(23, 0):
            raise ValueError("it is nearly midnight: say tomorrow 20:00, or a time, e.g. in 30m")
        if local_now.time() > TONIGHT:
            raise ValueError(
                f"tonight means {TONIGHT:%H:%M}, which has passed; say the time, e.g. "
                f"tonight {(local_now + timedelta(hours=1)):%H}:00 or in 30m"
            )
        return wall_time(today, TONIGHT, zone)
    if clock.at < EVENING:
        if clock.at.hour < 12 and not clock.said_half:
            better = f"tonight {clock.at.replace(hour=clock.at.hour + 12):%H:%M}"
        else:
            better = f"today {clock.written}"
        raise ValueError(
            f"{clock.written} is not tonight (the evening starts at {EVENING:%H:%M}); "
            f"did you mean {better}?"
        )
    moment = wall_time(today, clock.at, zone)
    if moment < local_now - timedelta(minutes=1):
        raise ValueError(f"{clock.at:%H:%M} tonight has already passed")
    return moment


def _day(day: Day, clock: Clock | None, local_now: datetime) -> date:
    today = local_now.date()
    if day.offset is not None:
        return today + timedelta(days=day.offset)
    if day.weekday is not None:
        return _weekday(day, clock, local_now)
    assert day.calendar is not None
    year, month, number = day.calendar
    if year is not None:
        try:
            return date(year, month, number)
        except ValueError:
            raise ValueError(f"{day.written!r} is not a date on the calendar") from None
    # No year: this year's, or next year's once this year's has passed.
    for candidate in (today.year, today.year + 1):
        try:
            found = date(candidate, month, number)
        except ValueError:
            continue
        if found >= today:
            return found
    raise ValueError(f"{day.written!r} is not a date on the calendar")


def _weekday(day: Day, clock: Clock | None, local_now: datetime) -> date:
    assert day.weekday is not None
    today = local_now.date()
    name = WEEKDAYS[day.weekday]
    ahead = (day.weekday - today.weekday()) % 7  # 0: today
    coming = today + timedelta(days=ahead or 7)
    week_after = coming + timedelta(days=7)
    if day.which == "coming":
        return coming
    if day.which == "next":
        if day.weekday > today.weekday():  # still to come this week: this one or the next?
            raise ValueError(
                f"next {name} could be {coming:%a %d %b} or {week_after:%a %d %b}; say "
                f"{name} for the coming one, or the date, e.g. {week_after:%Y-%m-%d}"
            )
        return coming
    later_today = clock is not None and clock.at > local_now.time()
    if ahead == 0 and (later_today or day.which == "this"):
        if day.which == "this":
            return today
        raise ValueError(
            f"{name} is today: say today {clock.written if clock else '9:00'}, or next {name} "
            f"for {coming:%a %d %b}"
        )
    if day.which == "this" and day.weekday < today.weekday():
        last = today - timedelta(days=today.weekday() - day.weekday)
        raise ValueError(
            f"this {name} was {last:%a %d %b}; say {name} or the date for {coming:%a %d %b}"
        )
    return coming


def _check_day(on: date, today: date) -> None:
    if on < today:
        raise ValueError(f"{on.isoformat()} has already passed")
    if on > today + MAX_AHEAD:
        raise ValueError("meetings can be scheduled at most a year ahead")


def _check_abbreviation(pieces: Pieces, moment: datetime) -> None:
    """ "10:00 PST" in July reads two ways: 10:00 at UTC-8, or 10:00 in Los Angeles (PDT)."""
    word = pieces.zone
    if word is None or word.keeps is None:
        return
    place = ZoneInfo(word.keeps.place)
    there = moment.astimezone(place)
    if there.utcoffset() == moment.utcoffset():
        return
    said = offset_text(moment.utcoffset())
    raise ValueError(
        f"{word.written} is UTC{said}, but on {there:%a %d %b %Y} {word.keeps.place} keeps "
        f"{there.tzname()} (UTC{offset_text(there.utcoffset())}); write "
        f"{moment:%H:%M} {word.keeps.place} for its local time, or {moment:%H:%M} {said}"
    )


def _checked(moment: datetime, now: datetime, zone: tzinfo, pieces: Pieces) -> datetime:
    if moment < now - timedelta(minutes=1):
        raise ValueError(f"{moment.astimezone(zone):%Y-%m-%d %H:%M} has already passed")
    if moment > now + MAX_AHEAD:
        raise ValueError("meetings can be scheduled at most a year ahead")
    return moment.astimezone(UTC)
