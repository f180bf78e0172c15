"""Attendance on real parts: the sampling job while a meeting runs (driven by the injected
clock through the scheduler, never by sleeping), what is kept per session, the moderators'
summary and CSV, `/meet status` from the samples, and the ended card."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import httpx
import pytest

from commands.attendance.csvfile import guarded
from commands.model import ChatUser, MeetingState
from commands.replies import Attachment, Reply, Visibility
from commands.store import JobKind

from .conftest import Bench, Recorder, card_id, only, person, scheduler, texts

ALICE, BOB, CAROL, DAVE = person("alice"), person("bob"), person("carol"), person("dave")
PROVIDERS = ["bigbluebutton", "vconnct", "liveminutes"]
SAMPLE = timedelta(seconds=30)


def link(replies: list[Reply]) -> str:
    card = only(replies, Visibility.DIRECT)[0].card
    assert card is not None
    assert card.link is not None
    return card.link


async def opened(url: str) -> None:
    """What a person's browser does with their link: the provider counts them in."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=5) as browser:
        assert (await browser.get(url)).status_code == 200


def csv_rows(replies: list[Reply]) -> list[dict[str, str]]:
    [reply] = replies
    assert reply.visibility is Visibility.EPHEMERAL
    assert isinstance(reply.attachment, Attachment)
    assert reply.attachment.mime == "text/csv"
    return list(csv.DictReader(io.StringIO(reply.attachment.content.decode())))


async def two_of_three(bench: Bench, provider: str) -> tuple[str, dict[str, str]]:
    """Alice's meeting: bob, carol and dave take their links; bob and carol open them."""
    mid = card_id(
        await bench.say(ALICE, f"create Lecture --provider {provider} --invite @bob @carol @dave")
    )
    links = {who.display_name: link(await bench.say(who, "join Lecture")) for who in (BOB, CAROL)}
    await bench.say(DAVE, "join Lecture")  # takes his link, never opens it
    for url in links.values():
        await opened(url)
    return mid, links


async def sample_once(bench: Bench) -> None:
    """Move the clock to the next sample and let the scheduler run it."""
    bench.clock.advance(seconds=SAMPLE.total_seconds())
    await scheduler(bench, Recorder()).run_due()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_csv_lists_who_came_as_attendees_and_everyone_given_a_link(
    bench: Bench, provider: str
):
    mid, _links = await two_of_three(bench, provider)
    await sample_once(bench)
    for when in ("running", "ended"):
        rows = csv_rows(await bench.say(ALICE, f"attendance {mid} --csv"))
        came = {r["name"]: r for r in rows if r["attended"] == "yes"}
        assert set(came) == {"bob", "carol"}, (when, rows)
        assert all(r["joined at"].endswith("Z") for r in came.values()), rows
        linked = {r["name"] for r in rows if r["link given at"]}
        assert {"bob", "carol", "dave"} <= linked, rows
        dave = next(r for r in rows if r["name"] == "dave")
        assert (dave["attended"], dave["joined at"]) == ("no", "")
        assert came["bob"]["chat user"] == BOB.key
        assert came["bob"]["role"] == "attendee"
        assert came["bob"]["why"]
        await bench.say(ALICE, "end Lecture")


async def test_bigbluebutton_attendance_outlives_an_end_from_inside_once_sampled(bench: Bench):
    """Before sampling, a meeting ended inside the room before anyone asked left nothing:
    the server forgets its attendees at the end."""
    mid = card_id(await bench.say(ALICE, "create Seminar"))
    await opened(link(await bench.say(BOB, "join Seminar")))
    await sample_once(bench)
    assert bench.sims.bigbluebutton.end_from_inside(mid)
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    await bench.service.end_meeting(meeting, ended_on_provider=True)
    said = texts(await bench.say(ALICE, f"attendance {mid}"))
    assert "no longer knows" not in said
    assert "bob: attendee" in said


async def test_sampling_is_a_durable_job_rearmed_while_it_runs_and_dropped_at_the_end(
    bench: Bench,
):
    mid = card_id(await bench.say(ALICE, "create Club"))
    [(kind, due, _occurrence)] = await bench.store.pending_jobs(mid)
    assert (kind, due) == (JobKind.SAMPLE, bench.clock.now + SAMPLE)
    await opened(link(await bench.say(BOB, "join Club")))
    for _ in range(3):
        await sample_once(bench)
        [(kind, due, _occurrence)] = await bench.store.pending_jobs(mid)
        assert (kind, due) == (JobKind.SAMPLE, bench.clock.now + SAMPLE), "one row, re-armed"
    [session] = await bench.store.sessions(bench.channel.tenant, mid)
    [bob] = await bench.store.attendance_entries(bench.channel.tenant, mid, session.session_id)
    assert bob.last_seen - bob.first_seen == 2 * SAMPLE
    await bench.say(ALICE, "end Club")
    assert await bench.store.pending_jobs(mid) == [], "no sampling after the end"


