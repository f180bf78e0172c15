"""Replies that say what really happened, and records that hold what is really so: removal
takes access away, a half-made meeting is told as such, ended means ended, and each provider's
limits are said instead of silently skipped."""

from __future__ import annotations

import asyncio

import httpx
from aiohttp import web

from commands.model import MeetingState
from commands.replies import ButtonAction, Reply, Visibility
from providers._http import RetryPolicy
from providers.base import RoomState

from .conftest import Bench, card_id, only, person, texts

ALICE = person("alice")
BOB = person("bob")


def link(replies: list[Reply]) -> str:
    card = only(replies, Visibility.DIRECT)[0].card
    assert card is not None
    assert card.link is not None
    return card.link


async def test_a_removed_person_gets_no_new_link_on_any_provider(bench: Bench):
    for provider in ("bigbluebutton", "vconnct", "liveminutes"):
        mid = card_id(await bench.say(ALICE, f"create Class-{provider} --provider {provider}"))
        await bench.say(BOB, f"join Class-{provider}")
        removed = texts(
            await bench.say(ALICE, f"remove Class-{provider} --user <@{BOB.user_id}|bob>")
        )
        assert "Removed bob" in removed
        for again in (
            await bench.say(BOB, f"join Class-{provider}"),
            await bench.router.click(BOB, bench.channel, ButtonAction.JOIN, mid),
        ):
            assert not only(again, Visibility.DIRECT), f"{provider}: a removed person got a link"
            assert "removed you from" in texts(again)
        other = card_id(await bench.say(ALICE, f"create Other-{provider} --provider {provider}"))
        pressed = await bench.router.click(BOB, bench.channel, ButtonAction.JOIN, other)
        assert only(pressed, Visibility.DIRECT), "removal is from that meeting only"


async def test_removal_says_plainly_whether_the_old_link_still_works(bench: Bench):
    await bench.say(ALICE, "create Lab")  # BigBlueButton: a signed link cannot be taken back
    await bench.say(BOB, "join Lab")
    said = texts(await bench.say(ALICE, f"remove Lab --user <@{BOB.user_id}|bob>"))
    assert "cannot take back" in said
    assert "until this session ends" in said

    await bench.say(ALICE, "create Chat --provider liveminutes")
    old = link(await bench.say(BOB, "join Chat"))
    said = texts(await bench.say(ALICE, f"remove Chat --user <@{BOB.user_id}|bob>"))
    assert "no longer works" in said
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(old)).status_code == 404, "LiveMinutes really revoked it"

    await bench.say(ALICE, "create Quiz --provider vconnct")
    said = texts(await bench.say(ALICE, f"remove Quiz --user <@{BOB.user_id}|bob>"))
    assert "had no link yet" in said
    assert "cannot take back" not in said


async def test_the_creator_cannot_be_removed(bench: Bench):
    await bench.say(ALICE, "create Lab")
    said = texts(await bench.say(ALICE, f"remove Lab --user <@{ALICE.user_id}|alice>"))
    assert "cannot remove alice" in said
    assert only(await bench.say(ALICE, "join Lab"), Visibility.DIRECT)


def vconnct_answers_500(bench: Bench, step: str) -> None:
    """VConnct's `start` (open a session) or `join` (a personal link) fails from now on."""
    setattr(bench.sims.vconnct, step, lambda *_args: web.Response(status=500, text="down"))
    bench.providers["vconnct"]._http.retry = RetryPolicy(attempts=1)  # type: ignore[attr-defined]


async def test_a_meeting_created_but_not_opened_is_told_as_it_is(bench: Bench):
    vconnct_answers_500(bench, "_start")
    created = await bench.say(ALICE, "create Seminar --provider vconnct")
    said = texts(created)
    assert "Nothing was changed" not in said
    assert "not open yet" in said
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    assert meeting.state is MeetingState.SCHEDULED, "stored as it really is: made, not open"
    assert only(created, Visibility.CHANNEL), "the card is posted, so people can press Join"
    del bench.sims.vconnct._start  # VConnct is back
    assert only(await bench.say(ALICE, "join Seminar"), Visibility.DIRECT)
    assert len(await bench.store.find_meetings(bench.channel.tenant)) == 1, "no duplicate"


async def test_a_meeting_opened_without_the_creators_link_is_told_as_it_is(bench: Bench):
    vconnct_answers_500(bench, "_join")
    created = await bench.say(ALICE, "create Seminar --provider vconnct")
    said = texts(created)
    assert "Nothing was changed" not in said
    assert "your link could not be made" in said
    [meeting] = await bench.store.find_meetings(bench.channel.tenant)
    assert meeting.state is MeetingState.RUNNING, "the session is open on VConnct"
    assert "started Seminar" in texts(only(created, Visibility.CHANNEL))
    del bench.sims.vconnct._join
    assert only(await bench.say(ALICE, "join Seminar"), Visibility.DIRECT)


