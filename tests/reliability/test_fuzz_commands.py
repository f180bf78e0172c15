"""Every subcommand's text, fuzzed from the spec: through the parser alone, and through the real
router on the simulators, rendered for Slack, Discord and the terminal.

Asserted for every example: nothing but a usage error escapes the parser and its values have
the types and bounds of their kinds; the router never reaches its catch-all ("Something went
wrong"); no rendered reply carries a live mention on any platform, nor a control or bidi
character in the terminal.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.console import ConsoleChat
from adapters.discord import DiscordAdapter
from adapters.slack.blocks import blocks_of, text_of
from bot.simulated import SimulatedProviders
from commands.errors import UsageError
from commands.model import ChatUser, Conversation, Platform, PlatformFacts, Tenant
from commands.parsing import Invocation, Mention, parse, parse_options
from commands.policy import RolePolicy, RolePolicyConfig
from commands.replies import Reply
from commands.spec import MEET, PROVIDERS, SETTING_FLAGS, Kind
from tests.commands.conftest import Bench, make_bench
from tests.reliability.meet_strategies import (
    ANY_COMMAND_LINE,
    LIVE_ON_DISCORD,
    LIVE_ON_SLACK,
    TITLES,
    live_mentions,
    terminal_unsafe,
    typed_options,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ZONES = st.sampled_from([ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")])
DISCORD_TENANT = Tenant(Platform.DISCORD, "420000000000000042")
PEOPLE = (
    ChatUser(Tenant(Platform.SLACK, "T1"), "UALICE", "alice", PlatformFacts(timezone="UTC")),
    ChatUser(Tenant(Platform.SLACK, "T1"), "UBOB", "bob", PlatformFacts(timezone="Asia/Tokyo")),
    ChatUser(Tenant(Platform.SLACK, "T1"), "UADMIN", "root", PlatformFacts(is_admin=True)),
    ChatUser(DISCORD_TENANT, "501", "carol"),
    ChatUser(Tenant(Platform.CONSOLE, "local"), "dave", "dave"),
)
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- the parser alone ----------------------------------------------------------------------------


def check_usage(error: UsageError) -> None:
    """A usage error says what is wrong and how the subcommand is written."""
    assert str(error)
    assert error.usage.startswith("/meet")


def check_invocation(invocation: Invocation) -> None:
    """Values of the types and bounds their kinds promise."""
    for name, value in invocation.values.items():
        option = invocation.sub.option(name)
        assert option is not None, name
        if option.kind in (Kind.TEXT, Kind.MEETING):
            assert isinstance(value, str)
            assert value == " ".join(value.split()), value
            assert value.isprintable(), value
            assert len(value) <= 500
        elif option.kind is Kind.USERS:
            assert isinstance(value, tuple)
            assert value
            assert all(isinstance(m, Mention) for m in value)
        elif option.kind is Kind.WHEN:
            assert isinstance(value, datetime)
            assert value.tzinfo is not None
            assert NOW - timedelta(minutes=1) <= value <= NOW + timedelta(days=366)
        elif option.kind is Kind.DURATION:
            assert isinstance(value, int)
            assert 1 <= value <= 7 * 24 * 60
        elif option.kind is Kind.MINUTES:
            assert isinstance(value, int)
            assert 0 <= value <= 10080
        elif option.kind is Kind.CHOICE:
            assert value in option.choices
        else:
            assert isinstance(value, bool)
    assert set(invocation.settings) <= set(SETTING_FLAGS.values())


@settings(FUZZ, max_examples=1500)
@given(line=ANY_COMMAND_LINE, tz=ZONES)
def test_every_subcommands_text_parses_or_is_a_usage_error(line: str, tz: ZoneInfo) -> None:
    try:
        invocation = parse(line, now=NOW, tz=tz)
    except UsageError as error:
        check_usage(error)
        return
    check_invocation(invocation)


@settings(FUZZ, max_examples=600)
@given(
    sub=st.sampled_from(MEET).flatmap(lambda s: st.tuples(st.just(s), typed_options(s))),
    tz=ZONES,
)
def test_every_subcommands_typed_options_parse_or_are_a_usage_error(sub, tz: ZoneInfo) -> None:
    subcommand, options = sub
    try:
        invocation = parse_options(subcommand.name, options, now=NOW, tz=tz)
    except UsageError as error:
        check_usage(error)
        return
    check_invocation(invocation)


# -- through the router, rendered on every platform ----------------------------------------------


@dataclass
class Platforms:
    """The bench's router behind the terminal chat, and the real rendering of each adapter."""

    bench: Bench
    discord: DiscordAdapter
    out: io.StringIO = field(default_factory=io.StringIO)
    replies: list[Reply] = field(default_factory=list)  # what the terminal chat was answered
    console: ConsoleChat = field(init=False)

    def __post_init__(self) -> None:
        self.console = ConsoleChat(self.dispatch, self.bench.router.click, self.out)

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text("Platforms(<bench, Discord adapter, terminal chat>)")  # in failure reports

    async def say(self, who: ChatUser, where: Conversation, line: str) -> None:
        """`/meet LINE` typed into the terminal chat as `who` in `where`, checked everywhere."""
        self.console.user, self.console.where = who, where
        self.replies.clear()
        await self.console.handle(f"/meet {line}")
        self.check(self.replies)

    async def typed(
        self, who: ChatUser, where: Conversation, name: str, options: dict[str, object]
    ) -> None:
        """`/meet NAME` with typed options (the Discord way), checked everywhere."""
        replies = await self.bench.router.dispatch_options(who, where, name, options)
        self.console.user, self.console.where = who, where
        self.console.show(replies)
        self.check(replies)

    async def dispatch(self, who: ChatUser, where: Conversation, text: str) -> list[Reply]:
        replies = await self.bench.router.dispatch(who, where, text)
        self.replies.extend(replies)
        return replies

    def check(self, replies: list[Reply]) -> None:
        assert replies, "every command gets an answer"
        event("a usage error" if "Usage: /meet" in replies[0].text else "an answer")
        for reply in replies:
            assert "went wrong" not in reply.text, reply.text
            slack = {"text": text_of(reply), "blocks": blocks_of(reply)}
            assert not live_mentions(slack, LIVE_ON_SLACK), (reply.text, slack)
            discord = self.discord.message(reply, DISCORD_TENANT)
            shown = {
                "content": discord["content"],
                "embed": discord["embed"].to_dict() if "embed" in discord else None,
                "buttons": [item.to_component_dict() for item in discord["view"].children]
                if "view" in discord
                else [],
            }
            assert not live_mentions(shown, LIVE_ON_DISCORD), (reply.text, shown)
        terminal = self.out.getvalue()
        assert not terminal_unsafe(terminal), repr(terminal)
        self.out.seek(0)
        self.out.truncate()


