"""Reminders: due ones are posted to the meeting's channel once, survive a restart, and a failed
post is retried with backoff. The announcer is the real Slack adapter on a fake Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.slack.app import SlackAdapter
from bot.scheduler import MAX_ATTEMPTS, JobLoop
from commands.model import Platform
from commands.schedule.jobs import JobHandlers
from commands.service import MeetingService
from commands.store import JobKind, MeetingStore
from commands.watch import MeetingWatch
from tests.adapters.fake_slack import FakeSlack, blocks_text, slack_adapter, slack_bench
from tests.commands.conftest import Bench, person

ALICE = person("alice")


@pytest.fixture
async def setup(tmp_path) -> AsyncIterator[tuple[Bench, FakeSlack, SlackAdapter]]:
    async with slack_bench(tmp_path) as rig:
        yield rig


def loop_for(bench: Bench, adapter: SlackAdapter, store: MeetingStore | None = None) -> JobLoop:
    service = bench.service
    if store is not None:
        service = MeetingService(
            providers=bench.providers,
            store=store,
            policy=service.policy,
            default_provider="bigbluebutton",
            clock=bench.clock,
        )
    return JobLoop(JobHandlers(service), {Platform.SLACK: adapter}, bench.clock)


def reminders_in(fake: FakeSlack) -> list[str]:
    return [
        blocks_text(c.params)
        for c in fake.of("chat.postMessage")
        if "Reminder:" in str(c.params.get("text"))
    ]


async def test_a_due_reminder_is_posted_once_in_the_meetings_channel(setup):
    bench, fake, adapter = setup
    await bench.say(ALICE, 'create Standup --start "tomorrow 9:00" --remind 10')
    loop = loop_for(bench, adapter)
    assert await loop.tick() == 0, "not due yet"
    bench.clock.advance(hours=24, minutes=51)  # 08:51 the next day
    assert await loop.tick() == 1
    [posted] = [c.params for c in fake.of("chat.postMessage")]
    assert posted["channel"] == "C1"
    assert "Reminder: Standup starts in 9 min" in str(posted["text"])
    assert '"action_id": "meet_join"' in blocks_text(posted)
    assert await loop.tick() == 0, "sent once"


async def test_a_failed_post_is_retried_and_a_restart_loses_nothing(setup):
    bench, fake, adapter = setup
    await bench.say(ALICE, 'create Review --start "tomorrow 15:00" --remind 30')
    bench.clock.advance(hours=30, minutes=31)  # 14:31 the next day
    fake.errors["chat.postMessage"] = "channel_not_found"
    assert await loop_for(bench, adapter).tick() == 0
    del fake.errors["chat.postMessage"]
    bench.clock.advance(minutes=1)  # past the retry's backoff
    await bench.store.close()
    reopened = await MeetingStore.open(f"sqlite:///{bench.db}")
    try:
        assert await loop_for(bench, adapter, reopened).tick() == 1
    finally:
        await reopened.close()
    assert len(reminders_in(fake)) == 2, "one refused by Slack, then one posted"


async def test_reminders_of_deleted_or_started_meetings_are_dropped(setup):
    bench, fake, adapter = setup
    await bench.say(ALICE, 'create Gone --start "tomorrow 10:00" --remind 5')
    await bench.say(ALICE, 'create Early --start "tomorrow 11:00" --remind 5')
    await bench.say(ALICE, "delete Gone")
    bench.clock.advance(hours=24, minutes=50)  # 08:50: Early can be opened by its moderator
    await bench.say(ALICE, "join Early")
    bench.clock.advance(hours=3)
    await loop_for(bench, adapter).tick()
    assert reminders_in(fake) == []
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    left = await bench.store.pending_jobs(meeting.id)
    # Early runs: its attendance is sampled, and nothing else is left to do.
    assert [kind for kind, _due, _occurrence in left] == [JobKind.SAMPLE]


async def test_the_loop_stops_when_asked(setup):
    import asyncio

    bench, _fake, adapter = setup
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(loop_for(bench, adapter).run(stop), 5)


async def test_an_undeliverable_reminder_is_given_up_after_a_few_tries(setup):
    bench, fake, adapter = setup
    await bench.say(ALICE, 'create Lost --start "tomorrow 9:00" --remind 5')
    bench.clock.advance(hours=24, minutes=55)
    fake.errors["chat.postMessage"] = "not_in_channel"
    loop = loop_for(bench, adapter)
    for _ in range(MAX_ATTEMPTS + 2):
        await loop.run_due()
        bench.clock.advance(seconds=15 * 2**MAX_ATTEMPTS)  # past any backoff
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    assert JobKind.REMIND not in [kind for kind, *_ in await bench.store.pending_jobs(meeting.id)]
    assert len(reminders_in(fake)) == MAX_ATTEMPTS, "tried so often, then given up"


async def test_a_meeting_whose_time_is_up_is_ended_and_its_card_updated_in_place(setup):
    bench, fake, adapter = setup
    loop = JobLoop(
        JobHandlers(bench.service),
        {Platform.SLACK: adapter},
        bench.clock,
        watch=MeetingWatch(bench.service),
    )
    await bench.say(ALICE, 'create Lab --start "tomorrow 9:00" --remind 10 --duration 45m')
    bench.clock.advance(hours=24, minutes=51)
    assert await loop.tick() == 1  # the reminder card, remembered as the meeting's card
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    [card_ref] = await bench.store.card_refs(meeting.id)
    bench.clock.advance(minutes=9)
    await loop.tick()  # 09:00: it opens (a new post, remembered too)
    await bench.say(ALICE, "join Lab")
    bench.clock.advance(minutes=44)
    await loop.tick()
    assert fake.of("chat.update") == [], "not yet"

    bench.clock.advance(minutes=1)
    await loop.tick()
    updates = fake.of("chat.update")
    cards = await bench.store.card_refs(meeting.id)
    assert card_ref in cards
    assert len(updates) == len(cards), "every card of it, in place"
    update = updates[0]
    assert f"{update.params['channel']}/{update.params['ts']}" == card_ref
    assert "Lab ended: its 45 min were up; 1 link handed out." in str(update.params["text"])
    assert '"action_id": "meet_join"' not in blocks_text(update.params), "no Join on an ended card"
    await loop.tick()
    assert len(fake.of("chat.update")) == len(cards), "once"


async def test_a_meeting_that_ended_inside_the_room_while_the_bot_was_down_gets_its_final_card(
    setup,
):
    # The bot is down when the moderator ends the meeting inside BigBlueButton: the end
    # callback reaches nobody. The bot that starts again must still end it and fix its card.
    bench, fake, adapter = setup
    await bench.say(ALICE, 'create Lab --start "tomorrow 9:00" --remind 10')
    bench.clock.advance(hours=24, minutes=51)
    assert await loop_for(bench, adapter).tick() == 1  # the reminder card, remembered
    bench.clock.advance(minutes=9)
    await loop_for(bench, adapter).tick()  # 09:00: it opens
    await bench.say(ALICE, "join Lab")  # and runs on the provider
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    cards = await bench.store.card_refs(meeting.id)
    await adapter.close()
    await bench.store.close()  # the bot goes down

    bench.clock.advance(minutes=20)
    assert bench.sims.bigbluebutton.end_from_inside(meeting.room.room_id)

    reopened = await MeetingStore.open(f"sqlite:///{bench.db}")
    try:
        service = MeetingService(
            providers=bench.providers,
            store=reopened,
            policy=bench.service.policy,
            default_provider="bigbluebutton",
            clock=bench.clock,
        )
        bench.store, bench.service = reopened, service
        again = slack_adapter(bench, fake)
        loop = JobLoop(
            JobHandlers(service), {Platform.SLACK: again}, bench.clock, watch=MeetingWatch(service)
        )
        await loop.tick()  # its first round asks the provider about what runs
        await again.close()
        [after] = await reopened.find_meetings(bench.channel.tenant)
    finally:
        await reopened.close()
    assert after.state.value == "ended"
    updates = fake.of("chat.update")
    assert sorted(f"{u.params['channel']}/{u.params['ts']}" for u in updates) == sorted(cards)
    assert all("Lab was ended from inside the meeting" in str(u.params["text"]) for u in updates)
