"""Dates as people type them, read in their zone: each form in Berlin and in New York, with a
fixed now, on ordinary days and on the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.timeparse import MAX_AHEAD, parse_when
from commands.zonenames import DateOrder, date_order

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def read(text: str, now: datetime) -> datetime:
    """`text` read by someone whose zone is the one `now` is written in, shown in that zone."""
    zone = now.tzinfo
    assert isinstance(zone, ZoneInfo)
    moment = parse_when(text, now.astimezone(UTC), zone)
    assert moment.tzinfo is UTC
    return moment.astimezone(zone)


def elapsed(start: datetime, end: datetime) -> timedelta:
    return end.astimezone(UTC) - start.astimezone(UTC)


def refused(text: str, now: datetime) -> str:
    with pytest.raises(ValueError, match=r"\S") as caught:
        read(text, now)
    return str(caught.value)


# A Wednesday afternoon, the same wall time in each zone.
def wednesday(zone: ZoneInfo) -> datetime:
    return local(zone, 2027, 3, 10, 15, 0)


@ZONES
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The forms the issue names.
        ("next monday 10:00", (2027, 3, 15, 10, 0)),
        ("tomorrow noon", (2027, 3, 11, 12, 0)),
        ("9am tomorrow", (2027, 3, 11, 9, 0)),
        ("in 2 days", (2027, 3, 12, 15, 0)),
        ("tonight", (2027, 3, 10, 20, 0)),
        # What was read before, still read.
        ("2027-12-01 09:00", (2027, 12, 1, 9, 0)),
        ("tomorrow 9am", (2027, 3, 11, 9, 0)),
        ("monday 10:00", (2027, 3, 15, 10, 0)),
        ("in 2h", (2027, 3, 10, 17, 0)),
        ("now", (2027, 3, 10, 15, 0)),
        # And their neighbours.
        ("tomorrow at 14:30", (2027, 3, 11, 14, 30)),
        ("on friday at 3pm", (2027, 3, 12, 15, 0)),
        ("this friday 3pm", (2027, 3, 12, 15, 0)),
        ("noon tomorrow", (2027, 3, 11, 12, 0)),
        ("tonight 9pm", (2027, 3, 10, 21, 0)),
        ("16:00", (2027, 3, 10, 16, 0)),
        ("midnight", (2027, 3, 11, 0, 0)),
        ("12am tomorrow", (2027, 3, 11, 0, 0)),
        ("tomorrow 12pm", (2027, 3, 11, 12, 0)),
        ("day after tomorrow 10:00", (2027, 3, 12, 10, 0)),
        ("in 90 minutes", (2027, 3, 10, 16, 30)),
        ("in 1h30m", (2027, 3, 10, 16, 30)),
        ("in 2 days at 9:00", (2027, 3, 12, 9, 0)),
        ("in 1 week", (2027, 3, 17, 15, 0)),
        ("5 jan 10:00", (2028, 1, 5, 10, 0)),  # no year: the next 5 January
        ("March 20th at 15:00", (2027, 3, 20, 15, 0)),
        ("2027-04-01T10:00", (2027, 4, 1, 10, 0)),
        ("13/04/2027 10:00", (2027, 4, 13, 10, 0)),  # only one order makes a date
        ("Wednesday 14:00", (2027, 3, 17, 14, 0)),  # today's 14:00 has passed: next week's
    ],
)
def test_each_form_is_read_in_the_users_zone(zone, text, expected):
    assert read(text, wednesday(zone)) == local(zone, *expected)


@pytest.mark.parametrize(
    ("zone", "text", "expected"),
    [
        # Day first where people write the day first; month first in the United States.
        (BERLIN, "05.06.2027 10:00", (2027, 6, 5, 10, 0)),
        (BERLIN, "05/06/2027 10:00", (2027, 6, 5, 10, 0)),
        (ZoneInfo("Europe/London"), "05/06/2027 10:00", (2027, 6, 5, 10, 0)),
        (ZoneInfo("America/Sao_Paulo"), "05/06/2027 10:00", (2027, 6, 5, 10, 0)),
        (BERLIN, "5.6. 10:00", (2027, 6, 5, 10, 0)),
        (NEW_YORK, "06/05/2027 10:00", (2027, 6, 5, 10, 0)),
        (NEW_YORK, "05.06.2027 10:00", (2027, 5, 6, 10, 0)),
        (ZoneInfo("America/Los_Angeles"), "6/5/27 10am", (2027, 6, 5, 10, 0)),
        # ISO is year, month, day everywhere.
        (BERLIN, "2027-06-05 10:00", (2027, 6, 5, 10, 0)),
        (NEW_YORK, "2027-06-05 10:00", (2027, 6, 5, 10, 0)),
        (ZoneInfo("UTC"), "2027-06-05 10:00", (2027, 6, 5, 10, 0)),
    ],
)
def test_numeric_dates_follow_the_zones_habit(zone, text, expected):
    assert read(text, wednesday(zone)) == local(zone, *expected)


def test_the_issues_date_is_5_january_in_berlin_and_its_us_spelling_is_too_in_new_york():
    # Before: "05.01.2027" in Europe/Berlin was read as 1 May.
    autumn = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert parse_when("05.01.2027 10:00", autumn, BERLIN) == datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
    assert parse_when("01/05/2027 10:00", autumn, NEW_YORK) == datetime(
        2027, 1, 5, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Toronto"])
def test_a_numeric_date_read_two_ways_where_there_is_no_one_habit_is_refused(zone):
    said = refused("05/06/2027 10:00", wednesday(ZoneInfo(zone)))
    assert "can be 5 June or May 6" in said
    assert "write 2027-06-05 or 2027-05-06" in said


@ZONES
@pytest.mark.parametrize(
    ("text", "utc"),
    [
        (
            "10:00 PST",
            datetime(2027, 3, 10, 18, 0, tzinfo=UTC),
        ),  # still PST: the US changes on 14 March
        ("2027-04-05 10:00 +02:00", datetime(2027, 4, 5, 8, 0, tzinfo=UTC)),
        ("2027-04-05T10:00+0200", datetime(2027, 4, 5, 8, 0, tzinfo=UTC)),
        ("2027-04-05 10:00Z", datetime(2027, 4, 5, 10, 0, tzinfo=UTC)),
        ("tomorrow 9:00 Europe/Berlin", datetime(2027, 3, 11, 8, 0, tzinfo=UTC)),
        ("tomorrow 9:00 europe/berlin", datetime(2027, 3, 11, 8, 0, tzinfo=UTC)),
        ("tomorrow 9:00 New York", datetime(2027, 3, 11, 14, 0, tzinfo=UTC)),
        ("tomorrow 9:00 UTC", datetime(2027, 3, 11, 9, 0, tzinfo=UTC)),
        (
            "tomorrow 9:00 UTC+2",
            datetime(2027, 3, 11, 7, 0, tzinfo=UTC),
        ),  # two hours ahead of UTC, as meant
        ("tomorrow 9:00 CET", datetime(2027, 3, 11, 8, 0, tzinfo=UTC)),
        ("tomorrow 9:00 ET", datetime(2027, 3, 11, 14, 0, tzinfo=UTC)),
    ],
)
def test_a_zone_written_after_the_time_wins_over_the_users(zone, text, utc):
    now = wednesday(zone)
    if now > utc:
        now -= timedelta(hours=12)  # New York's afternoon is after 18:00 UTC
    assert parse_when(text, now.astimezone(UTC), zone) == utc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10:00 CST", "more than one time zone"),
        ("2027-07-01 10:00 PST", "America/Los_Angeles keeps PDT"),
        ("tomorrow 10:00 CEST", "Europe/Berlin keeps CET"),
        ("tomorrow 10:00 +25:00", "is not a UTC offset"),
        ("tomorrow 10:00 Mars/Olympus", "not a date I understand"),
    ],
)
def test_a_zone_that_reads_two_ways_or_none_is_refused(text, message):
    assert message in refused(text, wednesday(BERLIN))


@ZONES
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "say when"),
        ("yesterday", "not a date"),
        ("next friday 10:00", "next friday could be Fri 12 Mar or Fri 19 Mar"),
        ("this monday 10:00", "this monday was Mon 08 Mar"),
        ("wednesday 16:00", "wednesday is today: say today 16:00"),
        ("friday", "at what time?"),
        ("2027-04-01", "at what time on Thu 01 Apr 2027?"),
        ("tomorrow morning", "'morning' is not a time I can schedule"),
        ("tomorrow 9", "write 9:00, 9am or 9pm"),
        ("tomorrow 25:00", "not a time of day"),
        ("tomorrow 24:00", "write that, e.g. tomorrow 00:00"),
        ("tomorrow 13pm", "the hour is 1 to 12"),
        ("tomorrow banana 9am", "not a date I understand ('banana')"),
        ("9am 10am", "more than one time"),
        ("monday tuesday 10:00", "more than one day"),
        ("in 2h tomorrow", "says when twice"),
        ("in 30", "in 30 what?"),
        ("in soon", "write it like in 30m"),
        ("tomorrow midnight", "midnight at the start or at the end"),
        ("tonight 9:00", "did you mean tonight 21:00?"),
        ("10.30", "a time or a date?"),
        ("2027-02-30 10:00", "not a date on the calendar"),
        ("31/02/2028 10:00", "is not a date"),
        ("14:30", "14:30 today has already passed; say tomorrow 14:30"),
        ("noon", "say tomorrow noon"),
        ("2026-12-01 09:00", "2026-12-01 has already passed"),
        ("2099-01-01 09:00", "at most a year ahead"),
        ("in 400 days", "at most a year ahead"),
        ("9999-12-31 23:59", "at most a year ahead"),
        ("Europe/Berlin", "say when"),
    ],
)
def test_what_is_not_understood_or_reads_two_ways_is_refused_with_what_to_write(
    zone, text, message
):
    assert message in refused(text, wednesday(zone))


@ZONES
def test_tonight_is_eight_and_is_refused_once_the_evening_is_over(zone):
    assert read("tonight", local(zone, 2027, 3, 10, 19, 0)) == local(zone, 2027, 3, 10, 20, 0)
    assert "tonight 23:00" in refused("tonight", local(zone, 2027, 3, 10, 22, 0))
    assert "say tomorrow 20:00" in refused("tonight", local(zone, 2027, 3, 10, 23, 10))
    assert read("tonight 23:30", local(zone, 2027, 3, 10, 22, 0)) == local(
        zone, 2027, 3, 10, 23, 30
    )


# -- the days the clocks change: Berlin on 28 March and 31 October 2027, New York on 14 March
# and 7 November 2027 ------------------------------------------------------------------------

SPRING = pytest.mark.parametrize(
    ("zone", "day"), [(BERLIN, 28), (NEW_YORK, 14)], ids=["Berlin", "New_York"]
)


@SPRING
def test_a_time_the_clocks_skip_does_not_exist_and_is_refused(zone, day):
    said = refused(f"2027-03-{day} 02:30", local(zone, 2027, 3, day - 1, 12, 0))
    assert f"02:30 on Sun {day} Mar 2027 in {zone.key} does not exist" in said
    assert "the clocks go from 02:00 straight to 03:00" in said
    assert "does not exist" in refused("tomorrow 2:30am", local(zone, 2027, 3, day - 1, 12))


@SPRING
def test_on_the_spring_day_wall_times_and_elapsed_times_both_come_out_right(zone, day):
    saturday = local(zone, 2027, 3, day - 1, 10, 0)
    # The day has 23 hours: "tomorrow 10:00" is 23 hours on, "in 24h" is 11:00 on the wall.
    # (Instants are compared in UTC: Python subtracts two times of one zone on the wall.)
    assert read("tomorrow 10:00", saturday) == local(zone, 2027, 3, day, 10, 0)
    assert elapsed(saturday, read("tomorrow 10:00", saturday)) == timedelta(hours=23)
    assert read("in 24h", saturday) == local(zone, 2027, 3, day, 11, 0)
    assert read("in 1 day", saturday) == local(zone, 2027, 3, day, 10, 0)
    assert read(f"2027-03-{day} 03:30", saturday).utcoffset() != saturday.utcoffset()


@pytest.mark.parametrize(
    ("zone", "text", "earlier", "later"),
    [
        (BERLIN, "2027-10-31 02:30", "+02:00", "+01:00"),
        (NEW_YORK, "2027-11-07 01:30", "-04:00", "-05:00"),
    ],
    ids=["Berlin", "New_York"],
)
def test_a_time_that_happens_twice_is_refused_and_either_offset_then_reads_it(
    zone, text, earlier, later
):
    now = local(zone, 2027, 10, 20, 12, 0)
    said = refused(text, now)
    assert "happens twice" in said
    assert f"e.g. {text[-5:]} {earlier} or {text[-5:]} {later}" in said
    first, second = read(f"{text} {earlier}", now), read(f"{text} {later}", now)
    assert elapsed(first, second) == timedelta(hours=1)


def test_an_abbreviation_must_match_the_places_clocks_on_that_day():
    # New York changes on 14 March: EST before, EDT after; EST after the change reads two ways.
    now = wednesday(BERLIN)
    assert parse_when("2027-03-12 10:00 EST", now, BERLIN) == datetime(
        2027, 3, 12, 15, 0, tzinfo=UTC
    )
    assert "keeps EDT" in refused("2027-03-15 10:00 EST", now)
    assert parse_when("2027-03-15 10:00 EDT", now, BERLIN) == datetime(
        2027, 3, 15, 14, 0, tzinfo=UTC
    )
    # A region's name is its local time whatever the season.
    assert parse_when("2027-07-01 10:00 PT", now, BERLIN) == datetime(2027, 7, 1, 17, 0, tzinfo=UTC)


# -- whatever is typed ------------------------------------------------------------------------

WORDS = st.sampled_from(
    (
        "tomorrow", "tonight", "next", "monday", "in", "2", "2h", "days", "at", "9am", "10:00",
        "noon", "midnight", "05.01.2027", "01/05/2027", "2027-03-28", "02:30", "PST", "+02:00",
        "Europe/Berlin", "berlin", "CST", "z", "pm", "5", "jan", "the", "of", "-", "99", "\u0661",
    )
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(max_size=40), st.lists(WORDS, max_size=6).map(" ".join)),
    zone=st.sampled_from([BERLIN, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati")]),
    offset=st.integers(0, 366 * 24 * 60),
)
def test_anything_typed_is_a_future_moment_within_a_year_or_a_clear_refusal(text, zone, offset):
    now = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=offset)
    outcome: datetime | str
    try:
        outcome = parse_when(text, now, zone)
    except ValueError as error:
        outcome = str(error)
    if isinstance(outcome, str):
        assert outcome, "a refusal says why"
    else:
        assert outcome.tzinfo is UTC
        assert now - timedelta(minutes=1) <= outcome <= now + MAX_AHEAD


@pytest.mark.parametrize(
    ("zone", "order"),
    [
        ("Europe/Berlin", DateOrder.DAY_FIRST),
        ("Europe/London", DateOrder.DAY_FIRST),
        ("America/Sao_Paulo", DateOrder.DAY_FIRST),  # Latin America writes the day first
        ("Asia/Kolkata", DateOrder.DAY_FIRST),
        ("America/New_York", DateOrder.MONTH_FIRST),
        ("America/Indiana/Indianapolis", DateOrder.MONTH_FIRST),
        ("US/Pacific", DateOrder.MONTH_FIRST),
        ("America/Toronto", None),  # Canada writes all three orders
        ("Asia/Tokyo", None),  # year first
        ("UTC", None),
        (None, None),
    ],
)
def test_each_zone_has_its_numeric_date_habit_or_none(zone, order):
    assert date_order(zone) is order
