"""MeetingStore: meetings, sessions, the join log, attendance, DM channels and reminders in SQL.

Every read of a meeting takes its `Tenant`: there is no way to fetch a meeting without saying
whose it is, so one workspace can never see another's. SQLite runs in WAL mode with a busy
timeout, so a class of 300 logging their joins at once waits briefly instead of failing;
PostgreSQL (`postgresql+asyncpg://`) is the store several replicas share. The tables come in
groups, one module each (`meetings`, `history`, `upkeep`); this module opens the store, after
bringing its layout up to date (`commands.store.migrate`). Every database failure leaves a
public call as a `StoreError` (`commands.store.errors`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from commands.store.batching import Batch, Spool
from commands.store.cards import CardTables
from commands.store.claims import SqliteClaims
from commands.store.errors import guarded
from commands.store.history import HistoryTables
from commands.store.meetings import MeetingTables
from commands.store.migrate import async_url, migrate, shown
from commands.store.recordings import RecordingTables
from commands.store.records import StoreError
from commands.store.sqlitefile import sqlite_file
from commands.store.timeline import TimelineTables
from commands.store.upkeep import UpkeepTables
from commands.store.writing import WriteTurns

__all__ = ["MeetingStore", "StoreError", "async_url"]


@guarded
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
        file = sqlite_file(engine.url)
        self._claims = SqliteClaims(file[0]) if file is not None else None

    @classmethod
    async def open(cls, url: str, *, migrated: bool = False) -> MeetingStore:
        """The store at `url`, its layout first brought up to date (unless `migrated` says
        that was done): a store of an older layout is upgraded, one of a newer refused."""
        _check_sqlite_folder(url)
        if not migrated:
            await migrate(url)
        try:
            # Parameters hold meeting passwords and host links: never in a log line or error.
            engine = create_async_engine(async_url(url), hide_parameters=True)
        except Exception as error:  # a URL SQLAlchemy cannot use (an unknown driver)
            raise StoreError(f"cannot open the store at {shown(url)}: {error}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return cls(engine)

    async def close(self) -> None:
        await self._join_spool.flush()  # the joins logged last
        if self._claims is not None:
            await self._claims.close()
        await self._engine.dispose()

    async def with_own_connections(self) -> MeetingStore:
        """Another handle on this same database, with a connection pool of its own: for a write
        on a deadline (a Slack ack waits for its claim) that must not queue for a connection
        behind a burst of other work. The caller closes it."""
        url = self._engine.url.render_as_string(hide_password=False)
        return await MeetingStore.open(url, migrated=True)


def _check_sqlite_folder(url: str) -> None:
    """A SQLite file needs an existing folder; say so before any connection is tried."""
    try:
        parsed = make_url(async_url(url))
    except Exception:
        raise StoreError(
            f"cannot open the store: {shown(url)} is not a database URL "
            "(e.g. sqlite:///meetbot.db or postgresql+asyncpg://user:password@host/db)"
        ) from None
    file = sqlite_file(parsed)
    if file is None:
        return
    folder = Path(file[0]).expanduser().resolve().parent
    if not folder.is_dir():
        raise StoreError(f"cannot open the store at {url}: the folder {folder} does not exist")


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # The busy timeout makes concurrent writers wait their turn (a burst of joins) instead of
    # failing with "database is locked"; WAL lets readers run beside the one writer. The
    # migration put the file in WAL mode (`commands.store.sqlitefile`): saying it again takes
    # no lock.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still never corrupts the file; a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
