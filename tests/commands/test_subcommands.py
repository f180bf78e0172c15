"""The rest of /meet at the command layer, and failure paths that must change nothing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.simulated import SimulatedProviders
from commands.model import ChatUser, Conversation, MeetingState, Platform, Tenant
from commands.policy import RolePolicy, RolePolicyConfig, TenantOverride
from commands.replies import Visibility
from commands.requestid import current_request_id, request_scope
from commands.schedule.jobs import JobHandlers
from commands.schedule.planner import Timing
from commands.store import JobKind
from providers.bigbluebutton import BigBlueButtonClient

from .conftest import Bench, make_bench, only, person, texts
from .conftest import card_id as meeting_id

ALICE = person("alice")
BOB = person("bob")
ADMIN = person("root", is_admin=True)


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        ("hang_next", "is not answering right now"),
        ("fail_next", "is not answering right now"),
        ("malformed_next", "answered something I cannot read"),
    ],
)
async def test_provider_failure_on_create_records_nothing(bench: Bench, knob, message):
    # The create fails before the provider acted; asking it afterwards finds nothing made.
    setattr(bench.sims.vconnct.faults, knob, 1)
    bench.providers["vconnct"]._http.timeout = 0.3  # type: ignore[attr-defined]
    replies = await bench.say(ALICE, "create Doomed --provider vconnct")
    assert [r.visibility for r in replies] == [Visibility.EPHEMERAL]
    assert message in replies[0].text
    assert "VConnct" in replies[0].text
    assert await bench.store.find_meetings(bench.channel.tenant) == []


async def test_wrong_credentials_tell_the_admin_not_the_secret(bench: Bench):
    bench.sims.bigbluebutton.secret = "rotated-on-the-server"
    replies = await bench.say(ALICE, "create Standup")
    assert "refused this bot's credentials" in replies[0].text
    assert "meetbot check" in replies[0].text
    assert "rotated" not in replies[0].text


async def test_unexpected_error_shows_only_a_reference(bench: Bench, caplog):
    await bench.store.close()
    for leftover in bench.db.parent.glob(bench.db.name + "*"):
        leftover.unlink()  # the database is gone under the bot's feet
    with caplog.at_level(logging.ERROR):
        replies = await bench.say(ALICE, "list")
    ref = re.search(r"reference (\w+)", replies[0].text)
    assert ref is not None
    assert "Traceback" not in replies[0].text
    assert ref.group(1) in caplog.text


async def test_the_reference_is_the_request_id_of_the_adapters_request(bench: Bench, caplog):
    # The adapter serves the request under its id: the reference a user quotes is that id,
    # which every log line of the request carries.
    await bench.store.close()
    for leftover in bench.db.parent.glob(bench.db.name + "*"):
        leftover.unlink()
    with caplog.at_level(logging.ERROR), request_scope("feed1234"):
        replies = await bench.say(ALICE, "list")
    assert "reference feed1234" in replies[0].text
    assert "request feed1234 failed" in caplog.text
    assert current_request_id() is None, "the scope ended with the request"


async def test_help_and_usage(bench: Bench):
    assert "Subcommands:" in texts(await bench.say(ALICE, ""))
    assert texts(await bench.say(ALICE, "help create")).startswith("/meet create")
    assert "There is no /meet fly" in texts(await bench.say(ALICE, "help fly"))
    usage = texts(await bench.say(ALICE, "create"))
    assert '"TITLE" is required' in usage
    assert "Usage: /meet create" in usage


async def test_list_status_and_ambiguous_titles(bench: Bench):
    assert "No meetings in this channel" in texts(await bench.say(ALICE, "list"))
    first = meeting_id(await bench.say(ALICE, "create Sync"))
    second = meeting_id(await bench.say(ALICE, "create Sync --provider liveminutes"))
    listed = texts(await bench.say(BOB, "list"))
    assert first in listed
    assert second in listed
    ambiguous = texts(await bench.say(BOB, "join Sync"))
    assert "say which by id" in ambiguous
    assert first in ambiguous
    assert second in ambiguous
    assert "several open meetings" in texts(await bench.say(BOB, "join"))
    status = texts(await bench.say(BOB, f"status {first}"))
    assert "is running" in status
    assert "BigBlueButton says: waiting" in status


async def test_part_of_an_open_meetings_title_finds_it_but_never_guesses(bench: Bench):
    algebra = meeting_id(await bench.say(ALICE, 'create "Algebra 101 (Mr. Smith)"'))
    joined = await bench.say(BOB, "join algebra")
    assert only(joined, Visibility.DIRECT)[0].card.meeting_id == algebra  # type: ignore[union-attr]
    await bench.say(ALICE, 'create "Linear Algebra"')
    ambiguous = texts(await bench.say(BOB, "join algebra"))
    assert "Several open meetings have 'algebra' in their title" in ambiguous
    await bench.say(ALICE, f"end {algebra}")
    assert "Linear Algebra" in texts(await bench.say(BOB, "status algebra"))
    other = Conversation(Tenant(Platform.SLACK, "T9"), "C1")
    stranger = person("eve", tenant=other.tenant)
    assert "No meeting called 'algebra'" in texts(
        await bench.router.dispatch(stranger, other, "join algebra")
    )


async def test_a_bigbluebutton_meeting_dropped_while_empty_still_takes_joins(bench: Bench):
    mid = meeting_id(await bench.say(ALICE, "create Lab"))
    bbb = bench.providers["bigbluebutton"]
    assert isinstance(bbb, BigBlueButtonClient)
    bench.sims.bigbluebutton.meetings.pop(mid)  # nobody came within the server's few minutes
    bbb.live_seconds = 0
    status = texts(await bench.say(BOB, "status Lab"))
    assert "Lab (id " in status
    assert "is running" in status, "an idle room is not an ended meeting"
    joined = await bench.say(BOB, "join Lab")
    link = only(joined, Visibility.DIRECT)[0].card.link  # type: ignore[union-attr]
    assert link is not None
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        assert (await browser.get(link)).status_code == 200
    assert bench.sims.bigbluebutton.meetings[mid].attendees


async def test_attendance_recordings_history_on_bigbluebutton(bench: Bench):
    mid = meeting_id(await bench.say(ALICE, "create Lecture --record"))
    joined = await bench.say(BOB, "join Lecture")
    link = only(joined, Visibility.DIRECT)[0].card.link  # type: ignore[union-attr]
    assert link is not None
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        await browser.get(link)
    assert "Only moderators can see the attendance" in texts(await bench.say(BOB, "attendance"))
    attendance = texts(await bench.say(ALICE, "attendance"))
    assert "bob: attendee" in attendance
    assert "no recordings yet" in texts(await bench.say(BOB, "recordings"))
    await bench.say(ALICE, "end")
    recordings = texts(await bench.say(BOB, f"recordings {mid}"))
    record_id = re.search(r"^  (\S+): http", recordings, re.M).group(1)  # type: ignore[union-attr]
    assert "Only moderators" in texts(
        await bench.say(BOB, f"recordings {mid} --unpublish {record_id}")
    )
    assert "unpublished" in texts(
        await bench.say(ALICE, f"recordings {mid} --unpublish {record_id}")
    )
    assert "has no recording 'other'" in texts(
        await bench.say(ALICE, f"recordings {mid} --delete other")
    )
    deleted = texts(await bench.say(ALICE, f"recordings {mid} --delete {record_id}"))
    assert f"Recording {record_id} of Lecture: deleted." == deleted
    history = texts(await bench.say(BOB, f"history {mid}"))
    assert "Sessions of Lecture" in history


async def test_settings_defaults_and_changes_on_vconnct(bench: Bench):
    await bench.say(ALICE, "create Seminar --provider vconnct --lock-mic")
    shown = texts(await bench.say(BOB, "settings Seminar"))
    assert "--lock-mic: on" in shown
    assert "Only moderators can change" in texts(await bench.say(BOB, "settings Seminar --record"))
    changed = texts(
        await bench.say(ALICE, 'settings Seminar --record --no-lock-mic --title "Seminar II"')
    )
    assert "Updated Seminar II" in changed
    assert "VConnct keeps the running session as it was" in changed
    assert "--record: on" in texts(await bench.say(ALICE, "settings Seminar II"))
    assert "--lock-mic: off" in texts(await bench.say(ALICE, "settings Seminar II"))
    defaults = texts(await bench.say(ALICE, "settings Seminar II --defaults"))
    assert defaults.startswith("VConnct defaults:")
    assert "--record: off" in defaults
    here = texts(await bench.say(ALICE, "settings --defaults"))
    assert here.startswith("VConnct defaults:"), "the channel's one meeting is on VConnct"
    elsewhere = Conversation(bench.channel.tenant, "C2")
    workspace = texts(await bench.say(ALICE, "settings --defaults", elsewhere))
    assert workspace.startswith("BigBlueButton has no default meeting settings")
    history = texts(await bench.say(ALICE, "history Seminar II"))
    assert "still running" in history


async def test_liveminutes_says_plainly_what_it_cannot_do(bench: Bench):
    await bench.say(ALICE, "create Chat --provider liveminutes")
    assert "LiveMinutes has no recordings." in texts(await bench.say(BOB, "recordings Chat"))
    assert "LiveMinutes has no meeting settings." in texts(await bench.say(ALICE, "settings Chat"))
    joined = await bench.say(ALICE, "join Chat")
    dm = only(joined, Visibility.DIRECT)[0]
    assert "moderator" in dm.text
    removed = texts(await bench.say(ALICE, f"remove Chat --user <@{BOB.user_id}>"))
    assert "Removed" in removed


async def test_scheduled_meeting_opens_at_its_time_and_repeats(bench: Bench):
    created = await bench.say(
        ALICE, 'create Standup --start "tomorrow 9:00" --duration 15m --repeat weekdays --remind 10'
    )
    mid = meeting_id(created)
    assert "scheduled Standup for" in texts(created)
    assert not only(created, Visibility.DIRECT), "no link before it is time"
    early = texts(await bench.say(BOB, "join Standup"))
    assert "you can join from 08:45" in early
    kinds = [kind for kind, _due, _occ in await bench.store.pending_jobs(mid)]
    assert kinds == [JobKind.REMIND, JobKind.OPEN, JobKind.END]

    bench.clock.advance(hours=24, minutes=55)  # 08:55 the next day: within the early window
    joined = await bench.say(BOB, "join Standup")
    assert only(joined, Visibility.DIRECT)[0].secret
    opened = only(joined, Visibility.CHANNEL)
    assert [r.text for r in opened] == ["Standup is open now. Press Join for your link."]
    assert not re.search(r"https?://", opened[0].text)
    ended = await bench.say(ALICE, "end Standup")
    assert "Next:" in texts(ended)
    meeting = await bench.store.get_meeting(bench.channel.tenant, mid)
    assert meeting is not None
    assert meeting.state is MeetingState.SCHEDULED
    assert meeting.schedule.start is not None
    assert meeting.schedule.start > bench.clock.now


async def test_each_occurrence_of_a_repeating_meeting_counts_its_own_people(bench: Bench):
    await bench.say(ALICE, 'create Daily --start "tomorrow 9:00" --repeat daily')
    bench.clock.advance(hours=25)  # 09:00 the next day
    await bench.say(ALICE, "join Daily")
    await bench.say(BOB, "join Daily")
    assert "alice ended Daily; 2 links handed out." in texts(await bench.say(ALICE, "end Daily"))
    bench.clock.advance(days=1)
    await bench.say(ALICE, "join Daily")
    assert "alice ended Daily; 1 link handed out." in texts(await bench.say(ALICE, "end Daily"))


async def test_the_configured_reminder_applies_unless_the_creator_says_otherwise(bench: Bench):
    bench.service.timing = Timing(default_remind_minutes=10)
    start = bench.clock.now + timedelta(hours=3)
    default = texts(await bench.say(ALICE, 'create Lab --start "in 3h"'))
    assert "I will remind this channel 10 min before it starts" in default
    asked = texts(await bench.say(ALICE, 'create Quiz --start "in 3h" --remind 30'))
    assert "30 min before" in asked
    none = texts(await bench.say(ALICE, 'create Exam --start "in 3h" --remind 0'))
    assert "No reminder will be posted" in none
    due = [
        due
        for meeting in await bench.store.find_meetings(bench.channel.tenant)
        for kind, due, _occ in await bench.store.pending_jobs(meeting.id)
        if kind is JobKind.REMIND
    ]
    assert sorted(due) == [start - timedelta(minutes=30), start - timedelta(minutes=10)]
    now = texts(await bench.say(ALICE, "create Now"))
    assert "remind" not in now, "a meeting that starts now needs no reminder"


async def test_delete_rules(bench: Bench):
    await bench.say(ALICE, "create Temp --provider vconnct")
    assert "is running; end it first" in texts(await bench.say(ALICE, "delete Temp"))
    assert "Only moderators can delete" in texts(await bench.say(BOB, "delete Temp"))
    await bench.say(ALICE, "end Temp")
    deleted = await bench.say(ALICE, "delete Temp")
    assert [r.visibility for r in deleted] == [Visibility.CHANNEL]
    assert await bench.store.find_meetings(bench.channel.tenant) == []


async def test_server_listing_names_only_this_workspaces_meetings(bench: Bench):
    await bench.say(ALICE, "create Ours")
    other = person(
        "eve", tenant=bench.channel.tenant.__class__(bench.channel.tenant.platform, "T9")
    )
    await bench.router.dispatch(other, bench.channel.__class__(other.tenant, "C9"), "create Theirs")
    assert "Only workspace moderators" in texts(await bench.say(BOB, "list --server bigbluebutton"))
    listing = texts(await bench.say(ADMIN, "list --server bigbluebutton"))
    assert "Ours" in listing
    assert "Theirs" not in listing
    assert "1 not from this workspace" in listing


async def test_a_discord_server_reads_and_shows_dates_in_its_configured_zone(tmp_path):
    # Discord tells us no one's time zone; the operator names the server's.
    guild = Tenant(Platform.DISCORD, "G1")
    policy = RolePolicy(RolePolicyConfig(), {guild.key: TenantOverride(timezone="Europe/Berlin")})
    dana = ChatUser(guild, "111", "dana")
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, policy)
        try:
            where = Conversation(guild, "C5")
            created = await bench.say(
                dana, 'create Review --start "2026-12-01 14:30" --remind 10', where
            )
            assert "Tue 01 Dec 2026 14:30 (Europe/Berlin)" in texts(created)
            [meeting] = await bench.store.find_meetings(guild)
            assert meeting.schedule.start == datetime(2026, 12, 1, 13, 30, tzinfo=UTC)

            [occurrence] = await bench.store.occurrences(guild, meeting.id)
            reminder = JobHandlers(bench.service).reminder(
                meeting, occurrence, datetime(2026, 12, 1, 13, 21, tzinfo=UTC)
            )
            assert "starts in 9 min (Tue 01 Dec 2026 14:30 (Europe/Berlin))" in reminder.text

            # A zone the platform told us (Slack does) wins over the tenant's.
            told = person("sam", tenant=guild)
            assert policy.local(told).facts.timezone == "UTC"
            assert policy.local(dana).facts.timezone == "Europe/Berlin"
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()
