"""Bringing a store to the layout this meetbot reads, once, under a lock: `meetbot migrate`, and
every start (`MeetingStore.open`).

The layout is kept by Alembic (`commands/store/migrations`); its first revision is layout 3,
the last of the numbered layouts before it, kept under `meetbot.schema_version` in the `kv`
table. What is found decides what is done:

- no tables: every revision, from the first;
- a store of the numbered layouts (no `alembic_version`): the baseline's missing tables, then
  the steps from its layout to 3 (`commands.store.upgrade`), then the later revisions;
- a store at a revision this meetbot knows: the revisions after it (none when at the head);
- a revision this meetbot does not know (a newer meetbot wrote it), or a numbered layout past
  3: refused with a `StoreError` that says so, and nothing is changed.

All of it is one transaction, taken under a lock that every process migrating the same
database queues on (PostgreSQL: an advisory lock held until the transaction ends; SQLite: the
file's write lock, taken by BEGIN IMMEDIATE once the file is in WAL mode, see
`commands.store.sqlitefile`), so any number of processes starting at once on an empty database make
its tables once, and each comes up; a step that fails leaves the store as it was.

A store already at the head revision (every start but the first after an upgrade) is told
by one read of `alembic_version`, in the same transaction under the same lock: Alembic, and
its revision scripts, are loaded only when there is something to do.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, event, inspect, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from commands.store.errors import FAILURES, describe
from commands.store.records import StoreError
from commands.store.sqlitefile import StillLocked, into_wal
from commands.store.upgrade import upgrade_1_to_2, upgrade_2_to_3

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SCRIPTS = Path(__file__).resolve().parent / "migrations"
#: the layout the first revision is, and where the numbered layouts kept theirs
BASELINE_LAYOUT = "3"
LAYOUT_KEY = "meetbot.schema_version"
#: any number, the same in every meetbot: PostgreSQL's advisory lock for migrating
LOCK_KEY = 0x6D656574626F74  # "meetbot"
#: how long a process waits for another's migration of a SQLite file (ms)
SQLITE_WAIT_MS = 60_000
#: the newest revision in `migrations/versions`, for the check that needs no Alembic (a test
#: holds it to what Alembic reads there)
HEAD = "0002"

STEPS = {"1": (upgrade_1_to_2, "2"), "2": (upgrade_2_to_3, "3")}


@dataclass
class Migration:
    """What a migration found and did, in words for `meetbot migrate`."""

    found: str  # "empty", "layout 2", "revision 0001"
    head: str  # the revision the store is at now
    done: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.done:
            return f"at revision {self.head} (found {self.found}): nothing to do"
        return f"found {self.found}; " + "; ".join(self.done) + f"; now at revision {self.head}"


def async_url(url: str) -> str:
    """`sqlite:///x.db` (as configured) -> `sqlite+aiosqlite:///x.db`; others pass through."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


def shown(url: str) -> str:
    """The URL as it may be shown and logged: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<the configured storage.url>"


@functools.cache
def scripts() -> ScriptDirectory:
    """The revisions this meetbot knows (read once a process: they ship with the code)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only when migrating

    return ScriptDirectory.from_config(_config())


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None
    return found


async def migrate(url: str) -> Migration:
    """Bring the store at `url` to the head revision (see the module's doc)."""
    try:
        # Before the transaction: SQLite changes its journal mode only outside one.
        await into_wal(url, SQLITE_WAIT_MS / 1000)
    except (sqlite3.Error, StillLocked) as error:  # their words hold no SQL
        raise StoreError(f"cannot migrate the store at {shown(url)}: {error}") from error
    engine = _engine(url)
    try:
        async with engine.connect() as connection, connection.begin():
            return await _migrate(connection, url)
    except StoreError:
        raise
    except FAILURES as error:
        raise StoreError(f"cannot migrate the store at {shown(url)}: {describe(error)}") from error
    finally:
        await engine.dispose()


async def _migrate(connection: AsyncConnection, url: str) -> Migration:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends: the next process migrating waits, then finds
        # the work done.
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if await connection.run_sync(_at_head):
        return Migration(f"revision {HEAD}", HEAD)
    revision, tables, layout = await connection.run_sync(_found)
    known = {script.revision for script in scripts().walk_revisions()}
    if revision is not None:
        if revision not in known:
            raise StoreError(
                f"the store at {shown(url)} is at revision {revision}, which this meetbot does "
                f"not know (it knows up to {head()}): a newer meetbot migrated it. Run that "
                "release, or give this one a new storage.url"
            )
        migration = Migration(f"revision {revision}", head())
        if revision != head():
            await connection.run_sync(_upgrade, "head")
            migration.done.append(f"upgraded from revision {revision}")
        return migration
    if not tables:
        await connection.run_sync(_upgrade, "head")
        return Migration("empty", head(), ["created the tables"])
    found = layout or BASELINE_LAYOUT  # tables but no number: create_all's layout 3
    if found not in STEPS and found != BASELINE_LAYOUT:
        raise StoreError(
            f"the store at {shown(url)} has layout version {found}, and this meetbot reads "
            f"version {BASELINE_LAYOUT}; use the meetbot release that wrote it, or a new "
            "storage.url"
        )
    migration = Migration(f"layout {found}", head())
    # The baseline makes the tables the steps need (occurrences, jobs, cards) and stamps it.
    baseline = scripts().get_base()
    assert baseline is not None
    await connection.run_sync(_upgrade, baseline)
    session = AsyncSession(bind=connection)  # in the migration's transaction
    while found in STEPS:
        step, reached = STEPS[found]
        await step(session)
        await session.flush()
        migration.done.append(f"upgraded layout {found} to {reached}")
        found = reached
    await session.close()
    await connection.execute(
        text("UPDATE kv SET value = :value WHERE key = :key"),
        {"value": BASELINE_LAYOUT, "key": LAYOUT_KEY},
    )
    migration.done.append(f"adopted it as revision {baseline}")
    if baseline != head():
        await connection.run_sync(_upgrade, "head")
    return migration


def _at_head(connection: Connection) -> bool:
    """Whether the store is at `HEAD` already, told without Alembic: its `alembic_version`
    table holds that one revision. Anything else (no such table, another revision, several
    rows) is for `_found` and Alembic to read."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return list(found) == [HEAD]


def _found(connection: Connection) -> tuple[str | None, list[str], str | None]:
    """(its Alembic revision, its tables, the numbered layout it says it is)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - when migrating

    revision = MigrationContext.configure(connection).get_current_revision()
    tables = inspect(connection).get_table_names()
    layout = None
    if revision is None and "kv" in tables:
        layout = connection.execute(
            text("SELECT value FROM kv WHERE key = :key"), {"key": LAYOUT_KEY}
        ).scalar()
    return revision, tables, layout


def _upgrade(connection: Connection, target: str) -> None:
    from alembic import command  # noqa: PLC0415 - only when migrating

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - only when migrating

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    return config


def _engine(url: str) -> AsyncEngine:
    """An engine of one connection for the migration (and for nothing else)."""
    engine = create_async_engine(async_url(url), hide_parameters=True, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        # Python's sqlite3 would begin a transaction only at the first write, and commit
        # around DDL as it likes: we begin it, taking the write lock at once.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    connection.isolation_level = None  # we say BEGIN ourselves
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")  # the file is in WAL mode by now
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