async def test_liveminutes_host_stepping_out_does_not_end_the_meeting(bench: Bench):
    mid = card_id(await bench.say(ALICE, "create Chat --provider liveminutes"))
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    bench.sims.liveminutes.meetings[mid].status = 11  # host quited
    status = await bench.providers["liveminutes"].status(meeting.room)
    assert status.state is not RoomState.ENDED
    said = texts(await bench.say(BOB, "status Chat"))
    assert "is running" in said
    assert only(await bench.say(BOB, "join Chat"), Visibility.DIRECT), "later joins still work"


async def test_an_end_counts_links_handed_out_not_people(bench: Bench):
    await bench.say(ALICE, "create Demo")
    await bench.say(BOB, "join Demo")
    ended = texts(await bench.say(ALICE, "end Demo"))
    assert "2 links handed out" in ended
    assert "joined" not in ended


async def test_bigbluebutton_attendance_after_the_end_is_what_was_seen_while_it_ran(bench: Bench):
    mid = card_id(await bench.say(ALICE, "create Lecture"))
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        await browser.get(link(await bench.say(BOB, "join Lecture")))
    assert "bob" in texts(await bench.say(ALICE, "attendance Lecture"))
    await bench.say(ALICE, "end Lecture")
    after = texts(await bench.say(ALICE, f"attendance {mid}"))
    assert "Nobody has joined" not in after
    assert "bob" in after

    # Nobody asked while this one ran, and the server forgot at its end: say so.
    other = card_id(await bench.say(ALICE, "create Seminar"))
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        await browser.get(link(await bench.say(BOB, "join Seminar")))
    bench.sims.bigbluebutton.meetings.pop(other)  # ended from inside, purged
    await bench.say(ALICE, f"end {other}")
    said = texts(await bench.say(ALICE, f"attendance {other}"))
    assert "BigBlueButton no longer knows" in said
    assert "links handed out" in said


async def test_bigbluebutton_attendance_of_a_past_session_is_not_the_current_one(bench: Bench):
    await bench.say(ALICE, 'create Daily --start "in 1h" --repeat daily')
    bench.clock.advance(hours=1)
    await bench.say(ALICE, "join Daily")
    first = (await bench.store.find_meetings(bench.channel.tenant))[0]
    [session] = await bench.store.sessions(bench.channel.tenant, first.id)
    await bench.say(ALICE, "end Daily")
    bench.clock.advance(days=1)
    await bench.say(ALICE, "join Daily")
    said = texts(await bench.say(ALICE, f"attendance Daily --session {session.session_id}"))
    assert session.session_id in said
    assert "alice" in said or "no longer knows" in said


async def test_ending_an_ended_meeting_is_refused_privately(bench: Bench):
    mid = card_id(await bench.say(ALICE, "create Demo"))
    await bench.say(ALICE, "end Demo")
    again = await bench.say(ALICE, f"end {mid}")
    assert [r.visibility for r in again] == [Visibility.EPHEMERAL]
    assert "already ended" in texts(again)
    pressed = await bench.router.click(ALICE, bench.channel, ButtonAction.END, mid)
    assert [r.visibility for r in pressed] == [Visibility.EPHEMERAL]


async def test_end_pressed_twice_at_once_ends_once(bench: Bench):
    for provider in ("bigbluebutton", "vconnct", "liveminutes"):
        mid = card_id(await bench.say(ALICE, f"create Race-{provider} --provider {provider}"))
        presses = await asyncio.gather(
            *(bench.router.click(ALICE, bench.channel, ButtonAction.END, mid) for _ in range(2))
        )
        posted = [r for replies in presses for r in only(replies, Visibility.CHANNEL)]
        assert len(posted) == 1, f"{provider}: {[texts(p) for p in presses]}"
        assert "already ended" in texts([r for p in presses for r in p])


async def test_settings_defaults_follow_the_channels_one_meeting(bench: Bench):
    await bench.say(ALICE, "create Seminar --provider vconnct")
    said = texts(await bench.say(ALICE, "settings --defaults"))
    assert said.startswith("VConnct defaults:")


async def test_liveminutes_says_which_settings_it_did_not_apply(bench: Bench):
    created = texts(
        await bench.say(ALICE, 'create Chat --provider liveminutes --record --welcome "Hi all"')
    )
    assert "not applied" in created
    assert "--record" in created
    assert "--welcome" in created
    plain = texts(await bench.say(ALICE, "create Chat2 --provider liveminutes"))
    assert "not applied" not in plain


async def test_a_vconnct_room_gone_on_the_server_can_still_be_deleted_here(bench: Bench):
    mid = card_id(await bench.say(ALICE, "create Temp --provider vconnct"))
    await bench.say(ALICE, "end Temp")
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    del bench.sims.vconnct.meetings[meeting.room.room_id]  # removed out of band
    deleted = await bench.say(ALICE, f"delete {mid}")
    assert [r.visibility for r in deleted] == [Visibility.CHANNEL]
    assert await bench.store.get_meeting(bench.channel.tenant, mid) is None
