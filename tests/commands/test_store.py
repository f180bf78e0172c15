"""The store on a real SQLite file and a real PostgreSQL server: round trips, restarts, tenant
isolation, bursts, the layouts it is upgraded from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from commands.model import Meeting, MeetingState, Platform, Schedule, Tenant
from commands.store import (
    JobKind,
    JobLost,
    JoinLogEntry,
    MeetingStore,
    PlannedOccurrence,
    SessionEntry,
    StoreError,
    async_url,
)
from providers.base import MeetingSettings, Role, Room

T1 = Tenant(Platform.SLACK, "T1")
T2 = Tenant(Platform.DISCORD, "42")
AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def meeting(mid: str = "m1", tenant: Tenant = T1, title: str = "Algebra", **extra) -> Meeting:
    room = Room(
        "vconnct",
        "uuid-1",
        title,
        MeetingSettings(record=True, lock_settings_disable_mic=True),
        moderator_password="mod",
        attendee_password="att",
        session_id="s1",
        extra={"logout_url": "https://x"},
    )
    values: dict[str, Any] = dict(
        id=mid,
        tenant=tenant,
        channel_id="C1",
        title=title,
        provider="vconnct",
        room=room,
        creator_key=f"{tenant.key}:U1",
        creator_name="Alice",
        created_at=AT,
        schedule=Schedule(AT + timedelta(days=1), 45, "FREQ=WEEKLY", 10),
        invitees=("slack:T1:U2",),
    )
    values.update(extra)
    return Meeting(**values)


@pytest.fixture
async def store(store_url):
    opened = await MeetingStore.open(store_url)
    yield opened
    await opened.close()


async def run_sql(url: str, *statements: str | tuple[str, dict[str, Any]]) -> None:
    """Statements straight on the database, as an older meetbot (or an operator) left it."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            for statement in statements:
                sql, values = statement if isinstance(statement, tuple) else (statement, {})
                await connection.execute(text(sql), values)
    finally:
        await engine.dispose()


# What a store of layout 2 had: each meeting's card refs as a list on its row, no cards table,
# and no Alembic (the numbered layouts came before it).
TO_LAYOUT_2 = (
    "DROP TABLE alembic_version",
    "DROP TABLE cards",
    "ALTER TABLE meetings ADD COLUMN card_refs JSON NOT NULL DEFAULT '[]'",
)


async def test_full_round_trip(store):
    original = meeting(started_at=AT, state=MeetingState.RUNNING)
    await store.add_meeting(original)
    loaded = await store.get_meeting(T1, "m1")
    assert loaded == original
    assert loaded.room.settings.record
    assert loaded.schedule.start.tzinfo is not None


async def test_restart_keeps_everything(store_url):
    url = store_url
    first = await MeetingStore.open(url)
    planned = PlannedOccurrence(
        AT + timedelta(hours=2), ((JobKind.REMIND, AT + timedelta(hours=1)),)
    )
    await first.add_meeting(meeting(), planned)
    await first.add_session("m1", SessionEntry("s1", AT))
    await first.log_join(JoinLogEntry("m1", "slack:T1:U2", "Bob", Role.ATTENDEE, "default", AT))
    await first.remember_dm_channel("slack:T1:U2", "D123", AT)
    await first.close()

    second = await MeetingStore.open(url)
    try:
        assert (await second.get_meeting(T1, "m1")) == meeting()
        assert [s.session_id for s in await second.sessions(T1, "m1")] == ["s1"]
        assert [(e.user_name, e.role) for e in await second.join_log(T1, "m1")] == [
            ("Bob", Role.ATTENDEE)
        ]
        assert await second.dm_channel("slack:T1:U2") == "D123"
        assert await second.pending_jobs("m1") == [(JobKind.REMIND, AT + timedelta(hours=1), 1)]
        claimed = await second.claim_jobs(AT + timedelta(hours=2), "w1", lease=timedelta(minutes=1))
        assert [job.kind for job in claimed] == [JobKind.REMIND]
    finally:
        await second.close()


async def test_tenants_never_see_each_other(store):
    await store.add_meeting(meeting("a", T1, "Same"))
    await store.add_meeting(meeting("b", T2, "Same"))
    assert await store.get_meeting(T2, "a") is None
    assert [m.id for m in await store.find_meetings(T1, title="same")] == ["a"]
    assert [m.id for m in await store.find_meetings(T2, title="SAME")] == ["b"]
    assert await store.join_log(T2, "a") == []
    assert await store.sessions(T2, "a") == []
    assert not await store.delete_meeting(T2, "a")
    with pytest.raises(StoreError, match="does not exist"):
        await store.update_meeting(meeting("a", T2))
    assert await store.get_meeting(T1, "a") is not None


