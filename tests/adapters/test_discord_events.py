"""Scheduled meetings mirrored as Discord scheduled events: real discord.py objects against the
loopback fake, which keeps the events and moves their statuses by the bench's clock as
Discord does for external events (begun at their start, completed at their end)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.discord import DiscordAdapter, EventMirror
from adapters.discord.events import Mirror
from bot.scheduler import JobLoop
from commands.model import Platform, Tenant
from commands.schedule.jobs import JobHandlers
from tests.adapters.discord_rig import ALICE, BOB, CHANNEL, GUILD, DiscordRig, open_rig

EVENTS = f"/guilds/{GUILD}/scheduled-events"
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[DiscordRig]:
    async with open_rig(tmp_path) as the_rig:
        the_rig.fake.clock = the_rig.bench.clock  # Discord's own start and end of events
        yield the_rig


def mirror_on(rig: DiscordRig, enabled: Callable[[Tenant], bool] = lambda _t: True) -> None:
    mirror = EventMirror(rig.adapter.client, rig.bench.store, rig.bench.clock, enabled)
    rig.bench.service.observers.add(mirror)


async def run(rig: DiscordRig, sub: str, options: dict[str, Any], who=ALICE) -> list[str]:
    """A /meet command through discord.py, answered; its private answers' texts."""
    interaction = rig.command(sub, options, who=who)
    await rig.answered(interaction)
    return [f.get("content", "") for f in rig.followups(interaction)]


def event_calls(rig: DiscordRig) -> list[tuple[str, Any]]:
    return [(r.method, r.body) for r in rig.fake.requests if "/scheduled-events" in r.path]


def events(rig: DiscordRig) -> list[dict[str, Any]]:
    return rig.fake.events_of(GUILD)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def meeting_id(rig: DiscordRig, title: str) -> str:
    [meeting] = [m for m in await rig.bench.store.find_meetings(tenant()) if m.title == title]
    return meeting.id


def tenant() -> Tenant:
    return Tenant(Platform.DISCORD, GUILD)


def loop(rig: DiscordRig) -> JobLoop:
    return JobLoop(JobHandlers(rig.bench.service), {Platform.DISCORD: rig.adapter}, rig.bench.clock)


@pytest.mark.parametrize("provider", ["bigbluebutton", "liveminutes"])
async def test_a_scheduled_meeting_becomes_an_external_event_with_a_channel_link(
    rig: DiscordRig, provider: str
):
    mirror_on(rig)
    options = {"title": "Review", "start": "2026-12-01 14:30", "duration": "45m"}
    await run(rig, "create", options | {"provider": provider})

    [(method, body)] = event_calls(rig)
    assert method == "POST"
    assert body["name"] == "Review"
    assert body["entity_type"] == 3, "EXTERNAL"
    assert body["privacy_level"] == 2, "members of the server only"
    assert at("2026-12-01 14:30") == datetime.fromisoformat(body["scheduled_start_time"])
    assert at("2026-12-01 15:15") == datetime.fromisoformat(body["scheduled_end_time"])
    link = f"https://discord.com/channels/{GUILD}/{CHANNEL}"
    assert body["entity_metadata"] == {"location": link}
    the_id = await meeting_id(rig, "Review")
    assert f"/meet join {the_id}" in body["description"]
    # Nothing of the provider's: no host or meeting page, no password.
    [meeting] = await rig.bench.store.find_meetings(tenant())
    room = meeting.room
    secrets = [room.moderator_password, room.attendee_password, room.host_url, room.meeting_url]
    assert any(secrets), "the provider gave something to keep out"
    shown = str(body)
    for secret in filter(None, secrets):
        assert secret not in shown
    assert shown.count("http") == 2, "the channel link only (in location and description)"
    # Kept in the store, for the edits after a restart.
    kept = Mirror.loads(await rig.bench.store.get_value(f"discord.events.{the_id}"))
    assert kept.next is not None
    assert str(kept.next.event_id) == events(rig)[0]["id"]


