"""Meetings that end by the clock (the scheduler's end jobs) or on their provider (the watch),
on real parts, with the card each one should now show, and what happens when the provider
cannot be asked."""

from __future__ import annotations

import pytest

from commands.model import MeetingState
from commands.replies import Visibility
from commands.watch import MeetingWatch
from providers._http import RetryPolicy

from .conftest import Bench, Recorder, only, person, scheduler

ALICE = person("alice")
BOB = person("bob")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def meeting_id(replies) -> str:
    card = only(replies, Visibility.CHANNEL)[0].card
    assert card is not None
    assert card.meeting_id is not None
    return card.meeting_id


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_a_meeting_ends_when_its_duration_is_up(bench: Bench, provider: str):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = meeting_id(await bench.say(ALICE, f"create Lab --provider {provider} --duration 30m"))
    await bench.say(BOB, "join Lab")
    bench.clock.advance(minutes=29)
    await loop.run_due()  # only an attendance sample is due: nothing is posted
    assert recorder.take() == []

    bench.clock.advance(minutes=1)
    await loop.run_due()
    [(refresh, meeting, reply)] = recorder.take()
    assert refresh, "the card is updated in place"
    assert meeting.id == mid
    assert meeting.state is MeetingState.ENDED
    assert reply.visibility is Visibility.CHANNEL
    assert reply.text == (
        "Lab ended: its 30 min were up; 2 links handed out. Attended: nobody was seen in it."
    )
    assert reply.card is not None
    assert reply.card.buttons == (), "an ended card has no Join or End"
    stored = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert stored is not None
    assert stored.state is MeetingState.ENDED
    assert not (await bench.providers[provider].status(stored.room)).running
    assert await loop.run_due() == 0, "once"


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_a_meeting_ended_on_its_provider_is_ended_here(bench: Bench, provider: str):
    watch = MeetingWatch(bench.service)
    mid = meeting_id(await bench.say(ALICE, f"create Club --provider {provider}"))
    assert await watch.sweep(bench.clock.now) == []
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    await bench.providers[provider].end(meeting.room)  # a moderator ends it inside the meeting

    watch = MeetingWatch(bench.service)  # a fresh watch asks the provider at once
    [update] = await watch.sweep(bench.clock.now)
    assert update.reply.text == (
        "Club was ended from inside the meeting; 1 link handed out. "
        "Attended: nobody was seen in it."
    )
    stored = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert stored is not None
    assert stored.state is MeetingState.ENDED


async def test_a_repeating_meeting_waits_for_its_next_occurrence(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    await bench.say(ALICE, 'create Standup --start "tomorrow 9:00" --repeat daily --duration 15m')
    bench.clock.advance(hours=25)  # 09:00 tomorrow
    await loop.run_due()  # it opens
    await bench.say(ALICE, "join Standup")
    bench.clock.advance(minutes=15)
    recorder.take()
    await loop.run_due()
    [(_refresh, meeting, reply)] = recorder.take()
    assert meeting.state is MeetingState.SCHEDULED
    assert "its 15 min were up" in reply.text
    assert "Next: Fri 27 Nov 2026 09:00 (UTC)." in reply.text


async def test_the_provider_is_asked_at_most_once_a_minute(bench: Bench):
    ticks = Ticks()
    watch = MeetingWatch(bench.service, status_every=60, monotonic=ticks)
    await bench.say(ALICE, "create Quiet --provider vconnct")
    sim = bench.sims.vconnct  # it keeps the headers of the last request it answered
    await watch.sweep(bench.clock.now)
    assert sim.last_headers, "asked at once"
    sim.last_headers.clear()
    ticks.now += 30
    await watch.sweep(bench.clock.now)
    assert sim.last_headers == {}, "not asked again within the minute"
    ticks.now += 31
    await watch.sweep(bench.clock.now)
    assert sim.last_headers, "asked again after a minute"


async def test_a_provider_that_is_down_changes_nothing(bench: Bench):
    watch = MeetingWatch(bench.service)
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = meeting_id(await bench.say(ALICE, "create Fragile --provider vconnct --duration 5m"))
    bench.providers["vconnct"]._http.retry = RetryPolicy(attempts=1)  # type: ignore[attr-defined]
    bench.sims.vconnct.faults.fail_next = 100
    assert await watch.sweep(bench.clock.now) == [], "status unknown: left as it is"
    bench.clock.advance(minutes=5)
    # Time is up but the end cannot reach the provider: the record ends all the same.
    await loop.run_due()
    [(_refresh, meeting, _reply)] = recorder.take()
    assert meeting.id == mid
    assert meeting.state is MeetingState.ENDED
    bench.sims.vconnct.faults.clear()