async def test_find_by_channel_and_state(store):
    await store.add_meeting(meeting("a", channel_id="C1"))
    await store.add_meeting(
        meeting(
            "b", channel_id="C2", state=MeetingState.ENDED, created_at=AT + timedelta(minutes=1)
        )
    )
    assert [m.id for m in await store.find_meetings(T1)] == ["b", "a"]
    assert [m.id for m in await store.find_meetings(T1, channel_id="C2")] == ["b"]
    live = await store.find_meetings(T1, states=[MeetingState.SCHEDULED])
    assert [m.id for m in live] == ["a"]


async def test_update_delete_and_sessions(store):
    await store.add_meeting(meeting())
    await store.update_meeting(meeting(title="Renamed", state=MeetingState.ENDED))
    assert (await store.get_meeting(T1, "m1")).title == "Renamed"
    await store.add_session("m1", SessionEntry("s1", AT))
    await store.end_session("m1", "s1", AT + timedelta(hours=1), 12)
    assert (await store.sessions(T1, "m1"))[0].attendee_count == 12
    assert await store.delete_meeting(T1, "m1")
    assert await store.get_meeting(T1, "m1") is None


async def test_jobs_are_claimed_once_with_a_lease_and_finished_once(store):
    planned = PlannedOccurrence(
        AT + timedelta(hours=1),
        ((JobKind.REMIND, AT), (JobKind.OPEN, AT + timedelta(hours=1))),
    )
    await store.add_meeting(meeting(), planned)
    lease = timedelta(minutes=2)
    [job] = await store.claim_jobs(AT + timedelta(minutes=1), "w1", lease=lease)
    assert (job.kind, job.attempts, job.claimed_by) == (JobKind.REMIND, 1, "w1")
    assert await store.claim_jobs(AT + timedelta(minutes=1), "w2", lease=lease) == []
    # The lease ran out (w1 died): w2 takes it over, and w1 can no longer finish it.
    [again] = await store.claim_jobs(AT + timedelta(minutes=4), "w2", lease=lease)
    assert (again.id, again.attempts, again.claimed_by) == (job.id, 2, "w2")
    with pytest.raises(JobLost):
        async with store.unit() as unit:
            await unit.finish(job, AT + timedelta(minutes=4))
    async with store.unit() as unit:
        await unit.finish(again, AT + timedelta(minutes=4))
    assert [kind for kind, _due, _occ in await store.pending_jobs("m1")] == [JobKind.OPEN]
    assert await store.next_due() == AT + timedelta(hours=1)
    assert await store.delete_meeting(T1, "m1")
    assert await store.next_due() is None


async def test_a_slot_is_planned_once_and_a_job_kind_once_per_occurrence(store):
    await store.add_meeting(meeting())
    planned = PlannedOccurrence(AT, ((JobKind.REMIND, AT),))
    async with store.unit() as unit:
        assert await unit.add_occurrence("m1", planned) is not None
        assert await unit.add_occurrence("m1", planned) is None
    assert len(await store.occurrences(T1, "m1")) == 1
    assert len(await store.pending_jobs("m1")) == 1


async def test_a_class_of_300_joining_at_once_is_all_logged(store):
    await store.add_meeting(meeting())
    await asyncio.gather(
        *(
            store.log_join(
                JoinLogEntry("m1", f"slack:T1:U{i}", f"S{i}", Role.ATTENDEE, "default", AT)
            )
            for i in range(300)
        )
    )
    assert len(await store.join_log(T1, "m1")) == 300


def test_url_translation():
    assert async_url("sqlite:///meetbot.db") == "sqlite+aiosqlite:///meetbot.db"
    assert async_url("sqlite:////data/m.db") == "sqlite+aiosqlite:////data/m.db"
    assert async_url("postgresql+asyncpg://h/db") == "postgresql+asyncpg://h/db"


async def test_unopenable_store_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open the store"):
        await MeetingStore.open(f"sqlite:///{tmp_path / 'missing-dir' / 'm.db'}")


