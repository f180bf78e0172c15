"""A date and a clock time on a wall in some zone, made into one instant, or refused.

On the day clocks go forward an hour of wall time does not exist (02:30 on 28 March 2027 in
Berlin); on the day they go back an hour happens twice (01:30 on 7 November 2027 in New York).
zoneinfo quietly picks a reading for both; a meeting time must not be a guess, so both are
refused with what to write instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from commands.zonenames import offset_text


def zone_label(zone: tzinfo) -> str:
    """The zone as people read it: its IANA name, else its abbreviation or offset."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return zone.tzname(None) or "UTC"


def wall_time(day: date, clock: time, zone: tzinfo) -> datetime:
    """The instant that `clock` on `day` in `zone` names; ValueError when it names none or two."""
    naive = datetime.combine(day, clock.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    shown = f"{clock:%H:%M} on {day:%a %d %b %Y} in {zone_label(zone)}"
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        start, end = _gap(first, second, zone)
        raise ValueError(
            f"{shown} does not exist: the clocks go from {start:%H:%M} straight to "
            f"{end:%H:%M}. Pick a time before {start:%H:%M} or from {end:%H:%M} on."
        )
    earlier, later = first.utcoffset(), second.utcoffset()
    raise ValueError(
        f"{shown} happens twice: first at UTC{offset_text(earlier)} ({first.tzname()}), then at "
        f"UTC{offset_text(later)} ({second.tzname()}). Say which, e.g. "
        f"{clock:%H:%M} {offset_text(earlier)} or {clock:%H:%M} {offset_text(later)}."
    )


def _gap(first: datetime, second: datetime, zone: tzinfo) -> tuple[time, time]:
    """The wall times the clocks jump between around a time that does not exist."""
    # The two readings of the missing wall time (with the offset from before the jump, and
    # from after it) are instants on either side of the jump; halve the minutes between.
    low, high = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    before = low.astimezone(zone).utcoffset() or timedelta()
    minute = timedelta(minutes=1)
    while high - low > minute:
        middle = low + ((high - low) // minute // 2) * minute
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return (high + before).time(), high.astimezone(zone).time()
