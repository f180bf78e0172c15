"""Time zones as people name them: IANA names, city names, abbreviations and UTC offsets.

`resolve_zone("berlin") == "Europe/Berlin"` is for a person's own zone (`/meet timezone`);
`zone_word("PST")` reads a zone written after a time ("10:00 PST") and says which place must
agree with it; `date_order(name)` is the zone's habit for numeric dates (5.1. or 1/5).
Everything raises `ValueError` with a message fit to show the user, or returns None for
"not a zone at all"; nothing here warns.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_FLAGS = re.IGNORECASE | re.ASCII
_OFFSET = re.compile(r"^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$", _FLAGS)
# Names zoneinfo lists that are no place anyone lives in.
_NOT_PLACES = {"localtime", "posixrules", "Factory"}
# Old country areas that tzdata keeps as links; a real area's name is preferred over them.
_LEGACY_AREAS = {"US", "Canada", "Brazil", "Mexico", "Chile", "Etc"}


@dataclass(frozen=True)
class Abbreviation:
    """A zone abbreviation: the offset it stands for, and the place whose clocks keep it."""

    hours: float
    place: str


# Unambiguous in chat between people who schedule together. An abbreviation names an offset:
# "PST" is UTC-8 even in July, when Los Angeles keeps PDT; the parser refuses that mismatch.
ABBREVIATIONS: dict[str, Abbreviation] = {
    "pst": Abbreviation(-8, "America/Los_Angeles"),
    "pdt": Abbreviation(-7, "America/Los_Angeles"),
    "mst": Abbreviation(-7, "America/Denver"),
    "mdt": Abbreviation(-6, "America/Denver"),
    "cdt": Abbreviation(-5, "America/Chicago"),
    "est": Abbreviation(-5, "America/New_York"),
    "edt": Abbreviation(-4, "America/New_York"),
    "akst": Abbreviation(-9, "America/Anchorage"),
    "akdt": Abbreviation(-8, "America/Anchorage"),
    "hst": Abbreviation(-10, "Pacific/Honolulu"),
    "wet": Abbreviation(0, "Europe/Lisbon"),
    "west": Abbreviation(1, "Europe/Lisbon"),
    "bst": Abbreviation(1, "Europe/London"),
    "cet": Abbreviation(1, "Europe/Berlin"),
    "cest": Abbreviation(2, "Europe/Berlin"),
    "eet": Abbreviation(2, "Europe/Athens"),
    "eest": Abbreviation(3, "Europe/Athens"),
    "msk": Abbreviation(3, "Europe/Moscow"),
    "jst": Abbreviation(9, "Asia/Tokyo"),
    "kst": Abbreviation(9, "Asia/Seoul"),
    "hkt": Abbreviation(8, "Asia/Hong_Kong"),
    "sgt": Abbreviation(8, "Asia/Singapore"),
    "awst": Abbreviation(8, "Australia/Perth"),
    "acst": Abbreviation(9.5, "Australia/Adelaide"),
    "acdt": Abbreviation(10.5, "Australia/Adelaide"),
    "aest": Abbreviation(10, "Australia/Sydney"),
    "aedt": Abbreviation(11, "Australia/Sydney"),
    "nzst": Abbreviation(12, "Pacific/Auckland"),
    "nzdt": Abbreviation(13, "Pacific/Auckland"),
}
# A region's local time whatever its offset that day ("10:00 ET").
GENERIC = {
    "pt": "America/Los_Angeles",
    "mt": "America/Denver",
    "ct": "America/Chicago",
    "et": "America/New_York",
    "utc": "UTC",
    "gmt": "UTC",
    "z": "UTC",
}
# Abbreviations that name more than one zone: refused, with the choices.
AMBIGUOUS = {
    "cst": ("America/Chicago (US Central)", "Asia/Shanghai (China)"),
    "ist": ("Asia/Kolkata (India)", "Asia/Jerusalem (Israel)", "Europe/Dublin (Ireland)"),
    "ast": ("America/Halifax (Atlantic)", "Asia/Riyadh (Arabia)"),
}


@dataclass(frozen=True)
class ZoneWord:
    """A zone written after a time: what the wall time is read in, and for an abbreviation,
    the place whose clocks must show that offset on the day (else it was read two ways)."""

    zone: tzinfo
    label: str
    keeps: Abbreviation | None = None
    written: str = ""


def zone_word(text: str) -> ZoneWord | None:
    """The zone `text` names as a date's suffix, None when it names none.

    Offsets (+02:00, -0500, UTC+2 meaning two hours ahead of UTC), abbreviations (PST, CEST),
    IANA names in any case (europe/berlin) and unambiguous city names (Berlin, new york).
    """
    word = text.strip().lower()
    if not word or len(word) > 64:
        return None
    if word in AMBIGUOUS:
        raise ValueError(
            f"{text.upper()} names more than one time zone ({', '.join(AMBIGUOUS[word])}); "
            "write the zone's name or an offset, e.g. 10:00 America/Chicago or 10:00 -06:00"
        )
    if word in GENERIC:
        return ZoneWord(ZoneInfo(GENERIC[word]), GENERIC[word])
    if word in ABBREVIATIONS:
        known = ABBREVIATIONS[word]
        offset = timedelta(hours=known.hours)
        return ZoneWord(timezone(offset, text.upper()), text.upper(), known, text.upper())
    offset_zone = _offset(word)
    if offset_zone is not None:
        return offset_zone
    if not word[0].isalpha():
        return None  # "9am", "10:00": every zone's name starts with a letter
    name = _lookup(word.replace(" ", "_"))
    return ZoneWord(ZoneInfo(name), name) if name is not None else None


def resolve_zone(text: str) -> str:
    """The IANA name of the zone a person calls theirs: "Europe/Berlin" for "europe/berlin",
    "Berlin" or "CET"; a refusal with a suggestion for anything else."""
    word = " ".join(text.split()).strip("()")
    lowered = word.lower()
    if not word:
        raise ValueError("name a time zone, e.g. Europe/Berlin or America/New_York")
    if lowered in AMBIGUOUS:
        raise ValueError(
            f"{word.upper()} names more than one time zone: {', '.join(AMBIGUOUS[lowered])}; "
            "give its full name"
        )
    if lowered in GENERIC:
        return GENERIC[lowered]
    if lowered in ABBREVIATIONS:
        # "my zone is PST" means the place, with its summer time, not a fixed UTC-8.
        return ABBREVIATIONS[lowered].place
    if _offset(lowered) is not None:
        raise ValueError(
            f"{word[:40]} is an offset, which changes with summer time in most places; name "
            "the zone instead, e.g. Europe/Berlin or America/New_York"
        )
    key = lowered.replace(" ", "_")
    name = _lookup(key)
    if name is not None:
        return name
    choices = _candidates(key)
    if len(choices) > 1:
        raise ValueError(f"{word[:40]} could be {' or '.join(choices)}; give the full name")
    guess = _suggest(key)
    hint = f"Did you mean {guess}?" if guess else "Write its name, e.g. Europe/Berlin."
    raise ValueError(f"{word[:40]!r} is not a time zone I know. {hint}")


def _offset(word: str) -> ZoneWord | None:
    match = _OFFSET.match(word)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(f"{word.upper()} is not a UTC offset (they run from -12:00 to +14:00)")
    delta = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    label = offset_text(delta)
    return ZoneWord(timezone(delta, label), label)


def offset_text(delta: timedelta | None) -> str:
    """+02:00 / -05:00 / +05:30 for an offset from UTC."""
    minutes = round((delta or timedelta()).total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@cache
def _index() -> dict[str, str]:
    """Lower-case IANA name -> the name as tzdata spells it."""
    return {name.lower(): name for name in available_timezones() if name not in _NOT_PLACES}


@cache
def _cities() -> dict[str, tuple[str, ...]]:
    """Lower-case last part ("berlin", "new_york") -> every IANA name ending in it."""
    found: dict[str, list[str]] = {}
    for name in _index().values():
        found.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return {city: tuple(sorted(names)) for city, names in found.items()}


def _lookup(key: str) -> str | None:
    """An exact IANA name in any case, or a city that names one zone."""
    exact = _index().get(key)
    if exact is not None:
        return exact
    choices = _candidates(key)
    return choices[0] if len(choices) == 1 else None


def _candidates(key: str) -> tuple[str, ...]:
    """The distinct zones a city name could mean. tzdata keeps old names as links
    (America/Buenos_Aires, Singapore): a name whose clocks agree with another's is the same
    zone, and the one in a real area with the longest path (the current name) stands for it."""
    names = _cities().get(key, ())
    groups: dict[tuple[timedelta | None, ...], list[str]] = {}
    for name in names:
        groups.setdefault(_fingerprint(name), []).append(name)
    chosen = []
    for same in groups.values():
        current = [n for n in same if "/" in n and n.split("/")[0] not in _LEGACY_AREAS]
        if current:
            chosen.append(max(current, key=lambda n: (n.count("/"), n)))
        elif len(same) == 1 or all("/" not in n for n in same):
            chosen.append(same[0])
        else:
            chosen += same  # US/Eastern and Canada/Eastern: two countries, say both
    return tuple(sorted(chosen))


@cache
def _fingerprint(name: str) -> tuple[timedelta | None, ...]:
    zone = ZoneInfo(name)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return tuple((start + timedelta(days=15 * i)).astimezone(zone).utcoffset() for i in range(122))


def _suggest(key: str) -> str | None:
    names = _index()
    guess = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
    if guess:
        return names[guess[0]]
    city = difflib.get_close_matches(key, list(_cities()), n=1, cutoff=0.75)
    if city:
        choices = _candidates(city[0])
        return " or ".join(choices) if choices else None
    return None


class DateOrder(StrEnum):
    """How a zone's people write a numeric date with the year last."""

    DAY_FIRST = "day first"  # 05.01.2027 is 5 January
    MONTH_FIRST = "month first"  # 01/05/2027 is January 5


