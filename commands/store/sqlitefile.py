"""The SQLite file behind a store's URL: which URLs name one (`sqlite_file`), and putting it
into WAL mode when other processes may be writing it (`into_wal`).

SQLite makes `PRAGMA journal_mode=WAL` fail at once with "database is locked" while another
connection has a write open on a file still in rollback mode: its busy timeout does not apply
(waiting could deadlock). Four processes starting on one new store race exactly there. So the
switch is tried again, on a thread of its own (the event loop, and the writer it waits for when
that is a coroutine of this process, go on), until it takes or the wait is up. Once a file is in
WAL mode it stays so; every later switch is a no-op that takes no lock.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time

from sqlalchemy import URL, make_url

#: between tries: short, and spread so that processes waiting together do not retry in step
PAUSE_SECONDS = (0.005, 0.025)


class StillLocked(Exception):
    """The file stayed locked for the whole wait."""


def sqlite_file(url: str | URL) -> tuple[str, bool] | None:
    """(the database, whether it is a `file:` URI) of a SQLite URL naming a file, else None
    (another database, or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    return str(database), str(parsed.query.get("uri", "")).lower() in ("true", "1")


async def into_wal(url: str, wait_seconds: float) -> None:
    """Put the SQLite file `url` names into WAL mode (nothing for other databases)."""
    found = sqlite_file(url)
    if found is not None:
        await asyncio.to_thread(_into_wal, *found, wait_seconds)


def _into_wal(database: str, uri: bool, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        connection = sqlite3.connect(database, timeout=wait_seconds, uri=uri)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            if time.monotonic() >= deadline:
                raise StillLocked(f"the SQLite file stayed locked for {wait_seconds:g} s") from None
        finally:
            connection.close()
        time.sleep(random.uniform(*PAUSE_SECONDS))  # noqa: S311 - a spread, not a secret
