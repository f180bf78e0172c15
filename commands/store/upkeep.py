"""The bot's own bookkeeping: DM channels, small values, reminders, inbound requests
already acted on (the replay guard), and the time zones people chose for themselves."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import SQLAlchemyError

from commands.store.dialects import insert
from commands.store.records import StoreBase, StoreError
from commands.store.schema import (
    Base,
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
        values = {"channel_id": channel_id, "updated_at": at}
        await self._put(DmChannelRow, {"user_key": user_key}, values)

    # -- small values ------------------------------------------------------------------------

    async def get_value(self, key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(ValueRow, key)
            return row.value if row is not None else None

    async def set_value(self, key: str, value: str) -> None:
        await self._put(ValueRow, {"key": key}, {"value": value})

    async def delete_value(self, key: str) -> None:
        """Forget a value (nothing happens when there is none)."""
        async with self._write() as session:
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
        try:
            async with self._write() as session:
                statement = (
                    insert(self._engine.dialect, SeenRequestRow)
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
        await self._put(UserZoneRow, {"user_key": user_key}, {"zone": zone, "set_at": at})

    async def _put(
        self, table: type[Base], key: Mapping[str, object], values: Mapping[str, object]
    ) -> None:
        """Insert the row of `key`, or overwrite its `values`: one statement (INSERT ... ON
        CONFLICT DO UPDATE), so two processes writing the same key at once never collide
        (a read, then an insert, let both insert and one fail on the key)."""
        statement = insert(self._engine.dialect, table).values({**key, **values})
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: statement.excluded[name] for name in values}
        )
        async with self._write() as session:
            await session.execute(statement)

    async def clear_user_zone(self, user_key: str) -> bool:
        """Forget `user_key`'s own zone; True when there was one."""
        query = delete(UserZoneRow).where(UserZoneRow.user_key == user_key)
        async with self._write() as session:
            result = await session.execute(query)
        return bool(result.rowcount) if isinstance(result, CursorResult) else False