# The United States and the places that follow its habit write the month first.
_MONTH_FIRST_PREFIXES = ("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")
_MONTH_FIRST = {
    "America/New_York", "America/Detroit", "America/Chicago", "America/Menominee",
    "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "America/Juneau", "America/Sitka", "America/Metlakatla",
    "America/Yakutat", "America/Nome", "America/Adak", "America/Atka", "America/Shiprock",
    "America/Indianapolis", "America/Louisville", "America/Fort_Wayne", "America/Knox_IN",
    "America/Puerto_Rico", "America/St_Thomas", "Pacific/Honolulu", "Pacific/Johnston",
    "Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago", "Pacific/Midway", "Pacific/Samoa",
    "Navajo", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT", "EST", "MST", "HST", "Asia/Manila",
}  # fmt: skip
# No one habit: Canada writes all three orders; East Asia, Hungary, Lithuania, Sweden and
# Iran put the year first; UTC is nobody's. A numeric date that reads two ways is refused.
_NO_HABIT_PREFIXES = ("Canada/", "Etc/")
_NO_HABIT = {
    "UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu",
    "America/Toronto", "America/Montreal", "America/Vancouver", "America/Edmonton",
    "America/Winnipeg", "America/Halifax", "America/St_Johns", "America/Regina",
    "America/Moncton", "America/Glace_Bay", "America/Goose_Bay", "America/Whitehorse",
    "America/Dawson", "America/Dawson_Creek", "America/Fort_Nelson", "America/Creston",
    "America/Iqaluit", "America/Rankin_Inlet", "America/Resolute", "America/Cambridge_Bay",
    "America/Inuvik", "America/Swift_Current", "America/Atikokan", "America/Blanc-Sablon",
    "America/Nipigon", "America/Thunder_Bay", "America/Rainy_River", "America/Yellowknife",
    "America/Pangnirtung", "Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking",
    "Asia/Harbin", "Asia/Urumqi", "Asia/Kashgar", "Asia/Tokyo", "Asia/Seoul",
    "Asia/Pyongyang", "Asia/Taipei", "Asia/Ulaanbaatar", "Asia/Ulan_Bator", "Asia/Hovd",
    "Asia/Choibalsan", "Asia/Tehran", "PRC", "ROC", "ROK", "Japan", "Iran",
    "Europe/Budapest", "Europe/Vilnius", "Europe/Stockholm",
}  # fmt: skip


def date_order(name: str | None) -> DateOrder | None:
    """The numeric-date habit of the zone `name`; None where there is no one habit."""
    if not name or name in _NO_HABIT or name.startswith(_NO_HABIT_PREFIXES):
        return None
    if name in _MONTH_FIRST or name.startswith(_MONTH_FIRST_PREFIXES):
        return DateOrder.MONTH_FIRST
    # Most of the world, Latin America included, writes the day first.
    if "/" in name or name.lower() in _index():
        return DateOrder.DAY_FIRST
    return None
