"""MeetingStore: meetings, sessions, the join log, attendance, DM channels and reminders in SQL.

Every read of a meeting takes its `Tenant`: there is no way to fetch a meeting without saying
whose it is, so one workspace can never see another's. SQLite runs in WAL mode with a busy
timeout, so a class of 300 logging their joins at once waits briefly instead of failing. The
tables come in groups, one module each (`meetings`, `history`, `upkeep`); this module opens the
store and checks its layout.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from commands.store.batching import Batch, Spool
from commands.store.cards import CardTables
from commands.store.claims import SqliteClaims
from commands.store.history import HistoryTables
from commands.store.meetings import MeetingTables
from commands.store.recordings import RecordingTables
from commands.store.records import StoreError
from commands.store.schema import Base, ValueRow, add_missing_indexes
from commands.store.timeline import TimelineTables
from commands.store.upgrade import upgrade_1_to_2, upgrade_2_to_3
from commands.store.upkeep import UpkeepTables
from commands.store.writing import WriteTurns

__all__ = ["MeetingStore", "StoreError", "async_url"]

# The layout of the tables; raised whenever a change needs existing stores to be converted.
SCHEMA_VERSION = 3
SCHEMA_KEY = "meetbot.schema_version"


def async_url(url: str) -> str:
    """`sqlite:///x.db` (as configured) -> `sqlite+aiosqlite:///x.db`; others pass through."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


class MeetingStore(
    MeetingTables, CardTables, TimelineTables, HistoryTables, UpkeepTables, RecordingTables
):
    """The persistent state of the command layer. Open with `await MeetingStore.open(url)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._turns = WriteTurns(serial=engine.dialect.name == "sqlite")
        self._meeting_reads = Batch(self._read_meetings)
        self._meeting_writes = Batch(self._write_meetings)
        self._occurrence_reads = Batch(self._read_occurrences)
        self._finishes = Batch(self._finish_jobs)
        self._card_writes = Batch(self._write_cards)
        self._resolves = Batch(self._resolve_all)
        self._removal_reads = Batch(self._read_removals)
        self._join_spool = Spool(self._write_joins, what="join log")
        database = engine.url.database
        file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")
        self._claims = SqliteClaims(str(database)) if file else None

    @classmethod
    async def open(cls, url: str) -> MeetingStore:
        _check_sqlite_folder(url)
        # Parameters hold meeting passwords and host links: never in a log line or an error.
        engine = create_async_engine(async_url(url), hide_parameters=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
                # create_all adds no index to a table that exists: a store made before an
                # index was added gets it here (CREATE INDEX IF NOT EXISTS; no layout change).
                await connection.run_sync(add_missing_indexes)
        except SQLAlchemyError as error:
            await engine.dispose()
            raise StoreError(f"cannot open the store at {url}: {type(error).__name__}") from error
        store = cls(engine)
        try:
            await store._check_schema(url)
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def _check_schema(self, url: str) -> None:
        # create_all adds missing tables but never changes existing ones: a store written by
        # another layout must stop the bot with a clear word, not fail on the first query.
        found = await self.get_value(SCHEMA_KEY)
        if found is None:
            await self.set_value(SCHEMA_KEY, str(SCHEMA_VERSION))
            return
        steps = {"1": (upgrade_1_to_2, "2"), "2": (upgrade_2_to_3, "3")}
        if found not in steps and found != str(SCHEMA_VERSION):
            raise StoreError(
                f"the store at {url} has layout version {found}, and this meetbot reads "
                f"version {SCHEMA_VERSION}; use the meetbot release that wrote it, or a new "
                "storage.url"
            )
        # Each step in the same transaction as the version it reaches: a step that fails
        # leaves the store as it was. (create_all above already added the new tables.)
        while found in steps:
            step, reached = steps[found]
            async with self._write() as session:
                await step(session)
                row = await session.get(ValueRow, SCHEMA_KEY)
                assert row is not None
                row.value = reached
            found = reached

    async def close(self) -> None:
        await self._join_spool.flush()  # the joins logged last
        if self._claims is not None:
            await self._claims.close()
        await self._engine.dispose()

    async def with_own_connections(self) -> MeetingStore:
        """Another handle on this same database, with a connection pool of its own: for a write
        on a deadline (a Slack ack waits for its claim) that must not queue for a connection
        behind a burst of other work. The caller closes it."""
        return await MeetingStore.open(self._engine.url.render_as_string(hide_password=False))


def _check_sqlite_folder(url: str) -> None:
    """A SQLite file needs an existing folder; say so before any connection is tried."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(parsed.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise StoreError(f"cannot open the store at {url}: the folder {folder} does not exist")


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # WAL lets readers run beside the one writer; the busy timeout makes concurrent writers
    # wait their turn (a burst of joins) instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still never corrupts the file; a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
