"""Discord typed options, fuzzed through the real adapter: raw interactions into a real
discord.py client, answered over loopback HTTP to the fake Discord.

For every example: the interaction is deferred privately and answered, the router's catch-all
is never reached, nothing is logged as an error, and every message the bot sends (channel
cards, DMs, followups, edits) switches mentions off and carries no live mention in its text,
embeds or buttons. Some examples come from a DM, where only help answers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.model import Platform, Tenant
from commands.spec import SUBCOMMANDS, Kind, Subcommand
from tests.adapters.discord_rig import ALICE, BOB, EPHEMERAL, GUILD, DiscordRig, open_rig
from tests.adapters.fake_discord import member
from tests.reliability.meet_strategies import LIVE_ON_DISCORD, TITLES, live_mentions, typed_value

TENANT = Tenant(Platform.DISCORD, GUILD)
CAROL = ("503", "carol")  # not a member: the fake answers 404 for her
# Mentions as typed into a Discord string option: members, a stranger, and what is no one.
DISCORD_MENTIONS = st.sampled_from(
    (
        f"<@{BOB[0]}>",
        f"<@!{BOB[0]}>",
        f"<@{CAROL[0]}>",
        f"<@{BOB[0]}> <@{ALICE[0]}>",
        f"<@{BOB[0]}> <@&1>",
        "@everyone",
        "@here",
        "<@U1>",
        "<@&1>",
        "<@99999999999999999999999>",
        "hello",
    )
)
FUZZED = [SUBCOMMANDS[name] for name in ("create", "join", "settings", "remove", "list", "help")]


def discord_value(sub: Subcommand, name: str) -> st.SearchStrategy[object]:
    option = sub.option(name)
    assert option is not None
    return DISCORD_MENTIONS if option.kind is Kind.USERS else typed_value(option)


def typed(sub: Subcommand) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {o.name: discord_value(sub, o.name) for o in sub.options if o.required},
        optional={o.name: discord_value(sub, o.name) for o in sub.options if not o.required},
    )


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[DiscordRig]:
    async with open_rig(tmp_path) as the_rig:
        the_rig.fake.members[(GUILD, BOB[0])] = member(BOB[0], "@everyone <@&1> **Bob**")
        the_rig.fake.members[(GUILD, ALICE[0])] = member(ALICE[0], "alice")
        yield the_rig


def sent(request_body: Any) -> dict[str, Any]:
    """What a message to Discord shows: its text, embeds and components."""
    body = request_body if isinstance(request_body, dict) else {}
    return {k: body.get(k) for k in ("content", "embeds", "components")}


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.sampled_from(FUZZED).flatmap(lambda s: st.tuples(st.just(s.name), typed(s))),
    setup=st.lists(st.sampled_from(TITLES), max_size=1),
    who=st.sampled_from((ALICE, BOB)),
    from_dm=st.sampled_from((False, False, False, True)),
)
async def test_typed_options_through_the_adapter_answer_privately_and_ping_nobody(
    rig: DiscordRig,
    caplog: pytest.LogCaptureFixture,
    case: tuple[str, dict[str, object]],
    setup: list[str],
    who: tuple[str, str],
    from_dm: bool,
) -> None:
    for meeting in await rig.bench.store.find_meetings(TENANT, limit=1000):
        await rig.bench.store.delete_meeting(TENANT, meeting.id)
    for title in setup:
        await rig.answered(rig.command("create", {"title": title}))
    seen = len(rig.fake.requests)
    caplog.clear()
    name, options = case
    with caplog.at_level(logging.ERROR):
        interaction = rig.command(name, options, who=who, in_dm=from_dm)
        await rig.answered(interaction)
    assert rig.callback(interaction)["type"] == 5
    assert rig.callback(interaction)["data"]["flags"] & EPHEMERAL
    for followup in rig.followups(interaction):
        assert followup["flags"] & EPHEMERAL
        assert "went wrong" not in followup["content"], followup["content"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    for request in rig.fake.requests[seen:]:
        if request.method in ("POST", "PATCH") and (
            request.path.startswith("/channels/") or request.path.startswith("/webhooks/")
        ):
            assert request.body["allowed_mentions"] == {"parse": []}, request
            shown = sent(request.body)
            assert not live_mentions(shown, LIVE_ON_DISCORD), shown
