"""The whole meeting lifecycle at the command layer, on each provider's simulator.

create -> the creator's moderator link -> another user's attendee link -> that user's end is
refused -> the creator ends it; with the replies' visibility, recipients, roles and reasons, and
what the provider itself now says.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from commands.model import MeetingState
from commands.replies import ButtonAction, Reply, Visibility
from providers.base import RoomState

from .conftest import SLACK_T2, Bench, card_id, only, person

ALICE = person("alice")
BOB = person("bob")
URL = re.compile(r"https?://\S+")


def links_in(reply: Reply) -> set[str]:
    found = set(URL.findall(reply.text))
    if reply.card is not None:
        found |= {u for u in [reply.card.link, *(b.url for b in reply.card.buttons)] if u}
        for field in reply.card.fields:
            found |= set(URL.findall(field.value))
    return found


def dm_link(replies: list[Reply], user) -> tuple[str, Reply]:
    dms = [r for r in only(replies, Visibility.DIRECT) if r.recipient == user]
    assert len(dms) == 1, replies
    dm = dms[0]
    assert dm.secret
    assert dm.card is not None
    assert dm.card.link is not None
    return dm.card.link, dm


def field(reply: Reply, name: str) -> str:
    assert reply.card is not None
    return next(f.value for f in reply.card.fields if f.name == name)


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_lifecycle(bench: Bench, provider: str):
    created = await bench.say(ALICE, f'create "Algebra 101" --provider {provider} --record')

    channel = only(created, Visibility.CHANNEL)
    assert len(channel) == 1
    card = channel[0].card
    assert card is not None
    assert card.title == "Algebra 101"
    assert [b.label for b in card.buttons] == ["Join", "End"]
    assert not links_in(channel[0]), "a channel post never carries a link"
    meeting_id = card.meeting_id
    assert meeting_id is not None

    alice_link, alice_dm = dm_link(created, ALICE)
    assert field(alice_dm, "Role") == "moderator"
    assert field(alice_dm, "Why") == "creator of the meeting"
    assert any("sent you a direct message" in r.text for r in only(created, Visibility.EPHEMERAL))

    joined = await bench.say(BOB, "join Algebra 101")
    bob_link, bob_dm = dm_link(joined, BOB)
    assert field(bob_dm, "Role") == "attendee"
    assert bob_link != alice_link
    assert not only(joined, Visibility.CHANNEL)

    meeting = await bench.store.get_meeting(bench.channel.tenant, meeting_id)
    assert meeting is not None
    assert meeting.state is MeetingState.RUNNING
    room = meeting.room
    if provider == "bigbluebutton":
        assert parse_qs(urlsplit(alice_link).query)["role"] == ["MODERATOR"]
        assert parse_qs(urlsplit(bob_link).query)["role"] == ["VIEWER"]
        assert parse_qs(urlsplit(bob_link).query)["userID"] == [BOB.key]
    elif provider == "vconnct":
        assert room.moderator_password is not None
        assert room.moderator_password in alice_link
        assert room.attendee_password is not None
        assert room.attendee_password in bob_link
        assert room.moderator_password not in bob_link
    else:
        assert alice_link == room.host_url
        assert bob_link != room.host_url

    # Both links really work: the simulators record whoever opens them.
    async with httpx.AsyncClient(follow_redirects=True) as client:
        for link in (alice_link, bob_link):
            assert (await client.get(link)).status_code == 200

    refused = await bench.say(BOB, "end Algebra 101")
    assert [r.visibility for r in refused] == [Visibility.EPHEMERAL]
    assert "Only moderators can end Algebra 101" in refused[0].text
    assert "attendee (default)" in refused[0].text
    status = await bench.providers[provider].status(room)
    assert status.state is RoomState.RUNNING, "a refused end changes nothing"

    ended = await bench.say(ALICE, "end")
    assert [r.visibility for r in ended] == [Visibility.CHANNEL]
    assert "alice ended Algebra 101" in ended[0].text
    assert ended[0].card is not None
    assert ended[0].card.buttons == ()
    meeting = await bench.store.get_meeting(bench.channel.tenant, meeting_id)
    assert meeting is not None
    assert meeting.state is MeetingState.ENDED
    status = await bench.providers[provider].status(room)
    # VConnct rooms outlive their sessions: after the end the room is there, not running.
    assert not status.running

    log = await bench.store.join_log(bench.channel.tenant, meeting_id)
    assert [(e.user_key, e.role.value, e.reason) for e in log] == [
        (ALICE.key, "moderator", "creator of the meeting"),
        (BOB.key, "attendee", "default"),
    ]


async def test_another_tenant_cannot_see_join_or_end(bench: Bench):
    created = await bench.say(ALICE, "create Secret plans")
    card = only(created, Visibility.CHANNEL)[0].card
    assert card is not None
    meeting_id = card.meeting_id
    assert meeting_id is not None
    mallory = person("mallory", tenant=SLACK_T2)
    elsewhere = bench.channel.__class__(SLACK_T2, "C1")  # same channel id, other workspace
    for text in (
        "join Secret plans",
        f"join {meeting_id}",
        f"end {meeting_id}",
        f"status {meeting_id}",
        "list --all --ended",
        "end",
    ):
        replies = await bench.say(mallory, text, elsewhere)
        assert all(r.visibility is Visibility.EPHEMERAL for r in replies)
        assert not any(links_in(r) for r in replies)
        answer = " ".join(r.text for r in replies)
        assert answer.startswith(("No meeting", "There is no open meeting")), answer
        assert "alice" not in answer
        assert "running" not in answer
    clicked = await bench.router.click(mallory, elsewhere, ButtonAction.JOIN, meeting_id)
    assert not any(links_in(r) for r in clicked)
    meeting = await bench.store.get_meeting(bench.channel.tenant, meeting_id)
    assert meeting is not None
    assert meeting.state is MeetingState.RUNNING


async def test_no_moderator_link_reaches_a_channel_or_an_attendee(bench: Bench):
    replies: list[Reply] = []
    for provider in ("bigbluebutton", "vconnct", "liveminutes"):
        replies += await bench.say(
            ALICE, f"create Class-{provider} --provider {provider} --invite <@{BOB.user_id}>"
        )
        replies += await bench.say(BOB, f"join Class-{provider}")
    moderator_links = {
        link
        for r in replies
        if r.visibility is Visibility.DIRECT and r.recipient == ALICE
        for link in links_in(r)
    }
    assert len(moderator_links) == 3
    for reply in replies:
        if reply.visibility is Visibility.CHANNEL:
            assert not links_in(reply)
        if reply.recipient == BOB or reply.visibility is Visibility.EPHEMERAL:
            assert not links_in(reply) & moderator_links
    invitations = [
        r
        for r in replies
        if r.recipient is not None and r.recipient.key == BOB.key and not r.secret
    ]
    assert len(invitations) == 3, "invitees get a Join button, not a pre-minted link"


async def test_hostile_title_is_kept_literally_and_pings_nobody(bench: Bench):
    from commands.render import escape_discord, escape_slack

    title = "<!channel> @everyone <@U123> **hi**"
    replies = await bench.say(ALICE, f'create "{title}"')
    post = only(replies, Visibility.CHANNEL)[0]
    assert post.card is not None
    assert post.card.title == title
    for text in (post.text, post.card.title):
        assert "<!" not in escape_slack(text)
        assert not re.search(r"@(everyone|here|channel)\b", escape_slack(text))
        assert not re.search(r"@(everyone|here)\b|<@\w", escape_discord(text))


async def test_restart_keeps_meetings_and_links_still_work(bench: Bench, tmp_path):
    from commands.store import MeetingStore

    await bench.say(ALICE, "create Persistent --provider vconnct")
    await bench.store.close()
    bench.store = await MeetingStore.open(f"sqlite:///{bench.db}")
    bench.service.store = bench.store
    from commands.router import CommandRouter

    bench.router = CommandRouter(bench.service)
    joined = await bench.say(BOB, "join Persistent")
    link, dm = dm_link(joined, BOB)
    assert field(dm, "Role") == "attendee"
    async with httpx.AsyncClient(follow_redirects=True) as client:
        assert (await client.get(link)).status_code == 200


def live_rooms(bench: Bench, provider: str) -> list[str]:
    """What each simulator still holds as a meeting people could use."""
    if provider == "bigbluebutton":
        return [k for k, m in bench.sims.bigbluebutton.meetings.items() if not m.ended]
    if provider == "vconnct":
        return list(bench.sims.vconnct.meetings)
    return [k for k, m in bench.sims.liveminutes.meetings.items() if m.live]


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_a_meeting_that_cannot_be_recorded_is_taken_back_from_the_provider(
    bench: Bench, provider: str
):
    # A real SQLite failure on the real file: every insert into meetings is refused.
    with closing(sqlite3.connect(bench.db)) as db, db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON meetings "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    replies = await bench.say(
        ALICE, f'create "Lost" --provider {provider} --start "in 2h" --remind 10'
    )
    assert [r.visibility for r in replies] == [Visibility.EPHEMERAL]
    assert "Lost could not be saved, so it was not created" in replies[0].text
    assert live_rooms(bench, provider) == []
    assert await bench.store.next_due() is None, "no job was planned for it"
    assert await bench.store.find_meetings(bench.channel.tenant) == []


async def test_cards_remembered_at_once_are_all_kept(bench: Bench):
    # A reminder's card and a command's card remembered at the same moment: each read the
    # meeting's list of cards and wrote it back with its own added, and all but one were lost.
    meeting_id = card_id(await bench.say(ALICE, "create Standup"))
    tenant = bench.channel.tenant
    refs = [f"C1/{index}.0" for index in range(10)]
    await asyncio.gather(*(bench.service.remember_card(tenant, meeting_id, r) for r in refs))
    assert set(await bench.service.card_refs(tenant, meeting_id)) == set(refs)
    await bench.service.remember_card(SLACK_T2, meeting_id, "C9/9.0")  # not theirs: nothing
    assert "C9/9.0" not in await bench.service.card_refs(tenant, meeting_id)
