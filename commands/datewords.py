"""The words of a date as people type them, read into pieces: a day, a time of day, an
amount from now, a zone. `read_words` understands every word or refuses the text; what the
pieces mean on a calendar is `timeparse`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, time, timedelta, tzinfo
from decimal import Decimal

from commands.walltime import zone_label
from commands.zonenames import DateOrder, ZoneWord, date_order, zone_word

MAX_AHEAD = timedelta(days=366)
MAX_TEXT = 100

_FLAGS = re.IGNORECASE | re.ASCII
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTH = (
    r"(?P<month>january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug"
    r"|september|sept|sep|october|oct|november|nov|december|dec)\.?(?![a-z])"
)
_ORDINAL = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:\s+(?P<year>\d{4}))?(?![\d:])"
_FILLERS = {"at", "on", "the", "of", "@"}
_VAGUE = {"morning", "afternoon", "evening", "night", "week", "month", "year", "weekend"}

# The pieces of a date; `_READERS` below says in which order they are tried.
_NOW = re.compile(r"now(?![a-z])", _FLAGS)
_IN = re.compile(r"in\s+", _FLAGS)
_AMOUNT = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|an?|one|half\s+an?)\s*"
    r"(?P<unit>minutes?|mins?|m|hours?|hrs?|hr|h|days?|d|weeks?|wks?|w)(?![a-z])\s*(?:and\s+)?",
    _FLAGS,
)
_DAY_WORD = re.compile(
    r"(?P<word>day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw)(?![a-z])", _FLAGS
)
_WEEKDAY = re.compile(
    r"(?:(?P<which>next|this|coming)\s+)?"
    r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday|s|r|rs)?(?![a-z])",
    _FLAGS,
)
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?:(?P=sep)(?P<c>\d{1,4}))?(?P<dot>\.)?"
    r"(?![\d/:-])",
    _FLAGS,
)
_DAY_MONTH = re.compile(_ORDINAL + r"\s*" + _MONTH + _YEAR, _FLAGS)
_MONTH_DAY = re.compile(_MONTH + r"\s+" + _ORDINAL + _YEAR, _FLAGS)
_CLOCK = re.compile(
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?\s*"
    r"(?P<half>a\.?m\.?|p\.?m\.?)?(?![a-z0-9:])",
    _FLAGS,
)
_NAMED_TIME = re.compile(r"(?P<name>noon|midday|midnight)(?![a-z])", _FLAGS)
_GLUED_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2})?)(z|[+-]\d{2}(?::?\d{2})?)(?=\s|$)", _FLAGS)
_ISO_T = re.compile(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", _FLAGS)


@dataclass(frozen=True)
class Day:
    """A day: so many days from today, a weekday, or a calendar date."""

    written: str
    offset: int | None = None
    weekday: int | None = None
    which: str | None = None  # next / this / coming, for a weekday
    calendar: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    tonight: bool = False
    keeps_clock: bool = False  # "in 2 days": the time of day it is now


@dataclass(frozen=True)
class Clock:
    written: str
    at: time
    midnight: bool = False
    said_half: bool = False  # am/pm given


@dataclass
class Pieces:
    text: str
    day: Day | None = None
    clock: Clock | None = None
    moment: timedelta | None = None  # "now", "in 2h": from now
    zone: ZoneWord | None = None


def _normal(text: str) -> str:
    cleaned = " ".join(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
    cleaned = _ISO_T.sub(r"\1 ", cleaned)
    return _GLUED_OFFSET.sub(r"\1 \2", cleaned)


def read_words(text: str, tz: tzinfo) -> Pieces:
    """The pieces of `text`; ValueError for a word not understood or a piece given twice."""
    if len(text) > MAX_TEXT:
        raise ValueError(f"that is too long to be a date (at most {MAX_TEXT} characters)")
    words = [w for w in _normal(text).split() if w.lower() not in _FILLERS]
    if not words:
        raise ValueError("say when, e.g. tomorrow 9:00 or 2026-12-01 14:30")
    pieces = Pieces(text.strip())
    # A zone comes last, maybe in several words ("new york").
    for count in (3, 2, 1):
        if len(words) > count:
            found = zone_word(" ".join(words[-count:]))
            if found is not None:
                pieces.zone = replace(found, written=found.written or " ".join(words[-count:]))
                words = words[:-count]
                break
    rest = " ".join(words)
    while rest:
        rest = _one_piece(rest, pieces, tz).strip()
    if pieces.day is None and pieces.clock is None and pieces.moment is None:
        raise ValueError("say when, e.g. tomorrow 9:00 Europe/Berlin")
    if pieces.moment is not None and (pieces.day is not None or pieces.clock is not None):
        raise ValueError(
            f"{pieces.text[:60]!r} says when twice; write either in 2h or tomorrow 9:00"
        )
    return pieces


def _one_piece(rest: str, pieces: Pieces, tz: tzinfo) -> str:
    """Read the piece at the start of `rest` into `pieces`; return what follows it."""
    if match := _IN.match(rest):
        return _relative(rest, match.end(), pieces)
    for pattern, reader in _READERS:
        if match := pattern.match(rest):
            reader(match, pieces, tz)
            return rest[match.end() :]
    word, _, after = rest.partition(" ")
    found = zone_word(word)
    if found is None:
        raise ValueError(_unknown(word, pieces.text))
    _set(pieces, "zone", replace(found, written=found.written or word), word)
    return after


def _now(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    _set(pieces, "moment", timedelta(), match.group(0))


def _day_word(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    word = " ".join(match.group("word").lower().split())
    offset = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1}.get(word, 2)
    _set(pieces, "day", Day(match.group(0), offset, tonight=word == "tonight"), word)


def _weekday(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    weekday = [d[:3] for d in WEEKDAYS].index(match.group("weekday").lower())
    which = (match.group("which") or "").lower() or None
    _set(pieces, "day", Day(match.group(0), weekday=weekday, which=which), match.group(0))


def _numeric(match: re.Match[str], pieces: Pieces, tz: tzinfo) -> None:
    _set(pieces, "day", _numeric_date(match, tz), match.group(0))


def _named_date(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    month = [m[:3] for m in MONTHS].index(match.group("month").lower()[:3]) + 1
    year = int(match.group("year")) if match.group("year") else None
    day = Day(match.group(0), calendar=(year, month, int(match.group("day"))))
    _set(pieces, "day", day, match.group(0))


def _named_time(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    name = match.group("name").lower()
    clock = Clock(name, time(0, 0) if name == "midnight" else time(12, 0), name == "midnight")
    _set(pieces, "clock", clock, name)


def _clock_piece(match: re.Match[str], pieces: Pieces, _tz: tzinfo) -> None:
    _set(pieces, "clock", _clock(match), match.group(0))


_Reader = Callable[[re.Match[str], Pieces, tzinfo], None]
# Tried in this order at the start of what is left: dates before clock times, so that the
# 5 of "5 jan" and the 05 of "05.01.2027" are never read as hours.
_READERS: tuple[tuple[re.Pattern[str], _Reader], ...] = (
    (_NOW, _now),
    (_DAY_WORD, _day_word),
    (_WEEKDAY, _weekday),
    (_NUMERIC_DATE, _numeric),
    (_DAY_MONTH, _named_date),
    (_MONTH_DAY, _named_date),
    (_NAMED_TIME, _named_time),
    (_CLOCK, _clock_piece),
)


def _set(pieces: Pieces, name: str, value: object, written: str) -> None:
    if getattr(pieces, name) is not None:
        what = {"day": "day", "clock": "time", "moment": "time", "zone": "time zone"}[name]
        raise ValueError(
            f"{pieces.text[:60]!r} gives more than one {what} ({written.strip()[:20]!r} too); "
            "give one, e.g. tomorrow 9:00"
        )
    setattr(pieces, name, value)


def _unknown(word: str, text: str) -> str:
    shown = word[:30]
    if word.lower() in _VAGUE:
        return f"{shown!r} is not a time I can schedule; say the day and the time, e.g. friday 9:00"
    if word.isdecimal() and len(word) <= 2:
        return f"{shown} is not a time of day; write {int(word)}:00, {int(word)}am or {int(word)}pm"
    if word.lower() in {"next", "this", "coming"}:
        return f"{shown} what? say the day, e.g. {shown} monday 10:00"
    if word.lower() == "yesterday":
        return "yesterday is not a date I can schedule: it has passed"
    return (
        f"{text[:60]!r} is not a date I understand ({shown!r}); "
        "try 2026-12-01 14:30, tomorrow 9am or in 2h"
    )


def _relative(rest: str, start: int, pieces: Pieces) -> str:
    """ "in 2h", "in 90 minutes", "in 2 days", "in 1 week", "in 1h30m", "in 2 days and 3 hours"."""
    index, minutes, days, clock_units = start, Decimal(0), 0, False
    while match := _AMOUNT.match(rest, index):
        amount, unit = match.group("n").lower(), match.group("unit").lower()[0]
        if len(amount) > 6:
            raise ValueError("meetings can be scheduled at most a year ahead")
        number = (
            Decimal("0.5")
            if amount.startswith("half")
            else Decimal(1)
            if amount in {"a", "an", "one"}
            else Decimal(amount)
        )
        if unit in "dw":
            if number != int(number):
                raise ValueError("write whole days, e.g. in 2 days, or hours: in 36h")
            days += int(number) * (7 if unit == "w" else 1)
        else:
            clock_units = True
            minutes += number * (60 if unit == "h" else 1)
        index = match.end()
    if index == start:
        amount = rest[start:].split(" ", 1)[0][:20]
        if amount.isascii() and amount.replace(".", "", 1).isdigit():
            raise ValueError(f"in {amount} what? write in {amount}m or in {amount}h")
        raise ValueError(f"in {amount!r}? write it like in 30m, in 2h or in 2 days")
    if clock_units:
        if days * 24 * 60 + minutes > MAX_AHEAD.total_seconds() / 60:
            raise ValueError("meetings can be scheduled at most a year ahead")
        _set(pieces, "moment", timedelta(days=days, minutes=float(minutes)), rest[:index])
    else:
        if days > MAX_AHEAD.days:
            raise ValueError("meetings can be scheduled at most a year ahead")
        _set(pieces, "day", Day(rest[:index], offset=days, keeps_clock=True), rest[:index])
    return rest[index:]


def _clock(match: re.Match[str]) -> Clock:
    written = match.group(0).strip()
    minute_text, half = match.group("minute"), (match.group("half") or "").lower()
    if minute_text is None and not half:
        hour = match.group("hour")
        raise ValueError(f"{hour} is not a time of day; write {hour}:00, {hour}am or {hour}pm")
    hour, minute = int(match.group("hour")), int(minute_text or 0)
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{written!r} is not a time: with am or pm the hour is 1 to 12")
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour == 24 and minute == 0:
        raise ValueError("24:00 is 00:00 of the next day; write that, e.g. tomorrow 00:00")
    if hour > 23 or minute > 59:
        raise ValueError(f"{written!r} is not a time of day")
    return Clock(written, time(hour, minute), said_half=bool(half))


def _numeric_date(match: re.Match[str], tz: tzinfo) -> Day:
    written = match.group(0)
    a, b, c = match.group("a"), match.group("b"), match.group("c")
    sep, dot = match.group("sep"), match.group("dot")
    if len(a) == 4:
        if c is None or dot:
            raise ValueError(f"{written!r} is not a date; write it like 2027-01-05")
        return Day(written, calendar=(int(a), int(b), int(c)))  # ISO: year, month, day
    if len(a) > 2 or (c is not None and len(c) not in (2, 4)):
        raise ValueError(f"{written!r} is not a date; write it like 2027-01-05")
    if sep == "." and c is None and not dot:
        raise ValueError(
            f"is {written!r} a time or a date? write {a}:{b} for a time, or a date with its "
            "year, like 05.01.2027"
        )
    year = None if c is None else int(c) + (2000 if len(c) == 2 else 0)
    first, second = int(a), int(b)
    day_first = _valid(year, second, first)
    month_first = _valid(year, first, second)
    if day_first and month_first and first != second:
        order = date_order(getattr(tz, "key", None))
        if order is None:
            raise ValueError(_two_ways(written, year, first, second, tz))
        if order is DateOrder.DAY_FIRST:
            return Day(written, calendar=(year, second, first))
        return Day(written, calendar=(year, first, second))
    if day_first:
        return Day(written, calendar=(year, second, first))
    if month_first:
        return Day(written, calendar=(year, first, second))
    raise ValueError(f"{written!r} is not a date; write it like 2027-01-05")


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        date(year or 2028, month, day)  # a leap year: 29.02. without a year may be meant
    except ValueError:
        return False
    return True


def _two_ways(written: str, year: int | None, first: int, second: int, tz: tzinfo) -> str:
    shown = year or "YYYY"
    as_day = f"{shown}-{second:02d}-{first:02d}"
    as_month = f"{shown}-{first:02d}-{second:02d}"
    return (
        f"{written!r} can be {first} {MONTHS[second - 1].title()} or "
        f"{MONTHS[first - 1].title()} {second}, and {zone_label(tz)} has no one habit for "
        f"the order; write {as_day} or {as_month}"
    )
