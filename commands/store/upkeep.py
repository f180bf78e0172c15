"""The bot's own bookkeeping: DM channels, small values, reminders, inbound requests
already acted on (the replay guard), and the time zones people chose for themselves."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from commands.store.records import StoreBase, StoreError
from commands.store.schema import (
    DmChannelRow,
    SeenRequestRow,
    UserZoneRow,
    ValueRow,
)


class UpkeepTables(StoreBase):
    # -- DM channels --------------------------------------------------------------------------

    async def dm_channel(self, user_key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(DmChannelRow, user_key)
            return row.channel_id if row is not None else None

    async def remember_dm_channel(self, user_key: str, channel_id: str, at: datetime) -> None:
        async with self._write() as session:
            row = await session.get(DmChannelRow, user_key)
            if row is None:
                session.add(DmChannelRow(user_key=user_key, channel_id=channel_id, updated_at=at))
            else:
                row.channel_id, row.updated_at = channel_id, at

    # -- small values ------------------------------------------------------------------------

    async def get_value(self, key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(ValueRow, key)
            return row.value if row is not None else None

    async def set_value(self, key: str, value: str) -> None:
        async with self._write() as session:
            row = await session.get(ValueRow, key)
            if row is None:
                session.add(ValueRow(key=key, value=value))
            else:
                row.value = value

    async def delete_value(self, key: str) -> None:
        """Forget a value (nothing happens when there is none)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(ValueRow).where(ValueRow.key == key))

    # -- replay guard: inbound requests already acted on ---------------------------------------

    async def claim_requests(self, keys: Mapping[str, datetime]) -> set[str]:
        """Record each key (e.g. a verified request signature) until its expiry, all in one
        transaction; returns the keys recorded now. A key left out was recorded before: that
        request is a replay. One INSERT of primary keys that skips the ones already there, so
        of two replicas racing on one key exactly one gets it back."""
        if not keys:
            return set()
        if self._claims is not None:  # SQLite: one hand-off (see `commands.store.claims`)
            try:
                return await self._claims.claim(keys)
            except sqlite3.Error as error:
                raise StoreError(f"cannot record seen requests: {type(error).__name__}") from error
        rows = [{"key": key, "expires_at": expires} for key, expires in keys.items()]
        # INSERT ... ON CONFLICT DO NOTHING RETURNING: SQLite >= 3.35, and PostgreSQL.
        upsert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        try:
            async with self._write() as session:
                statement = (
                    upsert(SeenRequestRow)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=[SeenRequestRow.key])
                    .returning(SeenRequestRow.key)
                )
                return set((await session.scalars(statement)).all())
        except SQLAlchemyError as error:
            raise StoreError(f"cannot record seen requests: {type(error).__name__}") from error

    async def purge_requests(self, now: datetime, limit: int = 500) -> int:
        """Forget at most `limit` keys expired by `now`, oldest first (through the expiry
        index, so a purge costs what it deletes, not the size of the table); returns how many.
        """
        expired = (
            select(SeenRequestRow.key)
            .where(SeenRequestRow.expires_at <= now)
            .order_by(SeenRequestRow.expires_at)
            .limit(limit)
        )
        try:
            async with self._write() as session:
                result = await session.execute(
                    delete(SeenRequestRow).where(SeenRequestRow.key.in_(expired))
                )
        except SQLAlchemyError as error:
            raise StoreError(f"cannot purge seen requests: {type(error).__name__}") from error
        return result.rowcount if isinstance(result, CursorResult) else 0

    # -- per-user time zones -------------------------------------------------------------------

    async def user_zone(self, user_key: str) -> str | None:
        """The zone `user_key` chose (an IANA name), None when they chose none. One primary-key
        read: it runs before every command of someone whose platform names no zone."""
        async with self._sessions() as session:
            row = await session.get(UserZoneRow, user_key)
            return row.zone if row is not None else None

    async def set_user_zone(self, user_key: str, zone: str, at: datetime) -> None:
        """Remember `zone` (already checked to be an IANA name) as `user_key`'s own."""
        async with self._sessions.begin() as session:
            row = await session.get(UserZoneRow, user_key)
            if row is None:
                session.add(UserZoneRow(user_key=user_key, zone=zone, set_at=at))
            else:
                row.zone, row.set_at = zone, at

    async def clear_user_zone(self, user_key: str) -> bool:
        """Forget `user_key`'s own zone; True when there was one."""
        async with self._sessions.begin() as session:
            row = await session.get(UserZoneRow, user_key)
            if row is None:
                return False
            await session.delete(row)
            return True
