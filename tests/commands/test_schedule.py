"""Time that stays true, on real parts and an injected clock: series in local time across both
daylight-saving changes, reminders inside their lead, the early-join window, an occurrence
opened early then ended, a missed one, the duration from the scheduled start, downtime within
and past the grace period, a worker that dies holding a job, and two schedulers on one store.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import JobLoop
from commands.model import MeetingState, OccurrenceState
from commands.schedule.jobs import JobHandlers
from commands.service import MeetingService
from commands.store import JobKind, MeetingStore

from .conftest import Bench, Recorder, card_id, person, scheduler, texts


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def run_until(bench: Bench, loop: JobLoop, until: datetime) -> None:
    """Move the clock to each due job in turn up to `until`, as the scheduler would see it."""
    while (due := await bench.store.next_due()) is not None and due <= until:
        bench.clock.now = max(bench.clock.now, due)
        await loop.run_due()
    bench.clock.now = until


def openings(recorder: Recorder, zone: ZoneInfo) -> list[str]:
    """The local wall-clock time of each "is open now" post."""
    return [
        f"{meeting.schedule.start.astimezone(zone):%Y-%m-%d %H:%M}"  # type: ignore[union-attr]
        for _refresh, meeting, reply in recorder.posts
        if "is open now" in reply.text
    ]


@pytest.mark.parametrize(
    ("zone", "start", "until", "expected"),
    [
        (  # spring forward on 14 March, fall back on 7 November 2027
            "America/New_York",
            "2027-03-01 14:00",
            "2027-03-23 00:00",
            ["2027-03-08 09:00", "2027-03-15 09:00", "2027-03-22 09:00"],
        ),
        (
            "America/New_York",
            "2027-10-25 13:00",
            "2027-11-16 00:00",
            ["2027-11-01 09:00", "2027-11-08 09:00", "2027-11-15 09:00"],
        ),
        (  # summer time from 28 March, back on 31 October 2027
            "Europe/Berlin",
            "2027-03-15 08:00",
            "2027-04-06 00:00",
            ["2027-03-22 09:00", "2027-03-29 09:00", "2027-04-05 09:00"],
        ),
        (
            "Europe/Berlin",
            "2027-10-18 07:00",
            "2027-11-09 00:00",
            ["2027-10-25 09:00", "2027-11-01 09:00", "2027-11-08 09:00"],
        ),
    ],
)
async def test_a_weekly_meeting_stays_at_nine_local_across_daylight_saving(
    bench: Bench, zone: str, start: str, until: str, expected: list[str]
):
    bench.clock.now = at(start)  # a Monday, 09:00 local
    host = person("alice", timezone=zone)
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    created = await bench.say(
        host, 'create Weekly --start "monday 09:00" --repeat weekly --remind 15 --duration 30m'
    )
    assert "every Monday at 09:00" in str(created[0].card)
    await run_until(bench, loop, at(until))
    assert openings(recorder, ZoneInfo(zone)) == expected
    reminders = [r for r in recorder.texts() if r.startswith("Reminder:")]
    assert len(reminders) == 3, "one reminder per occurrence"
    assert all("starts in 15 min" in r for r in reminders)


async def test_a_one_off_meeting_after_the_change_keeps_its_local_time(bench: Bench):
    bench.clock.now = at("2027-03-26 12:00")  # Friday, winter time in Berlin
    host = person("alice", timezone="Europe/Berlin")
    await bench.say(host, 'create Review --start "2027-03-29 09:00"')
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    assert meeting.schedule.start == at("2027-03-29 07:00"), "09:00 summer time is 07:00 UTC"


async def test_a_meeting_inside_its_reminder_lead_is_reminded_at_once(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    nudged: list[bool] = []
    bench.service.nudge = lambda: nudged.append(True)
    created = texts(await bench.say(person("alice"), 'create Quick --start "in 5m" --remind 15'))
    assert "I will remind this channel 15 min before" in created
    assert nudged, "the scheduler is woken rather than left to its next round"
    assert await loop.run_due() == 1
    [reminder] = recorder.texts()
    assert reminder.startswith("Reminder: Quick starts in 5 min")


async def test_a_meeting_inside_the_early_join_window_is_scheduled_not_started(bench: Bench):
    created = await bench.say(person("alice"), 'create Soon --start "in 10m"')
    said = texts(created)
    assert "scheduled Soon for" in said
    assert "It opens at 08:10 (you can join now)" in said
    assert "started" not in said
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    assert meeting.state is MeetingState.SCHEDULED
    assert "attendee" in texts(await bench.say(person("bob"), "join Soon")), "joinable now"


async def test_opened_early_then_ended_reminds_once_per_occurrence_and_moves_on(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    alice = person("alice")
    mid = card_id(
        await bench.say(alice, 'create Daily --start "tomorrow 9:00" --repeat daily --remind 15')
    )
    await run_until(bench, loop, at("2026-11-26 08:46"))  # its reminder is out
    await bench.say(alice, "join Daily")  # opened 14 minutes early
    # End pressed twice at once: it ends once, and nothing is planned twice.
    pressed = await asyncio.gather(*(bench.say(alice, f"end {mid}") for _ in range(2)))
    ended = [texts(replies) for replies in pressed]
    assert sum("alice ended Daily" in t for t in ended) == 1, ended
    assert any("Next: Fri 27 Nov 2026 09:00" in t for t in ended), "the next slot, not this"
    await run_until(bench, loop, at("2026-11-28 08:00"))
    reminders = [r for r in recorder.texts() if r.startswith("Reminder:")]
    assert len(reminders) == 2, reminders  # 26 and 27 November, each once
    assert "Fri 27 Nov" in reminders[1]
    states = [o.state for o in await bench.store.occurrences(bench.channel.tenant, mid)]
    assert states == [OccurrenceState.ENDED, OccurrenceState.OPEN, OccurrenceState.SCHEDULED]


async def test_a_repeating_meeting_nobody_opens_is_missed_and_goes_on(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = card_id(
        await bench.say(person("alice"), 'create Daily --start "tomorrow 9:00" --repeat daily')
    )
    await run_until(bench, loop, at("2026-11-29 12:00"))
    states = [o.state for o in await bench.store.occurrences(bench.channel.tenant, mid)]
    assert states == [
        OccurrenceState.MISSED,
        OccurrenceState.MISSED,
        OccurrenceState.MISSED,
        OccurrenceState.OPEN,
        OccurrenceState.SCHEDULED,
    ]
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    assert meeting.schedule.start == at("2026-11-29 09:00")
    assert len([t for t in recorder.texts() if "is open now" in t]) == 4


@pytest.mark.parametrize(
    ("opened", "ends"),
    [("2026-11-26 08:50", "2026-11-26 09:30"), ("2026-11-26 09:10", "2026-11-26 09:40")],
)
async def test_the_duration_counts_from_the_scheduled_start_or_a_later_opening(
    bench: Bench, opened: str, ends: str
):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    alice = person("alice")
    mid = card_id(await bench.say(alice, 'create Lab --start "tomorrow 9:00" --duration 30m'))
    bench.clock.now = at(opened)
    await bench.say(alice, "join Lab")
    await run_until(bench, loop, at(ends) - timedelta(seconds=1))
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    assert meeting.state is MeetingState.RUNNING
    await run_until(bench, loop, at(ends))
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    assert meeting.state is MeetingState.ENDED
    assert any("its 30 min were up" in t for t in recorder.texts())


async def test_a_reminder_due_while_down_is_posted_late_within_grace_else_skipped(
    bench: Bench, caplog
):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    alice = person("alice")
    await bench.say(alice, 'create Late --start "tomorrow 9:00" --remind 15')
    await bench.say(alice, 'create Later --start "tomorrow 10:00" --remind 15')
    bench.clock.now = at("2026-11-26 08:52")  # the bot was down at 08:45
    await loop.run_due()
    [late] = recorder.texts()
    assert late.startswith("Reminder: Late starts in 8 min")
    assert "Posted late" in late
    bench.clock.now = at("2026-11-26 09:58")  # down again, past 09:45 + 10 min of grace
    with caplog.at_level(logging.WARNING, logger="meetbot.schedule"):
        await loop.run_due()
    assert not [t for t in recorder.texts() if t.startswith("Reminder: Later")]
    assert "skipped" in caplog.text


async def test_a_job_of_a_worker_that_died_is_done_once_after_its_lease(bench: Bench):
    recorder = Recorder()
    await bench.say(person("alice"), 'create Sync --start "tomorrow 9:00" --remind 15')
    bench.clock.now = at("2026-11-26 08:45")
    # A worker claims the reminder, then dies before posting it.
    [lost] = await bench.store.claim_jobs(bench.clock.now, "dead", lease=timedelta(minutes=2))
    loop = scheduler(bench, recorder)
    assert await loop.run_due() == 0, "held by its lease"
    bench.clock.now += timedelta(minutes=2)
    assert await loop.run_due() == 1
    [reminder] = [t for t in recorder.texts() if t.startswith("Reminder:")]
    assert reminder.startswith("Reminder: Sync starts in 13 min (Thu 26 Nov 2026 09:00 (UTC))")
    assert lost.kind is JobKind.REMIND


async def test_two_schedulers_on_one_store_post_each_reminder_once(bench: Bench):
    alice = person("alice")
    for n in range(40):
        await bench.say(alice, f'create "Class {n}" --start "tomorrow 9:00" --remind 15')
    second_store = await MeetingStore.open(f"sqlite:///{bench.db}")
    try:
        second = MeetingService(
            providers=bench.providers,
            store=second_store,
            policy=bench.service.policy,
            default_provider="bigbluebutton",
            clock=bench.clock,
        )
        one, two = Recorder(), Recorder()
        platform = bench.channel.tenant.platform
        loops = [
            JobLoop(JobHandlers(bench.service), {platform: one}, bench.clock, batch=3),
            JobLoop(JobHandlers(second), {platform: two}, bench.clock, batch=3),
        ]
        bench.clock.now = at("2026-11-26 08:46")
        await asyncio.gather(*(loop.run_due() for loop in loops))
        posted = [m.id for _r, m, reply in one.posts + two.posts if reply.text.startswith("Rem")]
        assert len(posted) == 40
        assert len(set(posted)) == 40, "none twice"
        assert one.posts, "both took part"
        assert two.posts, "both took part"
    finally:
        await second_store.close()


async def test_edit_moves_the_next_occurrence_and_its_jobs(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    alice = person("alice")
    mid = card_id(
        await bench.say(
            alice, 'create Standup --start "tomorrow 9:00" --repeat weekdays --remind 10'
        )
    )
    refused = texts(await bench.say(person("bob"), "edit Standup --remind 5"))
    assert "Only moderators can change" in refused
    said = texts(await bench.say(alice, 'edit Standup --start "tomorrow 9:30" --remind 5'))
    assert "every weekday (Monday to Friday) at 09:30" in said
    assert "next: Thu 26 Nov 2026 09:30" in said
    jobs = await bench.store.pending_jobs(mid)
    assert [(kind, due) for kind, due, _occ in jobs] == [
        (JobKind.REMIND, at("2026-11-26 09:25")),
        (JobKind.OPEN, at("2026-11-26 09:30")),
    ]
    await run_until(bench, loop, at("2026-11-26 09:31"))
    assert recorder.texts()[0].startswith("Reminder: Standup starts in 5 min")
    assert "Say what to change" in texts(await bench.say(alice, "edit Standup"))


async def test_edit_repeat_none_stops_the_series_after_the_next(bench: Bench):
    loop = scheduler(bench, Recorder())
    alice = person("alice")
    mid = card_id(await bench.say(alice, 'create Daily --start "tomorrow 9:00" --repeat daily'))
    await bench.say(alice, "edit Daily --repeat none")
    await run_until(bench, loop, at("2026-11-30 12:00"))
    assert len(await bench.store.occurrences(bench.channel.tenant, mid)) == 1


async def test_cancel_skips_the_next_occurrence_or_ends_the_series(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    alice = person("alice")
    mid = card_id(
        await bench.say(alice, 'create Weekly --start "tomorrow 9:00" --repeat weekly --remind 15')
    )
    said = texts(await bench.say(alice, "cancel Weekly"))
    assert "cancelled Weekly of Thu 26 Nov 2026 09:00" in said
    assert "Next: Thu 03 Dec 2026 09:00" in said
    await run_until(bench, loop, at("2026-12-02 12:00"))
    assert recorder.texts() == [], "nothing of the cancelled occurrence is posted"
    said = texts(await bench.say(alice, "cancel Weekly --series"))
    assert "cancelled every occurrence of Weekly to come" in said
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    assert meeting.state is MeetingState.ENDED
    assert await bench.store.pending_jobs(mid) == []
    assert "has no occurrence still to come" in texts(await bench.say(alice, f"cancel {mid}"))


async def test_end_of_a_series_that_is_not_running_points_to_cancel(bench: Bench):
    alice = person("alice")
    await bench.say(alice, 'create Daily --start "tomorrow 9:00" --repeat daily')
    said = texts(await bench.say(alice, "end Daily"))
    assert "is not running now" in said
    assert "/meet cancel" in said
