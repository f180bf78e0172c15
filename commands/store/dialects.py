"""What differs between the store's two databases (SQLite, PostgreSQL) in the statements we write.

Both take INSERT ... ON CONFLICT (SQLite since 3.24, with RETURNING since 3.35), which is how
every write that two processes could race on is made: one statement that either inserts or
does what the conflict asks, never a read and then a write that another process can slip
between. Each dialect's module is imported at its first statement, so a SQLite store never
loads SQLAlchemy's PostgreSQL dialect (nor a PostgreSQL one SQLite's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - see the module's doc

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite  # noqa: PLC0415 - see the module's doc

    return sqlite.insert(table)
