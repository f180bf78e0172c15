"""Recordings found by polling, on the real simulators and the real job loop, with the clock
moved by hand: a BigBlueButton recording that takes three hours to process is posted once,
under the meeting's card; VConnct's is posted after the session ends; nothing about
recordings is asked or shown where the operator turned them off."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from bot.scheduler import JobLoop
from commands.model import Conversation
from commands.recordings.poll import next_poll
from commands.recordings.rules import RecordingRules
from commands.replies import ButtonAction, Reply, Visibility
from commands.store import JobKind

from .conftest import (
    SLACK_T2,
    Bench,
    Recorder,
    bbb_on_the_bench_clock,
    only,
    person,
    scheduler,
    texts,
)
from .conftest import card_id as meeting_id

ALICE, BOB = person("alice"), person("bob")
CAROL_T2 = person("carol", SLACK_T2)


async def attended(bench: Bench, title: str, flags: str = "--record") -> str:
    """A meeting that Bob really joined (BigBlueButton records only then)."""
    mid = meeting_id(await bench.say(ALICE, f"create {title} {flags}"))
    joined = await bench.say(BOB, f"join {title}")
    link = only(joined, Visibility.DIRECT)[0].card.link  # type: ignore[union-attr]
    assert link is not None
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        assert (await browser.get(link)).status_code == 200
    return mid


async def run_until(bench: Bench, loop: JobLoop, until: datetime) -> list[datetime]:
    """Move the clock to each due job up to `until` and run it there; the moments run."""
    ran = []
    while (due := await bench.store.next_due()) is not None and due <= until:
        bench.clock.now = max(bench.clock.now, due)
        ran.append(bench.clock.now)
        await loop.run_due()
    bench.clock.now = until
    return ran


def polls(bench: Bench) -> int:
    return sum(1 for call, _ in bench.sims.bigbluebutton.received if call == "getRecordings")


def buttons(reply: Reply) -> dict[str, tuple[ButtonAction, str | None, str | None]]:
    assert reply.card is not None
    return {b.label: (b.action, b.meeting_id, b.value) for b in reply.card.buttons}


async def test_a_recording_ready_three_hours_after_the_end_is_posted_once(bench: Bench):
    bbb_on_the_bench_clock(bench, timedelta(hours=3))
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = await attended(bench, "Lecture")
    await bench.say(ALICE, "end Lecture")
    ended = bench.clock.now
    [(kind, due, _occurrence)] = await bench.store.pending_jobs(mid)
    assert (kind, due) == (JobKind.POLL_RECORDINGS, ended)

    ran = await run_until(bench, loop, ended + timedelta(hours=3) - timedelta(minutes=1))
    assert recorder.posts == []  # still processing at every look
    minutes = [round((at - ended).total_seconds() / 60) for at in ran]
    # Backoff: at once, then 1, 2, 4 ... minutes later, at most an hour apart.
    assert minutes == [0, 1, 2, 4, 8, 16, 32, 64, 124]

    await run_until(bench, loop, ended + timedelta(hours=3, minutes=30))
    [(meeting, reply)] = recorder.under
    assert meeting.id == mid
    assert reply.visibility is Visibility.CHANNEL
    assert reply.text == "The recording of Lecture is ready."
    [recording] = bench.sims.bigbluebutton.recordings.values()
    assert buttons(reply)["Watch"] == (ButtonAction.OPEN, None, None)
    assert buttons(reply)["Unpublish"][:2] == (ButtonAction.UNPUBLISH_RECORDING, mid)
    assert recording.record_id in str(reply.card)
    # Posted: the poll is done, and a day on nothing is asked or posted again.
    assert await bench.store.pending_jobs(mid) == []
    asked = polls(bench)
    await run_until(bench, loop, ended + timedelta(days=2))
    assert polls(bench) == asked
    assert len(recorder.under) == 1


async def test_a_recording_never_made_is_looked_for_until_poll_hours_then_given_up(bench: Bench):
    bench.service.recordings = RecordingRules(poll_for=timedelta(hours=6))
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    # --record, but nobody but the creator's link was taken: BigBlueButton records nothing.
    mid = meeting_id(await bench.say(ALICE, "create Empty --record"))
    await bench.say(ALICE, "end Empty")
    ended = bench.clock.now
    ran = await run_until(bench, loop, ended + timedelta(days=1))
    assert ran[-1] == ended + timedelta(hours=6)  # the last look, at the deadline
    assert await bench.store.pending_jobs(mid) == []
    assert recorder.posts == []


def test_backoff_doubles_from_a_minute_up_to_an_hour():
    ended = datetime(2026, 1, 1, 8, 0).astimezone()
    waits = []
    now = ended
    for _ in range(10):
        later = next_poll(ended, now)
        waits.append(round((later - now).total_seconds() / 60))
        now = later
    assert waits == [1, 1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_vconnct_recording_is_posted_after_the_session_ends(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = meeting_id(await bench.say(ALICE, "create Seminar --provider vconnct --record"))
    await bench.say(ALICE, "end Seminar")
    await loop.tick()
    [(meeting, reply)] = recorder.under
    assert meeting.id == mid
    # VConnct cannot publish or delete recordings: only Watch.
    assert list(buttons(reply)) == ["Watch"]
    await run_until(bench, loop, bench.clock.now + timedelta(days=2))
    assert len(recorder.under) == 1
    assert await bench.store.pending_jobs(mid) == []


async def test_no_poll_where_nothing_can_be_recorded(bench: Bench):
    plain = meeting_id(await bench.say(ALICE, "create Plain"))
    chat = meeting_id(await bench.say(ALICE, "create Chat --provider liveminutes"))
    await bench.say(ALICE, "end Plain")
    await bench.say(ALICE, "end Chat")
    assert await bench.store.pending_jobs(plain) == []
    assert await bench.store.pending_jobs(chat) == []


async def test_the_recording_buttons_are_for_moderators(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = await attended(bench, "Lecture")
    await bench.say(ALICE, "end Lecture")
    await loop.tick()
    [(_meeting, reply)] = recorder.under
    action, button_meeting, value = buttons(reply)["Unpublish"]
    assert button_meeting == mid
    assert value is not None
    [recording] = bench.sims.bigbluebutton.recordings.values()

    refused = await bench.router.click(BOB, bench.channel, action, mid, value)
    assert [r.visibility for r in refused] == [Visibility.EPHEMERAL]
    assert "Only moderators can unpublish recordings of Lecture" in texts(refused)
    assert recording.state == "published"
    # Someone of another workspace pressing a copy of it finds nothing.
    elsewhere = await bench.router.click(CAROL_T2, bench.channel, action, mid, value)
    assert recording.state == "published"
    assert [r.visibility for r in elsewhere] == [Visibility.EPHEMERAL]
    forged = await bench.router.click(ALICE, bench.channel, action, "other", value)
    assert "no recording I know" in texts(forged)

    done = await bench.router.click(ALICE, bench.channel, action, mid, value)
    assert texts(done) == f"Recording {recording.record_id} of Lecture: unpublished."
    assert recording.state == "unpublished"
    publish = buttons(reply)["Publish"]
    await bench.router.click(ALICE, bench.channel, publish[0], mid, publish[2])
    assert recording.state == "published"
    delete = buttons(reply)["Delete"]
    await bench.router.click(ALICE, bench.channel, delete[0], mid, delete[2])
    assert recording.state == "deleted"


async def test_recordings_turned_off_are_neither_asked_for_nor_shown(bench: Bench):
    bench.service.recordings = RecordingRules(enabled=False)
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    sim = bench.sims.bigbluebutton
    for flags in ("--record", "--auto-start-recording", "--allow-start-stop-recording"):
        refused = texts(await bench.say(ALICE, f"create Lecture {flags}"))
        assert f"Recordings are turned off here, so {flags} cannot be used" in refused
    assert await bench.store.find_meetings(bench.channel.tenant) == []
    assert [call for call, _ in sim.received] == []  # the provider was not even asked

    mid = await attended(bench, "Lecture", "")
    refused = texts(await bench.say(ALICE, "settings Lecture --record"))
    assert "Recordings are turned off here" in refused
    assert "Recordings are turned off here" in texts(await bench.say(BOB, "recordings Lecture"))
    assert "--lock-mic: on" in texts(await bench.say(ALICE, "settings Lecture --lock-mic"))
    await bench.say(ALICE, "end Lecture")
    assert await bench.store.pending_jobs(mid) == []
    await run_until(bench, loop, bench.clock.now + timedelta(days=2))
    assert "getRecordings" not in [call for call, _ in sim.received]
    assert recorder.under == []


async def test_turned_off_for_one_workspace_only(bench: Bench):
    bench.service.recordings = RecordingRules(tenants={"slack:T1": False})
    assert "turned off" in texts(await bench.say(ALICE, "create Off --record"))
    there = Conversation(SLACK_T2, "C9")
    made = await bench.say(CAROL_T2, "create On --record", there)
    assert only(made, Visibility.CHANNEL)[0].card is not None


async def test_switched_off_after_the_end_the_planned_poll_does_nothing(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    mid = await attended(bench, "Lecture")
    await bench.say(ALICE, "end Lecture")
    bench.service.recordings = RecordingRules(enabled=False)  # the operator restarted with it
    await loop.tick()
    assert recorder.under == []
    assert await bench.store.pending_jobs(mid) == []


async def test_a_poll_survives_a_restart_and_a_failed_post_is_tried_again(bench: Bench):
    bbb_on_the_bench_clock(bench, timedelta(hours=1))
    mid = await attended(bench, "Lecture")
    await bench.say(ALICE, "end Lecture")
    ended = bench.clock.now

    class Down(Recorder):
        async def reply_under(self, meeting, reply):
            raise ConnectionError("Slack is down")

    down = Down()
    await run_until(bench, scheduler(bench, down), ended + timedelta(hours=1, minutes=30))
    assert down.under == []
    # The job is in the store: a new loop (a restarted bot) posts it, once.
    recorder = Recorder()
    await run_until(bench, scheduler(bench, recorder), ended + timedelta(hours=3))
    assert len(recorder.under) == 1
    assert await bench.store.pending_jobs(mid) == []


async def test_two_posters_racing_for_one_recording_claim_it_once(bench: Bench):
    mid = meeting_id(await bench.say(ALICE, "create Lecture"))
    now = bench.clock.now
    other = await bench.store.with_own_connections()  # as a second process would
    try:
        claims = await asyncio.gather(
            *(
                (bench.store if i % 2 else other).claim_recording(mid, "rec-1", f"p{i}", now)
                for i in range(20)
            )
        )
    finally:
        await other.close()
    [winner] = [(i, c) for i, c in enumerate(claims) if c is not None]
    poster, claim = winner[0], winner[1]
    assert claim is not None
    # Its poster died before posting: nobody else may post it until the claim's lease ends.
    assert await bench.store.claim_recording(mid, "rec-1", "late", now) is None
    later = now + timedelta(minutes=3)
    taken = await bench.store.claim_recording(mid, "rec-1", "late", later)
    assert taken == claim
    assert not await bench.store.recording_posted(claim, f"p{poster}", later)  # lost it
    assert await bench.store.recording_posted(claim, "late", later)
    assert await bench.store.claim_recording(mid, "rec-1", "late", later) is None
    assert await bench.store.is_recording_posted(mid, "rec-1")
    assert await bench.store.posted_recording(claim) == (mid, "rec-1")


async def test_a_recording_posted_by_the_first_callbacks_is_not_posted_again(bench: Bench):
    mid = meeting_id(await bench.say(ALICE, "create Lecture"))
    await bench.store.set_value(f"recordings.posted.{mid}.rec-1", "posted")
    assert await bench.store.claim_recording(mid, "rec-1", "p", bench.clock.now) is None
    assert await bench.store.is_recording_posted(mid, "rec-1")
