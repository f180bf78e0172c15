"""Each person's own time zone: `/meet timezone`, kept in the store, between the platform's zone
and the tenant's default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from bot.simulated import SimulatedProviders
from commands.model import ChatUser, Conversation, Platform, PlatformFacts, Tenant
from commands.policy import RolePolicy, RolePolicyConfig, TenantOverride
from commands.store import MeetingStore
from commands.userzones import choose_zone

from .conftest import Bench, make_bench, texts

GUILD = Tenant(Platform.DISCORD, "G1")
HALL = Conversation(GUILD, "C5")
DANA = ChatUser(GUILD, "111", "dana")  # Discord tells us no one's zone
SAM = ChatUser(Tenant(Platform.SLACK, "T1"), "USAM", "sam", PlatformFacts(timezone="Asia/Tokyo"))


@pytest.fixture
async def server(tmp_path):
    """A bench whose Discord server has Europe/London as its default zone."""
    policy = RolePolicy(RolePolicyConfig(), {GUILD.key: TenantOverride(timezone="Europe/London")})
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, policy)
        try:
            yield bench
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()


async def test_a_discord_user_sets_their_zone_and_their_dates_are_read_in_it(server: Bench):
    said = texts(await server.say(DANA, "timezone", HALL))
    assert "Europe/London (this server's default)" in said
    assert "Set your own with /meet timezone ZONE" in said

    said = texts(await server.say(DANA, "timezone berlin", HALL))
    assert "Your time zone is now Europe/Berlin" in said
    assert "Wed 25 Nov 2026 09:00 (Europe/Berlin) there now" in said
    assert await server.store.user_zone(DANA.key) == "Europe/Berlin"
    assert "Europe/Berlin (set with /meet timezone)" in texts(
        await server.say(DANA, "timezone", HALL)
    )

    created = await server.say(DANA, 'create Review --start "tomorrow 14:30"', HALL)
    assert "Thu 26 Nov 2026 14:30 (Europe/Berlin)" in texts(created)
    [meeting] = await server.store.find_meetings(GUILD)
    assert meeting.schedule.start == datetime(2026, 11, 26, 13, 30, tzinfo=UTC)


async def test_reset_goes_back_to_the_servers_default_then_to_utc(tmp_path, server: Bench):
    await server.say(DANA, "timezone America/New_York", HALL)
    said = texts(await server.say(DANA, "timezone reset", HALL))
    assert "I forgot the time zone you set." in said
    assert "Europe/London (this server's default)" in said
    assert await server.store.user_zone(DANA.key) is None

    lone = ChatUser(Tenant(Platform.DISCORD, "G2"), "222", "lee")
    said = texts(await server.say(lone, "timezone", Conversation(lone.tenant, "C9")))
    assert "UTC (nobody set one)" in said


async def test_on_slack_the_profiles_zone_wins_and_the_reply_says_so(server: Bench):
    said = texts(await server.say(SAM, "timezone Europe/Berlin"))
    assert "Saved Europe/Berlin, but Slack tells me your zone is Asia/Tokyo, and that wins" in said
    assert "used only when Slack tells me none" in said
    assert "Asia/Tokyo (your Slack profile)" in texts(await server.say(SAM, "timezone"))
    created = await server.say(SAM, 'create Sync --start "tomorrow 9:00"')
    assert "(Asia/Tokyo)" in texts(created)
    # Slack named no zone for this person: the one they set is used.
    unknown = ChatUser(SAM.tenant, SAM.user_id, "sam")
    assert "Europe/Berlin (set with /meet timezone)" in texts(await server.say(unknown, "timezone"))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Berln", "Did you mean Europe/Berlin?"),
        ("America/Nwe_York", "Did you mean America/New_York?"),
        ("CST", "America/Chicago (US Central), Asia/Shanghai (China)"),
        ("eastern", "could be Canada/Eastern or US/Eastern"),
        ("+02:00", "name the zone instead"),
        ("@everyone", "is not a time zone I know"),
        ("Mars/Olympus", "is not a time zone I know"),
    ],
)
async def test_a_zone_that_names_no_one_zone_is_refused_and_nothing_is_kept(
    server: Bench, typed, message
):
    said = texts(await server.say(DANA, f"timezone {typed}", HALL))
    assert message in said
    assert "Usage: /meet timezone [ZONE]" in said
    assert await server.store.user_zone(DANA.key) is None


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("Sao Paulo", "America/Sao_Paulo"),
        ("PST", "America/Los_Angeles"),  # the place, with its summer time
        ("utc", "UTC"),
    ],
)
async def test_names_aliases_and_cities_are_kept_as_iana_names(server: Bench, typed, name):
    assert await choose_zone(server.store, DANA.key, typed, server.clock()) == name


async def test_typed_discord_options_and_buttons_use_the_zone_too(server: Bench):
    router = server.router
    await router.dispatch_options(DANA, HALL, "timezone", {"zone": "Asia/Kolkata"})
    created = await router.dispatch_options(
        DANA, HALL, "create", {"title": "Lab", "start": "2026-12-01 10:00"}
    )
    assert "Tue 01 Dec 2026 10:00 (Asia/Kolkata)" in texts(created)
    [meeting] = await server.store.find_meetings(GUILD)
    assert meeting.schedule.start == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


async def test_the_own_zone_is_one_primary_key_read_and_none_when_the_platform_tells(
    server: Bench,
):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    engine = server.store._engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await server.say(DANA, "help", HALL)
        await server.say(SAM, "help")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1, statements  # dana's; sam's zone came from Slack
    assert "FROM user_zones" in statements[0]
    assert "user_zones.user_key = ?" in statements[0]


async def test_the_zone_survives_reopening_the_store(server: Bench):
    await server.say(DANA, "timezone Europe/Paris", HALL)
    await server.say(DANA, "timezone Europe/Vienna", HALL)  # changed, not added
    reopened = await MeetingStore.open(f"sqlite:///{server.db}")
    try:
        assert await reopened.user_zone(DANA.key) == "Europe/Vienna"
        assert await reopened.clear_user_zone(DANA.key) is True
        assert await reopened.clear_user_zone(DANA.key) is False
    finally:
        await reopened.close()
