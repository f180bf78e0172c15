"""A real discord.py client logged in against a loopback fake Discord REST API; raw interaction
payloads are fed through the client's state, and we assert on the HTTP the fake received."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from adapters.discord import DiscordAdapter, invite_url
from adapters.discord.group import build_group
from bot.metrics import Metrics
from bot.scheduler import JobLoop
from commands.model import Platform, Tenant
from commands.policy import RolePolicy, RolePolicyConfig
from commands.render import escape_discord
from commands.schedule.jobs import JobHandlers
from commands.spec import MEET
from tests.adapters.discord_rig import (
    ALICE,
    BOB,
    CHANNEL,
    EPHEMERAL,
    GUILD,
    DiscordRig,
    next_id,
    open_rig,
)
from tests.adapters.fake_discord import APP_ID, meet_command, member
from tests.bot.test_observability import samples, value

FIXTURE = Path(__file__).parent / "fixtures" / "discord_meet_command.json"


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[DiscordRig]:
    async with open_rig(tmp_path) as the_rig:
        yield the_rig


def link_of(message: dict[str, Any]) -> str:
    found = re.search(r"https?://\S+", message.get("content", ""))
    assert found is not None, message
    return found.group(0)


async def test_create_defers_posts_a_card_and_dms_the_creator(rig: DiscordRig):
    fake = rig.fake
    interaction = rig.command("create", {"title": "Algebra 101", "record": True})
    await fake.wait_until(lambda: bool(rig.dms(ALICE[0])) and bool(rig.followups(interaction)))
    deferred = rig.callback(interaction)
    assert deferred["type"] == 5
    assert deferred["data"]["flags"] & EPHEMERAL

    card = fake.messages_to(CHANNEL)
    assert len(card) == 1
    assert card[0]["embeds"][0]["title"] == "Algebra 101"
    custom_ids = [c["custom_id"] for row in card[0]["components"] for c in row["components"]]
    assert custom_ids[0].startswith("meet:join:")
    assert custom_ids[0].endswith(f":{GUILD}")
    assert "http" not in json.dumps(card[0])

    dm = rig.dms(ALICE[0])[0]
    assert parse_qs(urlsplit(link_of(dm)).query)["role"] == ["MODERATOR"]
    assert fake.find("POST", "/users/@me/channels")[0].body == {"recipient_id": int(ALICE[0])}
    note = rig.followups(interaction)[0]
    assert note["flags"] & EPHEMERAL
    assert "direct message" in note["content"]
    for request in fake.find("POST", "/channels/") + fake.find("POST", "/webhooks/"):
        assert request.body["allowed_mentions"] == {"parse": []}


async def test_a_scheduled_cards_start_shows_in_each_readers_own_zone(rig: DiscordRig):
    rig.command("create", {"title": "Review", "start": "2026-12-01 14:30"})
    await rig.fake.wait_until(lambda: bool(rig.fake.messages_to(CHANNEL)))
    fields = rig.fake.messages_to(CHANNEL)[0]["embeds"][0]["fields"]
    starts = next(f["value"] for f in fields if f["name"] == "Starts")
    epoch = int(datetime(2026, 12, 1, 14, 30, tzinfo=UTC).timestamp())  # no zone known: UTC
    assert starts == f"<t:{epoch}:F> (<t:{epoch}:R>)"


async def test_a_discord_user_sets_their_own_zone_and_their_dates_are_read_in_it(rig: DiscordRig):
    # Discord tells us no one's zone: /meet timezone keeps the one a person names.
    fake = rig.fake
    asked = rig.command("timezone", {"zone": "Berlin"})
    await fake.wait_until(lambda: bool(rig.followups(asked)))
    said = rig.followups(asked)[0]
    assert said["flags"] & EPHEMERAL
    assert "Your time zone is now Europe/Berlin" in said["content"]

    rig.command("create", {"title": "Review", "start": "2026-12-01 14:30"})
    await fake.wait_until(lambda: bool(fake.messages_to(CHANNEL)))
    fields = fake.messages_to(CHANNEL)[0]["embeds"][0]["fields"]
    starts = next(f["value"] for f in fields if f["name"] == "Starts")
    epoch = int(datetime(2026, 12, 1, 13, 30, tzinfo=UTC).timestamp())  # 14:30 in Berlin
    assert starts == f"<t:{epoch}:F> (<t:{epoch}:R>)"

    shown = rig.command("timezone", {})
    await fake.wait_until(lambda: bool(rig.followups(shown)))
    # Discord markdown is escaped: the parentheses come with backslashes.
    assert r"Europe/Berlin \(set with /meet timezone\)" in rig.followups(shown)[0]["content"]


async def test_join_button_works_for_each_presser_and_end_checks_roles(rig: DiscordRig):
    fake = rig.fake
    rig.command("create", {"title": "Standup"})
    await fake.wait_until(lambda: bool(fake.messages_to(CHANNEL)))
    custom_ids = [
        c["custom_id"]
        for row in fake.messages_to(CHANNEL)[0]["components"]
        for c in row["components"]
    ]
    join_id, end_id = custom_ids

    pressed = rig.press(join_id, BOB)
    await fake.wait_until(lambda: bool(rig.dms(BOB[0])))
    assert parse_qs(urlsplit(link_of(rig.dms(BOB[0])[0])).query)["role"] == ["VIEWER"]
    assert rig.callback(pressed)["type"] == 5

    refused = rig.press(end_id, BOB)
    await fake.wait_until(lambda: bool(rig.followups(refused)))
    assert "Only moderators can end Standup" in rig.followups(refused)[0]["content"]

    ended = rig.command("end", {"meeting": "Standup"})
    await fake.wait_until(lambda: bool(fake.find("PATCH", f"/channels/{CHANNEL}/messages/")))
    edit = fake.find("PATCH", f"/channels/{CHANNEL}/messages/")[0].body
    assert "ended" in edit["content"]
    assert edit["components"] == [], "the ended card loses its buttons"
    await fake.wait_until(lambda: bool(fake.find("DELETE", f"/webhooks/{APP_ID}/tok{ended}")))


async def test_buttons_keep_working_after_a_restart(rig: DiscordRig):
    fake = rig.fake
    rig.command("create", {"title": "Weekly"})
    await fake.wait_until(lambda: bool(fake.messages_to(CHANNEL)))
    join_id = fake.messages_to(CHANNEL)[0]["components"][0]["components"][0]["custom_id"]
    await rig.adapter.close()

    # A new process: a fresh client and adapter on the same store; the old message's button.
    restarted = DiscordAdapter(
        rig.bench.router, store=rig.bench.store, clock=rig.bench.clock, guilds=(int(GUILD),)
    )
    await restarted.client.login("test-token")
    rig.adapter = restarted
    pressed = rig.press(join_id, BOB)
    await fake.wait_until(lambda: bool(rig.dms(BOB[0])))
    assert rig.callback(pressed)["type"] == 5
    assert parse_qs(urlsplit(link_of(rig.dms(BOB[0])[0])).query)["role"] == ["VIEWER"]


async def test_a_card_is_updated_in_place_when_the_meeting_ends_by_itself(rig: DiscordRig):
    fake = rig.fake
    created = rig.command("create", {"title": "Sprint", "duration": "30m"})
    await fake.wait_until(lambda: bool(rig.followups(created)))  # the card is remembered
    rig.bench.clock.advance(minutes=30)
    loop = JobLoop(JobHandlers(rig.bench.service), {Platform.DISCORD: rig.adapter}, rig.bench.clock)
    # The end job edits the card (the attendance sample due before it runs too, or finds
    # the meeting ended).
    assert await loop.run_due() >= 1
    [edit] = fake.find("PATCH", f"/channels/{CHANNEL}/messages/")
    assert "Sprint ended: its 30 min were up" in edit.body["content"]
    assert edit.body["components"] == [], "no buttons on an ended card"
    assert edit.body["allowed_mentions"] == {"parse": []}


async def test_closed_dm_falls_back_to_an_ephemeral_followup_once(rig: DiscordRig):
    fake = rig.fake
    fake.closed_dms.add(ALICE[0])
    interaction = rig.command("create", {"title": "Private", "provider": "vconnct"})
    await fake.wait_until(
        lambda: any(
            "could not send you" in f.get("content", "") for f in rig.followups(interaction)
        )
    )
    fallback = next(f for f in rig.followups(interaction) if "could not send" in f["content"])
    assert fallback["flags"] & EPHEMERAL
    assert "api/join" in fallback["content"]
    assert len(fake.messages_to(fake.dm_channel(ALICE[0]))) == 1, "a closed DM is not retried"


async def test_dm_invitation_button_checks_server_membership(rig: DiscordRig):
    fake = rig.fake
    rig.command("create", {"title": "Club"})
    await fake.wait_until(lambda: bool(fake.messages_to(CHANNEL)))
    join_id = fake.messages_to(CHANNEL)[0]["components"][0]["components"][0]["custom_id"]
    stranger = rig.press(join_id, ("503", "eve"), in_dm=True)
    await fake.wait_until(lambda: bool(rig.followups(stranger)))
    assert "not a member" in rig.followups(stranger)[0]["content"]
    fake.members[(GUILD, BOB[0])] = member(BOB[0], "bob")
    invited = rig.press(join_id, BOB, in_dm=True)
    await fake.wait_until(lambda: bool(rig.dms(BOB[0])))
    assert "attendee" in rig.dms(BOB[0])[0]["content"]
    assert invited


async def test_manage_events_permission_moderates(rig: DiscordRig):
    config = RolePolicyConfig.model_validate(
        {"rules": [{"discord_permissions": ["manage_events"]}]}
    )
    rig.bench.service.policy = RolePolicy(config)
    rig.command("create", {"title": "Event"})
    await rig.fake.wait_until(lambda: bool(rig.dms(ALICE[0])))
    rig.command(
        "join",
        {"meeting": "Event"},
        who=BOB,
        permissions=discord.Permissions(manage_events=True).value,
    )
    await rig.fake.wait_until(lambda: bool(rig.dms(BOB[0])))
    assert r"Discord permission manage\_events" in rig.dms(BOB[0])[0]["content"]


async def test_hostile_title_cannot_mention(rig: DiscordRig):
    rig.command("create", {"title": "@everyone <@&123> **now**"})
    await rig.fake.wait_until(lambda: bool(rig.fake.messages_to(CHANNEL)))
    post = rig.fake.messages_to(CHANNEL)[0]
    assert post["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in post["content"]
    assert "<@&123>" not in post["content"]


async def test_commands_are_synced_once_and_not_again_when_unchanged(rig: DiscordRig):
    puts = rig.fake.find("PUT", f"/applications/{APP_ID}/guilds/{GUILD}/commands")
    assert len(puts) == 1
    await rig.adapter.sync(rig.adapter.tree)
    assert len(rig.fake.find("PUT", f"/applications/{APP_ID}/guilds/")) == 1


def test_command_tree_matches_the_checked_in_fixture_and_the_spec(tmp_path):
    async def run(
        _interaction: discord.Interaction, _name: str, _values: dict[str, object]
    ) -> None:
        return None

    async def suggest(
        _interaction: discord.Interaction, _typed: str
    ) -> list[discord.app_commands.Choice[str]]:
        return []

    group = build_group(run, suggest)
    client = discord.Client(intents=discord.Intents.none())
    tree: discord.app_commands.CommandTree[Any] = discord.app_commands.CommandTree(client)
    tree.add_command(group)
    shown = group.to_dict(tree)
    assert shown == json.loads(FIXTURE.read_text()), (
        "the /meet command tree changed: review it and update the fixture"
    )
    # Meetings belong to a server: Discord does not offer /meet in DMs.
    assert shown["dm_permission"] is False
    assert shown["contexts"] == [0], "0: guild channels only"
    subs = {o["name"]: o for o in shown["options"]}
    assert list(subs) == [s.name for s in MEET]
    for sub in MEET:
        assert {o["name"] for o in subs[sub.name].get("options", [])} == {
            o.name for o in sub.options
        }


def test_invite_url_asks_for_the_bot_and_commands_scopes():
    url = invite_url(int(APP_ID))
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [APP_ID]
    assert query["scope"] == ["bot applications.commands"]
    permissions = discord.Permissions(int(query["permissions"][0]))
    assert permissions.send_messages
    assert permissions.embed_links
    assert not permissions.administrator


def test_the_invite_asks_for_events_permissions_only_when_they_are_on():
    def permissions(url: str) -> discord.Permissions:
        return discord.Permissions(int(parse_qs(urlsplit(url).query)["permissions"][0]))

    off = permissions(invite_url(int(APP_ID)))
    on = permissions(invite_url(int(APP_ID), events=True))
    assert not off.manage_events
    assert not off.create_events
    assert on.manage_events
    assert on.create_events
    assert on.send_messages
    assert not on.administrator
    assert (
        on.value & ~off.value == discord.Permissions(manage_events=True, create_events=True).value
    )


async def test_autocomplete_offers_this_servers_open_meetings(rig: DiscordRig):
    rig.command("create", {"title": "Algebra 101"})
    await rig.fake.wait_until(lambda: bool(rig.fake.messages_to(CHANNEL)))
    interaction_id = next_id()
    payload = meet_command(
        interaction_id, "join", {"meeting": "alg"}, BOB, GUILD, CHANNEL, focused="meeting"
    )
    rig.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]  # a raw gateway payload
    await rig.fake.wait_until(
        lambda: bool(rig.fake.find("POST", f"/interactions/{interaction_id}/"))
    )
    answer = rig.callback(interaction_id)
    assert answer["type"] == 8
    assert [c["name"] for c in answer["data"]["choices"]] == ["Algebra 101 (running)"]


@pytest.mark.parametrize("sub", [s.name for s in MEET])
async def test_every_subcommand_is_deferred_and_answered(rig: DiscordRig, sub: str):
    rig.command("create", {"title": "Weekly", "provider": "vconnct"})
    await rig.fake.wait_until(lambda: bool(rig.dms(ALICE[0])))
    options: dict[str, Any] = (
        {"meeting": "Weekly"}
        if any(o.name == "meeting" for o in next(s for s in MEET if s.name == sub).options)
        else {}
    )
    if sub == "create":
        options = {"title": "Another"}
    elif sub == "remove":
        options["user"] = f"<@{BOB[0]}>"
    interaction = rig.command(sub, options)
    webhook = f"/webhooks/{APP_ID}/tok{interaction}"
    await rig.fake.wait_until(
        lambda: bool(rig.fake.find("POST", webhook) or rig.fake.find("DELETE", webhook))
    )
    assert rig.callback(interaction)["type"] == 5
    for followup in rig.followups(interaction):
        assert "went wrong" not in followup["content"], followup["content"]
        assert followup["flags"] & EPHEMERAL


async def test_a_closed_dm_is_remembered_and_not_tried_again_soon(rig: DiscordRig):
    fake = rig.fake
    fake.closed_dms.add(ALICE[0])
    first = rig.command("create", {"title": "One", "provider": "liveminutes"})
    await fake.wait_until(
        lambda: any("could not send you" in f.get("content", "") for f in rig.followups(first))
    )
    second = rig.command("join", {"meeting": "One"})
    await fake.wait_until(
        lambda: any("could not send you" in f.get("content", "") for f in rig.followups(second))
    )
    assert len(fake.messages_to(fake.dm_channel(ALICE[0]))) == 1, "the second link was not tried"
    rig.adapter.monotonic = lambda: float("inf")  # an hour later
    third = rig.command("join", {"meeting": "One"})
    await fake.wait_until(
        lambda: any("could not send you" in f.get("content", "") for f in rig.followups(third))
    )
    assert len(fake.messages_to(fake.dm_channel(ALICE[0]))) == 2


async def test_a_slash_command_in_a_dm_is_refused_privately_and_changes_nothing(rig: DiscordRig):
    # /meet registered globally can be typed in a DM, where no server says whose meetings.
    fake = rig.fake
    asked = [
        rig.command("create", {"title": "Secret plans"}, who=BOB, in_dm=True),
        rig.command("list", {"all": True}, who=ALICE, in_dm=True),
        rig.command("join", {"meeting": "Secret plans"}, who=ALICE, in_dm=True),
    ]
    await fake.wait_until(lambda: all(rig.followups(i) for i in asked))
    for interaction_id in asked:
        [answer] = rig.followups(interaction_id)
        assert answer["flags"] & EPHEMERAL
        assert "in a direct message I cannot tell which server" in answer["content"]
    assert not rig.bench.sims.bigbluebutton.meetings, "no provider room was made"
    for tenant in ("None", GUILD):
        stored = await rig.bench.store.find_meetings(Tenant(Platform.DISCORD, tenant))
        assert stored == [], "nothing was stored"
    assert not fake.messages_to(fake.dm_channel(ALICE[0])), "nobody got a link"


async def test_help_still_answers_in_a_dm(rig: DiscordRig):
    asked = rig.command("help", {"topic": "create"}, in_dm=True)
    await rig.fake.wait_until(lambda: bool(rig.followups(asked)))
    [answer] = rig.followups(asked)
    assert answer["flags"] & EPHEMERAL
    assert "/meet create" in answer["content"]


@pytest.mark.parametrize(
    ("invite", "said"),
    [
        ("@everyone", "invite takes @mentions of people, not '@everyone'"),
        ("<@U1>", "@U1 is not a member of this server"),  # a Slack-style mention
        ("<@503>", "<@503> is not a member of this server"),  # an id, but nobody of this server
    ],
)
async def test_inviting_someone_who_is_not_a_member_is_a_clear_refusal(
    rig: DiscordRig, invite: str, said: str
):
    asked = rig.command("create", {"title": "Club", "invite": invite})
    await rig.fake.wait_until(lambda: bool(rig.followups(asked)))
    [answer] = rig.followups(asked)
    assert "went wrong" not in answer["content"]
    assert escape_discord(said) in answer["content"]
    assert not rig.bench.sims.bigbluebutton.meetings, "nothing was created"


async def test_an_invited_member_is_looked_up_and_gets_an_invitation(rig: DiscordRig):
    rig.fake.members[(GUILD, BOB[0])] = member(BOB[0], "Bob B.")
    asked = rig.command("create", {"title": "Club", "invite": f"<@{BOB[0]}>"})
    await rig.fake.wait_until(lambda: bool(rig.dms(BOB[0])) and bool(rig.followups(asked)))
    assert "invites you to Club" in rig.dms(BOB[0])[0]["content"]
    assert rig.fake.find("GET", f"/guilds/{GUILD}/members/{BOB[0]}")


async def test_invite_words_that_are_not_mentions_are_a_usage_error(rig: DiscordRig):
    asked = rig.command("create", {"title": "Club", "invite": f"<@{BOB[0]}> <@&1> hello"})
    await rig.fake.wait_until(lambda: bool(rig.followups(asked)))
    [answer] = rig.followups(asked)
    assert "invite takes @mentions of people" in answer["content"]
    assert not rig.bench.sims.bigbluebutton.meetings


async def test_someone_who_left_the_server_can_still_be_removed(rig: DiscordRig):
    rig.command("create", {"title": "Club"})
    await rig.fake.wait_until(lambda: bool(rig.dms(ALICE[0])))
    asked = rig.command("remove", {"meeting": "Club", "user": "<@503>"})
    await rig.fake.wait_until(lambda: bool(rig.followups(asked)))
    assert "Removed" in rig.followups(asked)[0]["content"]


async def test_card_titles_are_escaped_like_all_user_text(rig: DiscordRig):
    rig.command("create", {"title": "@everyone <@&123> **now** [x](https://evil.example)"})
    await rig.fake.wait_until(lambda: bool(rig.fake.messages_to(CHANNEL)))
    [embed] = rig.fake.messages_to(CHANNEL)[0]["embeds"]
    assert embed["title"] == escape_discord("@everyone <@&123> **now** [x](https://evil.example)")
    for live in ("<@&123>", "**now**", "](", "@everyone"):
        assert live not in embed["title"]


async def test_a_recording_replies_to_the_card_and_its_buttons_are_for_moderators(
    rig: DiscordRig,
):
    import httpx

    fake = rig.fake
    created = rig.command("create", {"title": "Lecture", "record": True})
    await fake.wait_until(lambda: bool(rig.followups(created)))
    card = fake.messages_to(CHANNEL)[0]
    join_id = card["components"][0]["components"][0]["custom_id"]
    rig.press(join_id, BOB)
    await fake.wait_until(lambda: bool(rig.dms(BOB[0])))
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        assert (await browser.get(link_of(rig.dms(BOB[0])[0]))).status_code == 200
    ended = rig.command("end", {"meeting": "Lecture"})
    await rig.answered(ended)

    loop = JobLoop(JobHandlers(rig.bench.service), {Platform.DISCORD: rig.adapter}, rig.bench.clock)
    await loop.tick()
    [posted] = [m for m in fake.messages_to(CHANNEL) if "recording of Lecture" in m["content"]]
    [ref] = await rig.bench.service.card_refs(Tenant(Platform.DISCORD, GUILD), card_id(card))
    assert str(posted["message_reference"]["message_id"]) == ref.partition("/")[2]
    assert posted["allowed_mentions"] == {"parse": []}
    ids = [c["custom_id"] for c in posted["components"][0]["components"] if "custom_id" in c]
    assert [i.split(":")[1] for i in ids] == ["rec-publish", "rec-unpublish", "rec-delete"]
    assert all(len(i) <= 100 for i in ids)

    refused = rig.press(ids[1], BOB)
    await rig.answered(refused)
    assert "Only moderators can unpublish" in rig.followups(refused)[0]["content"]
    [recording] = rig.bench.sims.bigbluebutton.recordings.values()
    assert recording.state == "published"
    done = rig.press(ids[1], ALICE)
    await rig.answered(done)
    assert "unpublished" in rig.followups(done)[0]["content"]
    assert recording.state == "unpublished"


def card_id(message: dict[str, Any]) -> str:
    """The meeting id a card's Join button carries."""
    return str(message["components"][0]["components"][0]["custom_id"].split(":")[2])


async def test_the_defer_and_a_closed_dm_are_counted_and_readiness_waits_for_the_gateway(
    rig: DiscordRig,
):
    metrics = Metrics()
    rig.bench.router.telemetry = metrics
    rig.fake.closed_dms.add(ALICE[0])
    interaction = rig.command("create", {"title": "Counted"})
    await rig.fake.wait_until(
        lambda: any(
            "could not send you" in f.get("content", "") for f in rig.followups(interaction)
        )
    )
    _families, found = samples(metrics.exposition().decode())
    assert value(found, "meetbot_ack_seconds_count", platform="discord") == 1
    assert value(found, "meetbot_dm_fallbacks_total", platform="discord") == 1
    assert value(found, "meetbot_commands_total", subcommand="create", outcome="ok") == 1
    # Logged in over REST, but this rig never opens the gateway: not ready for /readyz.
    assert await rig.adapter.not_ready() == "gateway not ready"
