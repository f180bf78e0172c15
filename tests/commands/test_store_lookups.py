"""The store's hot lookups stay on indexes as it grows, and the join log is written in batches
off the path of the link: real SQLite files, the queries SQLite plans for them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from sqlalchemy import event

from commands.model import MeetingState, Platform, Tenant
from commands.store import JoinLogEntry, MeetingStore
from providers.base import Role
from tests.commands.test_store import AT, T1, meeting

T2 = Tenant(Platform.SLACK, "T2")


@contextmanager
def statements(store: MeetingStore) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the store sends meanwhile, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        sent.append((statement, parameters))

    engine = store._engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def plans(db: str, sent: list[tuple[str, Any]], table: str) -> list[str]:
    """SQLite's plan for each statement that reads `table`."""
    with sqlite3.connect(db) as connection:
        return [
            " / ".join(str(row[-1]) for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", p))
            for sql, p in sent
            if sql.lstrip().upper().startswith("SELECT") and f"FROM {table}" in sql
        ]


async def test_resolve_reads_by_id_and_by_title_on_indexes_never_the_whole_tenant(tmp_path):
    db = str(tmp_path / "s.db")
    store = await MeetingStore.open(f"sqlite:///{db}")
    try:
        for number in range(30):
            await store.add_meeting(meeting(f"m{number}", title=f"Class {number}"))
        await store.add_meeting(meeting("other", tenant=T2, title="Class 3"))
        with statements(store) as sent:
            by_title = await store.resolve(T1, "class 3")
            by_id = await store.resolve(T1, "m7")
            elsewhere = await store.resolve(T1, "other")
        assert [m.id for m in by_title] == ["m3"]
        assert [m.id for m in by_id] == ["m7"]
        assert elsewhere == [], "another tenant's meeting, by its id, is not found"
        found = plans(db, sent, "meetings")
        assert found, sent
        assert all("USING" in plan and "SCAN" not in plan for plan in found), found
    finally:
        await store.close()


async def test_lookups_made_at_once_are_one_query(tmp_path):
    store = await MeetingStore.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        await store.add_meeting(meeting("m1", title="Algebra"))
        await store.remove_people("m1", ["slack:T1:U9"], by="slack:T1:U1", at=AT)
        with statements(store) as sent:
            found = await asyncio.gather(*(store.resolve(T1, "Algebra") for _ in range(20)))
            removed = await asyncio.gather(
                *(store.is_removed("m1", f"slack:T1:U{number}") for number in range(10))
            )
        assert all([m.id for m in meetings] == ["m1"] for meetings in found)
        assert removed == [False] * 9 + [True]
        reads = [sql for sql, _ in sent if sql.lstrip().upper().startswith("SELECT")]
        assert len(reads) <= 3, reads  # by id and by title; who was removed
    finally:
        await store.close()


async def test_the_watch_reads_running_meetings_on_the_state_index(tmp_path):
    db = str(tmp_path / "s.db")
    store = await MeetingStore.open(f"sqlite:///{db}")
    try:
        for number in range(20):
            state = MeetingState.RUNNING if number % 4 == 0 else MeetingState.ENDED
            await store.add_meeting(meeting(f"m{number:02d}", state=state, started_at=AT))
        with statements(store) as sent:
            first = await store.running_meetings(limit=3)
            rest = await store.running_meetings(after=first[-1].id, limit=3)
        assert [m.id for m in first + rest] == ["m00", "m04", "m08", "m12", "m16"]
        found = plans(db, sent, "meetings")
        assert all("ix_meetings_state" in plan and "SCAN" not in plan for plan in found), found
    finally:
        await store.close()


async def test_a_store_made_before_the_state_index_gets_it_when_opened(tmp_path):
    # A store at revision 0001 (before the watch's index): opening it migrates it to 0002.
    db = tmp_path / "old.db"
    store = await MeetingStore.open(f"sqlite:///{db}")
    await store.close()
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DROP INDEX ix_meetings_state")
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    reopened = await MeetingStore.open(f"sqlite:///{db}")
    await reopened.close()
    with closing(sqlite3.connect(db)) as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        [revision] = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        version = connection.execute(
            "SELECT value FROM kv WHERE key = 'meetbot.schema_version'"
        ).fetchone()
    assert "ix_meetings_state" in names
    assert revision == "0002"
    assert version == ("3",), "an index is no change of the numbered layout"


def entry(meeting_id: str, number: int) -> JoinLogEntry:
    return JoinLogEntry(meeting_id, f"slack:T1:U{number}", f"U{number}", Role.ATTENDEE, "d", AT)


async def test_joins_logged_at_once_are_one_transaction_and_read_back(tmp_path):
    store = await MeetingStore.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        await store.add_meeting(meeting("m1"))
        with statements(store) as sent:
            await asyncio.gather(*(store.log_join(entry("m1", n)) for n in range(50)))
            logged = await store.join_log(T1, "m1")  # waits for what was logged before it
        assert [e.user_key for e in logged] == [f"slack:T1:U{n}" for n in range(50)]
        inserts = [sql for sql, _ in sent if sql.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1, inserts
    finally:
        await store.close()


async def test_a_join_logged_for_a_meeting_deleted_meanwhile_costs_only_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = await MeetingStore.open(url)
    await store.add_meeting(meeting("m1"))
    await store.log_join(entry("m1", 1))
    await store.log_join(entry("gone", 2))  # no such meeting: its row cannot be written
    await store.log_join(entry("m1", 3))
    await store.close()  # writes what was logged last
    again = await MeetingStore.open(url)
    try:
        assert [e.user_key for e in await again.join_log(T1, "m1")] == [
            "slack:T1:U1",
            "slack:T1:U3",
        ]
    finally:
        await again.close()