async def test_a_failed_sample_logs_and_the_next_one_tries_again(
    bench: Bench, caplog: pytest.LogCaptureFixture
):
    mid = card_id(await bench.say(ALICE, "create Flaky --provider vconnct"))
    await opened(link(await bench.say(BOB, "join Flaky")))
    bench.sims.vconnct.faults.fail_next = 100
    with caplog.at_level(logging.INFO, logger="meetbot.schedule"):
        await sample_once(bench)
    [failed] = [r for r in caplog.records if "not sampled" in r.getMessage()]
    assert failed.levelno == logging.INFO
    [session] = await bench.store.sessions(bench.channel.tenant, mid)
    assert await bench.store.attendance_entries(bench.channel.tenant, mid, session.session_id) == []
    [(kind, due, _occurrence)] = await bench.store.pending_jobs(mid)
    assert (kind, due) == (JobKind.SAMPLE, bench.clock.now + SAMPLE), "tried again next time"
    bench.sims.vconnct.faults.clear()
    await sample_once(bench)
    seen = await bench.store.attendance_entries(bench.channel.tenant, mid, session.session_id)
    assert [entry.name for entry in seen] == ["bob"]


async def test_status_shows_who_is_in_now_and_the_csv_when_they_left(bench: Bench):
    await bench.say(ALICE, "create Chat --provider liveminutes")
    bob = link(await bench.say(BOB, "join Chat"))
    carol = link(await bench.say(CAROL, "join Chat"))
    await opened(bob)
    await opened(carol)
    await sample_once(bench)
    assert "In it now: bob, carol (2)" in texts(await bench.say(BOB, "status Chat"))
    await opened(carol + "/leave")  # carol quits the meeting
    bench.clock.advance(minutes=4)
    await sample_once(bench)
    status = texts(await bench.say(BOB, "status Chat"))
    assert "In it now: bob (1)" in status
    rows = {r["name"]: r for r in csv_rows(await bench.say(ALICE, "attendance Chat --csv"))}
    assert rows["carol"]["left at"].endswith("Z")
    assert rows["carol"]["minutes present"] == "0"
    assert rows["bob"]["left at"] == "", "still in"
    assert rows["bob"]["minutes present"] == "5"
    summary = texts(await bench.say(ALICE, "attendance Chat"))
    assert "bob: attendee, joined 08:00, still in, 5 min" in summary
    assert "carol: attendee, joined 08:00, left 08:00, 0 min" in summary


async def test_vconnct_says_who_joined_not_who_is_in(bench: Bench):
    await bench.say(ALICE, "create Talk --provider vconnct")
    await opened(link(await bench.say(BOB, "join Talk")))
    await sample_once(bench)
    status = texts(await bench.say(BOB, "status Talk"))
    assert "Joined so far: bob (1)" in status
    assert "does not tell who left" in status
    [bob] = [
        r for r in csv_rows(await bench.say(ALICE, "attendance Talk --csv")) if r["name"] == "bob"
    ]
    assert (bob["attended"], bob["left at"], bob["minutes present"]) == ("yes", "", "")


async def test_only_moderators_export_attendance(bench: Bench):
    await bench.say(ALICE, "create Private")
    refused = await bench.say(BOB, "attendance Private --csv")
    assert "Only moderators can see the attendance of Private" in texts(refused)
    assert all(reply.attachment is None for reply in refused)


async def test_csv_cells_that_a_spreadsheet_would_run_are_guarded(bench: Bench):
    mallory = ChatUser(BOB.tenant, "UMAL", '=HYPERLINK("http://evil","x")')
    await bench.say(ALICE, "create Sheet")
    await opened(link(await bench.say(mallory, "join Sheet")))
    await sample_once(bench)
    reply = (await bench.say(ALICE, "attendance Sheet --csv"))[0]
    assert reply.attachment is not None
    raw = reply.attachment.content.decode()
    assert "'=HYPERLINK" in raw
    assert "\n=HYPERLINK" not in raw
    assert ",=HYPERLINK" not in raw
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert guarded(cell) == "'" + cell
    assert guarded("bob") == "bob"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_ended_card_says_when_it_ran_who_came_and_who_ended_it(
    bench: Bench, provider: str
):
    await two_of_three(bench, provider)
    bench.clock.advance(minutes=42)
    [card_reply] = await bench.say(ALICE, "end Lecture")
    assert card_reply.visibility is Visibility.CHANNEL
    assert card_reply.card is not None
    fields = {f.name: f for f in card_reply.card.fields}
    assert fields["Started"].moment is not None
    assert fields["Ended"].moment is not None
    assert fields["Ended"].moment - fields["Started"].moment == timedelta(minutes=42)
    assert fields["Lasted"].value == "42 min"
    assert fields["Attendees"].value == "bob, carol (2)"
    assert fields["Links handed out"].value == "4", "alice, bob, carol, dave: apart"
    assert fields["Ended by"].value == "alice"
    assert "Attended: bob, carol (2)." in card_reply.text


async def test_an_end_by_the_clock_says_so_on_the_card(bench: Bench):
    recorder = Recorder()
    loop = scheduler(bench, recorder)
    await bench.say(ALICE, "create Lab --duration 30m")
    await opened(link(await bench.say(BOB, "join Lab")))
    bench.clock.advance(minutes=30)
    await loop.run_due()
    [(refresh, meeting, reply)] = recorder.take()
    assert refresh
    assert meeting.state is MeetingState.ENDED
    assert reply.card is not None
    fields = {f.name: f.value for f in reply.card.fields}
    assert fields["Ended by"] == "the clock (its 30 min were up)"
    assert fields["Attendees"] == "bob (1)"
    assert fields["Lasted"] == "30 min"


async def test_status_before_the_first_sample_asks_who_is_in(bench: Bench):
    # Just started: no sample yet. The status asks at once rather than say nothing of who is in.
    await bench.say(ALICE, "create Chat --provider liveminutes")
    await opened(link(await bench.say(BOB, "join Chat")))
    assert "In it now: bob (1)" in texts(await bench.say(BOB, "status Chat"))