async def test_a_store_a_newer_meetbot_migrated_is_refused_clearly(store_url):
    store = await MeetingStore.open(store_url)
    assert await store.get_value("meetbot.schema_version") == "3"
    await store.close()
    await run_sql(store_url, "UPDATE alembic_version SET version_num = '0042'")
    with pytest.raises(StoreError, match=r"at revision 0042, which this meetbot does not know"):
        await MeetingStore.open(store_url)


async def test_a_store_of_a_newer_numbered_layout_is_refused_clearly(store_url):
    store = await MeetingStore.open(store_url)
    await store.close()
    await run_sql(
        store_url,
        "DROP TABLE alembic_version",
        "UPDATE kv SET value = '7' WHERE key = 'meetbot.schema_version'",
    )
    with pytest.raises(StoreError, match=r"layout version 7, and this meetbot reads version 3"):
        await MeetingStore.open(store_url)


async def test_a_layout_1_store_is_upgraded_with_its_reminders_as_jobs(store_url):
    # What layout 1 left: meetings with their time in the meeting alone, reminders in a table.
    store = await MeetingStore.open(store_url)
    start = AT + timedelta(days=1)
    await store.add_meeting(
        meeting("soon", schedule=Schedule(start, 45, None, 10), state=MeetingState.SCHEDULED)
    )
    await store.add_meeting(meeting("now", state=MeetingState.RUNNING, started_at=AT))
    await store.close()
    await run_sql(
        store_url,
        "DELETE FROM jobs",
        "DELETE FROM occurrences",
        *TO_LAYOUT_2,
        (
            "INSERT INTO reminders (meeting_id, due_at, kind, failures) "
            "VALUES (:meeting, :due, 'start', 0)",
            {"meeting": "soon", "due": (start - timedelta(minutes=10)).replace(tzinfo=None)},
        ),
        "UPDATE kv SET value = '1' WHERE key = 'meetbot.schema_version'",
    )
    upgraded = await MeetingStore.open(store_url)
    try:
        assert await upgraded.get_value("meetbot.schema_version") == "3"
        # The occurrence's id is whatever the step gave it (meetings are read in no order).
        [planned] = await upgraded.occurrences(T1, "soon")
        assert await upgraded.pending_jobs("soon") == [
            (JobKind.REMIND, start - timedelta(minutes=10), planned.id),
            (JobKind.OPEN, start, planned.id),
            (JobKind.END, start + timedelta(minutes=45), planned.id),
        ]
        [running] = await upgraded.occurrences(T1, "now")
        assert running.state.value == "open"
        assert running.opened_at == AT
    finally:
        await upgraded.close()


async def test_a_layout_2_store_keeps_its_cards_in_their_own_table(store_url):
    store = await MeetingStore.open(store_url)
    await store.add_meeting(meeting("two"))
    await store.add_meeting(meeting("none"))
    await store.close()
    await run_sql(
        store_url,
        *TO_LAYOUT_2,
        "UPDATE meetings SET card_refs = '[\"C1/1.2\", \"C2/3.4\"]' WHERE id = 'two'",
        "UPDATE kv SET value = '2' WHERE key = 'meetbot.schema_version'",
    )
    upgraded = await MeetingStore.open(store_url)
    try:
        assert await upgraded.get_value("meetbot.schema_version") == "3"
        assert await upgraded.card_refs("two") == ("C1/1.2", "C2/3.4")
        assert await upgraded.card_refs("none") == ()
        await upgraded.add_meeting(meeting("new"))  # the meetings table takes rows as before
        await upgraded.remember_card("new", "C9/9.9")
        assert await upgraded.card_refs("new") == ("C9/9.9",)
        engine = create_async_engine(async_url(store_url))
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("meetings")]
            )
        await engine.dispose()
        assert "card_refs" not in columns
    finally:
        await upgraded.close()


async def test_cards_remembered_at_once_are_all_kept_once(store):
    # Two posts remembered at the same moment (a reminder's and a command's card) used to
    # read the meeting's list and write it back: one of them was lost.
    await store.add_meeting(meeting("m1"))
    refs = [f"C1/{index}.0" for index in range(20)]
    await asyncio.gather(*(store.remember_card("m1", ref) for ref in refs + refs))
    assert await store.card_refs("m1") == tuple(refs)
    await store.remember_card("gone", "C1/1.0")  # a meeting deleted meanwhile: nothing
    assert await store.card_refs("gone") == ()
    await store.delete_meeting(T1, "m1")
    assert await store.card_refs("m1") == ()