@pytest.fixture
async def platforms(tmp_path) -> AsyncIterator[Platforms]:
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        adapter = DiscordAdapter(bench.router, store=bench.store, clock=bench.clock)
        the_platforms = Platforms(bench, adapter)
        try:
            yield the_platforms
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()


# A few meetings to act on, so join/end/settings/... also reach the provider.
SETUP = st.sampled_from([f'create "{t}" --provider {p}' for t in TITLES for p in PROVIDERS])


async def fresh(platforms: Platforms, setup: list[str], creator: ChatUser) -> None:
    """Forget earlier examples' meetings (or titles turn ambiguous), then create `setup`'s."""
    store = platforms.bench.store
    for tenant in {person.tenant for person in PEOPLE}:
        for meeting in await store.find_meetings(tenant, limit=1000):
            await store.delete_meeting(tenant, meeting.id)
    for line in setup:
        await platforms.say(creator, Conversation(creator.tenant, "C1"), line)


@settings(FUZZ, max_examples=150)
@given(
    setup=st.lists(SETUP, max_size=2),
    lines=st.lists(ANY_COMMAND_LINE, min_size=1, max_size=3),
    creator=st.sampled_from(PEOPLE),
    who=st.sampled_from(PEOPLE),
    channel=st.sampled_from(("C1", "C2")),
)
async def test_every_subcommand_through_the_router_answers_and_pings_nobody(
    platforms: Platforms,
    setup: list[str],
    lines: list[str],
    creator: ChatUser,
    who: ChatUser,
    channel: str,
) -> None:
    await fresh(platforms, setup, creator)
    for line in lines:
        await platforms.say(who, Conversation(who.tenant, channel), line)


@settings(FUZZ, max_examples=100)
@given(
    sub=st.sampled_from(MEET).flatmap(lambda s: st.tuples(st.just(s), typed_options(s))),
    setup=st.lists(SETUP, max_size=1),
    creator=st.sampled_from(PEOPLE),
    who=st.sampled_from(PEOPLE),
)
async def test_typed_options_through_the_router_answer_and_ping_nobody(
    platforms: Platforms, sub, setup: list[str], creator: ChatUser, who: ChatUser
) -> None:
    await fresh(platforms, setup, creator)
    subcommand, options = sub
    await platforms.typed(who, Conversation(who.tenant, "C1"), subcommand.name, options)