async def test_without_a_duration_the_event_lasts_an_hour(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Open end", "start": "2026-12-01 14:30"})
    [event] = events(rig)
    assert datetime.fromisoformat(event["scheduled_end_time"]) == at("2026-12-01 15:30")


async def test_an_ad_hoc_meeting_makes_no_event(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Now"})
    await run(rig, "end", {"meeting": "Now"})
    assert event_calls(rig) == []


async def test_ended_before_its_start_the_event_is_cancelled(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30"})
    said = await run(rig, "end", {"meeting": "Review"})
    assert not any("wrong" in text for text in said)
    [event] = events(rig)
    assert event["status"] == CANCELED
    the_id = await meeting_id(rig, "Review")
    assert await rig.bench.store.get_value(f"discord.events.{the_id}") is None


async def test_deleted_the_event_is_cancelled_and_forgotten(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30"})
    the_id = await meeting_id(rig, "Review")
    await run(rig, "delete", {"meeting": "Review"})
    [event] = events(rig)
    assert event["status"] == CANCELED
    assert await rig.bench.store.get_value(f"discord.events.{the_id}") is None


async def test_a_renamed_meeting_renames_its_event(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30", "duration": "30m"})
    await run(rig, "settings", {"meeting": "Review", "title": "Design review"})
    [event] = events(rig)
    assert event["name"] == "Design review"
    assert event["status"] == SCHEDULED
    assert datetime.fromisoformat(event["scheduled_end_time"]) == at("2026-12-01 15:00")
    patches = [body for method, body in event_calls(rig) if method == "PATCH"]
    assert len(patches) == 1


async def test_a_series_moves_on_to_its_next_occurrence(rig: DiscordRig):
    """Weekly, Thursdays 09:00 for an hour: the first occurrence's event runs by Discord's
    clock; when it opens the next week's event is made; ended early, the live event is
    completed then, and next week's stays as it is."""
    mirror_on(rig)
    clock = rig.bench.clock
    options = {"title": "Weekly", "start": "2026-11-26 09:00", "duration": "1h", "repeat": "weekly"}
    await run(rig, "create", options)
    [first] = events(rig)

    clock.now = at("2026-11-26 09:00")
    await loop(rig).run_due()  # the reminder, late, and the opening
    by_start = {e["scheduled_start_time"][:16]: e for e in events(rig)}
    assert sorted(by_start) == ["2026-11-26T09:00", "2026-12-03T09:00"]
    assert by_start["2026-11-26T09:00"]["id"] == first["id"]
    assert by_start["2026-11-26T09:00"]["status"] == ACTIVE, "Discord began it at its start"
    assert by_start["2026-12-03T09:00"]["status"] == SCHEDULED

    clock.now = at("2026-11-26 09:05")
    await run(rig, "join", {"meeting": "Weekly"}, who=BOB)
    clock.now = at("2026-11-26 09:20")
    await run(rig, "end", {"meeting": "Weekly"})
    after = {e["scheduled_start_time"][:16]: e for e in events(rig)}
    assert after["2026-11-26T09:00"]["status"] == COMPLETED, "ended with the meeting"
    assert after["2026-12-03T09:00"]["status"] == SCHEDULED
    assert len(after) == 2, "no event made twice"

    # Next week nobody comes: Discord runs and completes the event; ours moves on again.
    clock.now = at("2026-12-03 09:00")
    await loop(rig).run_due()
    clock.now = at("2026-12-03 10:00")
    await loop(rig).run_due()
    final = {e["scheduled_start_time"][:16]: e["status"] for e in events(rig)}
    assert final == {
        "2026-11-26T09:00": COMPLETED,
        "2026-12-03T09:00": COMPLETED,
        "2026-12-10T09:00": SCHEDULED,
    }


async def test_an_occurrence_cancelled_before_it_began_moves_the_event(rig: DiscordRig):
    mirror_on(rig)
    options = {"title": "Weekly", "start": "2026-11-26 09:00", "repeat": "weekly"}
    await run(rig, "create", options)
    [before] = events(rig)
    await run(rig, "cancel", {"meeting": "Weekly"})  # this week's is off
    [after] = events(rig)
    assert after["id"] == before["id"], "the same event: who was interested stays so"
    assert after["status"] == SCHEDULED
    assert datetime.fromisoformat(after["scheduled_start_time"]) == at("2026-12-03 09:00")
    assert datetime.fromisoformat(after["scheduled_end_time"]) == at("2026-12-03 10:00")


async def test_opened_early_and_ended_before_its_start_the_event_is_cancelled(rig: DiscordRig):
    mirror_on(rig)
    options = {"title": "Weekly", "start": "2026-11-26 09:00", "repeat": "weekly"}
    await run(rig, "create", options)
    rig.bench.clock.now = at("2026-11-26 08:00")
    await run(rig, "join", {"meeting": "Weekly"})  # the creator opens it an hour early
    opened = {e["scheduled_start_time"][:16]: e["status"] for e in events(rig)}
    assert opened == {"2026-11-26T09:00": SCHEDULED, "2026-12-03T09:00": SCHEDULED}
    rig.bench.clock.now = at("2026-11-26 08:30")
    await run(rig, "end", {"meeting": "Weekly"})
    ended = {e["scheduled_start_time"][:16]: e["status"] for e in events(rig)}
    assert ended == {"2026-11-26T09:00": CANCELED, "2026-12-03T09:00": SCHEDULED}


async def test_the_event_ids_outlive_a_restart(rig: DiscordRig):
    mirror_on(rig)
    await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30"})
    await rig.adapter.close()

    restarted = DiscordAdapter(
        rig.bench.router, store=rig.bench.store, clock=rig.bench.clock, guilds=(int(GUILD),)
    )
    await restarted.client.login("test-token")
    rig.adapter = restarted
    rig.bench.service.observers = type(rig.bench.service.observers)()
    mirror_on(rig)
    await run(rig, "end", {"meeting": "Review"})
    [event] = events(rig)
    assert event["status"] == CANCELED, "the event made before the restart"


async def test_switched_off_no_event_is_touched(rig: DiscordRig):
    mirror_on(rig, enabled=lambda _tenant: False)
    await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30"})
    await run(rig, "end", {"meeting": "Review"})
    await run(rig, "create", {"title": "Other", "start": "2026-12-02 14:30"})
    await run(rig, "delete", {"meeting": "Other"})
    assert event_calls(rig) == []


async def test_a_refused_event_call_does_not_fail_the_command(
    rig: DiscordRig, caplog: pytest.LogCaptureFixture
):
    mirror_on(rig)
    rig.fake.refuse_events = True  # invited without the events permissions
    caplog.set_level(logging.INFO)
    said = await run(rig, "create", {"title": "Review", "start": "2026-12-01 14:30"})
    assert rig.fake.messages_to(CHANNEL), "the meeting's card is posted"
    assert not any("wrong" in text for text in said)
    assert await rig.bench.store.find_meetings(tenant())
    warned = [r for r in caplog.records if r.name == "meetbot.observers"]
    assert len(warned) == 1, "said once"
    assert warned[0].levelno == logging.WARNING
    assert "meetbot discord-invite" in warned[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    said = await run(rig, "end", {"meeting": "Review"})
    assert not any("wrong" in text for text in said)
    [meeting] = await rig.bench.store.find_meetings(tenant())
    assert meeting.state == "ended"
