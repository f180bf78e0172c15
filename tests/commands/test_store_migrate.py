"""Migrations on SQLite and PostgreSQL: what they make is what the code declares, processes
migrating at once all come up, a failing step changes nothing, and every database failure
leaves the store as a short StoreError."""

from __future__ import annotations

import asyncio
import sqlite3
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import create_async_engine

from commands.store import MeetingStore, PlannedOccurrence, StoreError, async_url
from commands.store.migrate import HEAD, head, migrate
from commands.store.schema import Base
from tests.commands.test_store import AT, TO_LAYOUT_2, meeting, run_sql


def differences(connection: Connection) -> list[object]:
    with warnings.catch_warnings():
        # Alembic cannot compare an index on an expression (lower(title)); it says so.
        warnings.filterwarnings("ignore", "autogenerate skipping")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_a_migrated_store_has_exactly_the_declared_tables(store_url):
    migration = await migrate(store_url)
    assert (migration.found, migration.done) == ("empty", ["created the tables"])
    engine = create_async_engine(async_url(store_url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
    again = await migrate(store_url)
    assert again.done == []
    assert again.describe() == f"at revision {head()} (found revision {head()}): nothing to do"


def test_the_head_the_start_checks_without_alembic_is_alembics_own():
    # A new revision moves HEAD too; else every start would read the store as behind (and
    # load Alembic to find nothing to do), or, worse, as at the head while it is not.
    assert head() == HEAD


async def test_a_store_at_an_older_revision_is_upgraded_on_the_path_with_alembic(store_url):
    await migrate(store_url)
    await run_sql(store_url, "UPDATE alembic_version SET version_num = '0001'")
    migration = await migrate(store_url)
    assert (migration.found, migration.done) == ("revision 0001", ["upgraded from revision 0001"])
    assert (await migrate(store_url)).done == []


async def test_four_processes_migrating_an_empty_store_at_once_all_come_up(store_url):
    # Each with its own engine and connection, as four processes starting at once.
    migrations = await asyncio.gather(*(migrate(store_url) for _ in range(4)))
    assert sorted(len(m.done) for m in migrations) == [0, 0, 0, 1]
    store = await MeetingStore.open(store_url)
    await store.add_meeting(meeting())
    await store.close()


async def test_a_new_sqlite_store_another_process_is_writing_is_waited_for(tmp_path):
    # SQLite refuses the switch to WAL at once, busy timeout or not, while another connection
    # writes a file still in rollback mode: four processes starting on one new store met that.
    path = tmp_path / "store.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    try:
        migration = await migrate(f"sqlite:///{path}")
    finally:
        other.close()
    assert migration.done == ["created the tables"]
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_sqlite_store_locked_past_the_wait_is_a_short_store_error(tmp_path, monkeypatch):
    monkeypatch.setattr("commands.store.migrate.SQLITE_WAIT_MS", 50)
    path = tmp_path / "store.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as refused:
            await migrate(f"sqlite:///{path}")
    finally:
        other.close()
    assert str(refused.value) == (
        f"cannot migrate the store at sqlite:///{path}: the SQLite file stayed locked for 0.05 s"
    )


async def test_a_file_that_is_no_sqlite_database_is_named_so(tmp_path):
    path = tmp_path / "store.db"
    path.write_text("meeting notes, not a database\n" * 200)
    with pytest.raises(StoreError) as refused:
        await MeetingStore.open(f"sqlite:///{path}")
    assert (
        str(refused.value)
        == f"cannot migrate the store at sqlite:///{path}: file is not a database"
    )
    assert path.read_text().startswith("meeting notes")  # left as it was


async def test_a_step_that_fails_leaves_the_store_as_it_was(store_url):
    store = await MeetingStore.open(store_url)
    await store.add_meeting(meeting("two"))
    await store.close()
    await run_sql(
        store_url,
        *TO_LAYOUT_2,
        """UPDATE meetings SET card_refs = '["C1/1.2"]' WHERE id = 'two'""",
        "UPDATE kv SET value = '2' WHERE key = 'meetbot.schema_version'",
        # A card the step moves, already there as a row of a table it cannot take it in.
        "CREATE TABLE cards (id INTEGER PRIMARY KEY, meeting_id VARCHAR(64), ref INTEGER)",
        "CREATE UNIQUE INDEX ux_cards_meeting_ref ON cards (meeting_id)",
        "INSERT INTO cards (id, meeting_id, ref) VALUES (1, 'two', 7)",
    )
    with pytest.raises(StoreError, match="cannot migrate the store"):
        await migrate(store_url)
    engine = create_async_engine(async_url(store_url))
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
            layout = await connection.scalar(
                text("SELECT value FROM kv WHERE key = 'meetbot.schema_version'")
            )
            refs = await connection.scalar(text("SELECT card_refs FROM meetings"))
    finally:
        await engine.dispose()
    assert "alembic_version" not in tables
    assert layout == "2"
    assert "C1/1.2" in str(refs)


async def test_an_unreachable_database_is_a_short_store_error(postgres):
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{postgres.port + 1}/none"
    with pytest.raises(StoreError) as refused:
        await MeetingStore.open(url)
    assert str(refused.value).startswith("cannot migrate the store at postgresql+asyncpg://")
    assert "Traceback" not in str(refused.value)


async def test_a_password_in_the_url_is_never_in_the_message(postgres):
    url = f"postgresql+asyncpg://someone:hunter2@127.0.0.1:{postgres.port}/none"
    with pytest.raises(StoreError) as refused:
        await MeetingStore.open(url)
    assert "hunter2" not in str(refused.value)
    assert "***" in str(refused.value)


async def test_a_database_failure_in_use_is_a_store_error_naming_the_call(store_url):
    store = await MeetingStore.open(store_url)
    try:
        await store.add_meeting(meeting())
        cascade = " CASCADE" if store_url.startswith("postgresql") else ""
        await run_sql(store_url, "DROP TABLE kv", f"DROP TABLE occurrences{cascade}")
        with pytest.raises(StoreError) as failed:
            await store.set_value("a", "b")
        message = str(failed.value)
        assert message.startswith("meetbot's store failed in set_value: ")
        assert "INSERT" not in message  # never the SQL
        assert "kv" not in message
        with pytest.raises(StoreError, match="failed in add_occurrence: "):
            async with store.unit() as unit:  # a unit's writes are guarded too
                await unit.add_occurrence("m1", PlannedOccurrence(AT))
    finally:
        await store.close()
