"""What differs between the store's two databases (SQLite, PostgreSQL) in the statements we write.

Both take INSERT ... ON CONFLICT (SQLite since 3.24, with RETURNING since 3.35), which is how
every write that two processes could race on is made: one statement that either inserts or
does what the conflict asks, never a read and then a write that another process can slip
between.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase


def insert(
    dialect: Dialect, table: type[DeclarativeBase] | Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that takes `.on_conflict_do_nothing/_do_update` on `dialect`.
    Given the `Table` rather than its mapped class, a session runs it as a plain statement
    (many rows in one executemany), without the ORM's bulk-insert bookkeeping per row."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
