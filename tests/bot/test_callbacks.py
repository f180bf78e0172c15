"""Provider callbacks on the real inbound server: the simulated BigBlueButton calls back as a
real server does (the end of a meeting ended inside the room; a recording once processed), and
forged, altered, unsigned or replayed callbacks are refused and change nothing."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import jwt
import pytest

from bot.server import InboundServer
from bot.simulated import DEMO_BBB_SECRET
from commands.lifecycle.callbacks import ProviderCallbacks
from commands.lifecycle.urls import TOKEN_KEY, CallbackUrls
from commands.model import MeetingState, Platform
from commands.recordings.rules import RecordingRules
from commands.replies import Visibility
from tests.commands.conftest import (
    Bench,
    Recorder,
    bbb_on_the_bench_clock,
    bench,
    card_id,
    only,
    person,
    scheduler,
)

__all__ = ["bench"]

ALICE, BOB = person("alice"), person("bob")


@dataclass
class Rig:
    bench: Bench
    server: InboundServer
    url: str
    recorder: Recorder
    http: httpx.AsyncClient

    async def until(self, condition, seconds: float = 2.0) -> None:
        """Wait (on the loopback callbacks, never on the clock) until `condition()` holds."""
        for _ in range(int(seconds / 0.02)):
            if condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("not within the time allowed")


@pytest.fixture
async def rig(bench: Bench) -> AsyncIterator[Rig]:
    recorder = Recorder()
    server = InboundServer(ProviderCallbacks(bench.service), {Platform.SLACK: recorder})
    port = await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}"
    bench.service.callbacks = CallbackUrls(url)
    async with httpx.AsyncClient(follow_redirects=True, timeout=5) as http:
        try:
            yield Rig(bench, server, url, recorder, http)
        finally:
            await bench.sims.bigbluebutton.callbacks.settle()
            await server.close()


async def attended_meeting(rig: Rig, title: str = "Lecture") -> str:
    """A recorded BigBlueButton meeting that Bob really joined."""
    mid = card_id(await rig.bench.say(ALICE, f"create {title} --record"))
    link = only(await rig.bench.say(BOB, f"join {title}"), Visibility.DIRECT)[0].card.link  # type: ignore[union-attr]
    assert link is not None
    assert (await rig.http.get(link)).status_code == 200
    return mid


async def test_healthz(rig: Rig):
    answer = await rig.http.get(f"{rig.url}/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


async def test_a_meeting_ended_inside_the_room_updates_its_card_within_two_seconds(rig: Rig):
    mid = await attended_meeting(rig)
    sent = rig.bench.sims.bigbluebutton.meetings[mid].params
    assert sent["meta_endCallbackUrl"].startswith(f"{rig.url}/callbacks/bigbluebutton/{mid}/")
    rig.bench.sims.bigbluebutton.end_from_inside(mid)
    await rig.until(lambda: any(r for r, _m, _p in rig.recorder.posts))
    [(refresh, meeting, reply)] = [p for p in rig.recorder.posts if p[0]]
    assert refresh
    assert meeting.state is MeetingState.ENDED
    assert "was ended from inside the meeting" in reply.text
    stored = await rig.bench.store.get_meeting(rig.bench.channel.tenant, mid)
    assert stored is not None
    assert stored.state is MeetingState.ENDED


async def test_forged_or_unknown_end_callbacks_change_nothing(rig: Rig):
    mid = card_id(await rig.bench.say(ALICE, "create Standup"))
    base = f"{rig.url}/callbacks/bigbluebutton/{mid}/ended"
    for query in ("", "?token=guess", "?token="):
        assert (await rig.http.get(base + query)).status_code == 401
    other = f"{rig.url}/callbacks/bigbluebutton/no-such-meeting/ended?token=x"
    assert (await rig.http.get(other)).status_code == 404
    stored = await rig.bench.store.get_meeting(rig.bench.channel.tenant, mid)
    assert stored is not None
    assert stored.state is MeetingState.RUNNING
    assert rig.recorder.posts == []
    # The real token, said again after the meeting ended: fine, and nothing happens twice.
    token = stored.room.extra[TOKEN_KEY]
    assert (await rig.http.get(f"{base}?token={token}")).status_code == 200
    assert (await rig.http.get(f"{base}?token={token}")).status_code == 200
    assert len(rig.recorder.posts) == 1


async def test_a_recording_is_posted_once_when_ready(rig: Rig):
    mid = await attended_meeting(rig)
    await rig.bench.say(ALICE, "end Lecture")
    await rig.until(lambda: any("recording of Lecture is ready" in t for t in rig.recorder.texts()))
    [(meeting, reply)] = rig.recorder.under  # under the meeting's card
    assert meeting.id == mid
    assert reply.visibility is Visibility.CHANNEL
    assert reply.card is not None
    labels = [b.label for b in reply.card.buttons]
    assert labels == ["Watch", "Publish", "Unpublish", "Delete"]
    # BigBlueButton says it again (a retry): posted once all the same.
    sim = rig.bench.sims.bigbluebutton
    [recording] = sim.recordings.values()
    signed = jwt.encode(
        {"meeting_id": mid, "record_id": recording.record_id}, DEMO_BBB_SECRET, algorithm="HS256"
    )
    again = await rig.http.post(
        f"{rig.url}/callbacks/bigbluebutton/{mid}/recording", data={"signed_parameters": signed}
    )
    assert again.status_code == 200
    assert len([t for t in rig.recorder.texts() if "recording of" in t]) == 1


def unsigned(payload: dict[str, str]) -> str:
    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


async def test_forged_altered_and_unsigned_recording_callbacks_are_refused(rig: Rig):
    mid = await attended_meeting(rig)
    other = await attended_meeting(rig, "Other")
    url = f"{rig.url}/callbacks/bigbluebutton/{mid}/recording"
    good = jwt.encode({"meeting_id": mid, "record_id": "r1"}, DEMO_BBB_SECRET, algorithm="HS256")
    head, _body, signature = good.split(".")
    altered_body = base64.urlsafe_b64encode(
        json.dumps({"meeting_id": mid, "record_id": "r2"}).encode()
    ).decode()
    forged = {
        "wrong secret": jwt.encode(
            {"meeting_id": mid, "record_id": "r1"}, "not-the-shared-secret-of-this-server!"
        ),
        "altered payload": f"{head}.{altered_body.rstrip('=')}.{signature}",
        "alg none": unsigned({"meeting_id": mid, "record_id": "r1"}),
        "another meeting's": jwt.encode(
            {"meeting_id": other, "record_id": "r1"}, DEMO_BBB_SECRET, algorithm="HS256"
        ),
        "garbage": "not-a-jwt",
    }
    for what, signed in forged.items():
        answer = await rig.http.post(url, data={"signed_parameters": signed})
        assert answer.status_code == 401, what
    assert (await rig.http.post(url, data={})).status_code == 401
    assert rig.recorder.posts == []


async def test_callback_and_poll_racing_post_the_recording_once(rig: Rig):
    """BigBlueButton takes three hours to process; when it is done, its callback and the
    poll job (run by the real loop on the moved clock) both find the recording at once."""
    bench, sim = rig.bench, rig.bench.sims.bigbluebutton
    bbb_on_the_bench_clock(bench, timedelta(hours=3))
    loop = scheduler(bench, rig.recorder)
    mid = await attended_meeting(rig)
    await bench.say(ALICE, "end Lecture")
    await loop.tick()  # the first look: still processing
    assert rig.recorder.under == []
    bench.clock.advance(hours=3, minutes=5)
    # The loop's look (its getRecordings finishes the processing, and the server calls back
    # at that moment) and the callback race.
    await asyncio.gather(loop.tick(), sim.callbacks.settle())
    await sim.callbacks.settle()
    [recording] = sim.callbacks.sent[-1:]
    assert (recording.kind, recording.status) == ("recording", 200)
    await loop.tick()
    assert len(rig.recorder.under) == 1
    assert await bench.store.pending_jobs(mid) == []


async def test_callback_first_then_the_poll_posts_nothing_more(rig: Rig):
    bench, sim = rig.bench, rig.bench.sims.bigbluebutton
    bbb_on_the_bench_clock(bench, timedelta(hours=3))
    loop = scheduler(bench, rig.recorder)
    mid = await attended_meeting(rig)
    await bench.say(ALICE, "end Lecture")
    bench.clock.advance(hours=3)
    sim.process_due()  # processed: the server calls back before the poll looks
    await rig.until(lambda: len(rig.recorder.under) == 1)
    for _ in range(3):
        bench.clock.advance(hours=1)
        await loop.tick()
    assert len(rig.recorder.under) == 1
    assert await bench.store.pending_jobs(mid) == []


async def test_recordings_turned_off_a_valid_callback_is_answered_and_posts_nothing(rig: Rig):
    mid = await attended_meeting(rig)
    rig.bench.service.recordings = RecordingRules(enabled=False)
    await rig.bench.say(ALICE, "end Lecture")
    await rig.bench.sims.bigbluebutton.callbacks.settle()
    statuses = [(s.kind, s.status) for s in rig.bench.sims.bigbluebutton.callbacks.sent]
    assert ("recording", 200) in statuses
    assert rig.recorder.under == []
    assert await rig.bench.store.pending_jobs(mid) == []
    # A forged one is refused all the same.
    forged = jwt.encode(
        {"meeting_id": mid, "record_id": "r1"}, "not-the-shared-secret-of-this-server!"
    )
    url = f"{rig.url}/callbacks/bigbluebutton/{mid}/recording"
    assert (await rig.http.post(url, data={"signed_parameters": forged})).status_code == 401


async def test_the_card_of_a_meeting_ended_inside_names_who_came_and_that_it_ended_inside(
    rig: Rig,
):
    mid = await attended_meeting(rig)
    rig.bench.clock.advance(seconds=30)
    await scheduler(rig.bench, Recorder()).run_due()  # the attendance sample: Bob is in
    rig.bench.clock.advance(minutes=20)
    rig.bench.sims.bigbluebutton.end_from_inside(mid)  # the server forgets its attendees
    await rig.until(lambda: any(r for r, _m, _p in rig.recorder.posts))
    [(_refresh, _meeting, reply)] = [p for p in rig.recorder.posts if p[0]]
    assert reply.card is not None
    fields = {f.name: f.value for f in reply.card.fields}
    assert fields["Ended by"] == "from inside the meeting"
    assert fields["Attendees"] == "bob (1)"
    assert fields["Links handed out"] == "2"
    assert fields["Lasted"] == "20 min"
