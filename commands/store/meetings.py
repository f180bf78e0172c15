"""Meetings in the store: add, change (also only if unchanged meanwhile), find and delete,
always inside a tenant; and the conversion between `Meeting` and its row. Reads of one meeting
by id, and whole-meeting writes, made at once are batched (`commands.store.batching`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from commands.model import Meeting, MeetingState, Platform, Schedule, Tenant
from commands.store.records import StoreBase, StoreError
from commands.store.schema import (
    AttendanceRow,
    CardRow,
    JobRow,
    JoinRow,
    MeetingRow,
    OccurrenceRow,
    ReminderRow,
    RemovalRow,
    SessionRow,
)
from providers.base import MeetingSettings, Room


class MeetingTables(StoreBase):
    # -- meetings -----------------------------------------------------------------------------

    async def update_meeting(self, meeting: Meeting) -> None:
        """Write `meeting` over its row (in its tenant); those written at once go in one
        transaction (see `commands.store.batching`)."""
        if self._turns.mine():
            # Inside this task's own write (a unit): the batch would wait for it forever.
            [answer] = await self._write_meetings([meeting])
            if answer is not None:
                raise answer
            return
        await self._meeting_writes(meeting)

    async def _write_meetings(self, meetings: list[Meeting]) -> list[BaseException | None]:
        ids = {meeting.id for meeting in meetings}
        query = select(MeetingRow.id, MeetingRow.tenant_key).where(MeetingRow.id.in_(ids))
        async with self._write() as session:
            stored = {row.id: row.tenant_key for row in await session.execute(query)}
            answers: list[BaseException | None] = []
            rows = []
            for meeting in meetings:
                if stored.get(meeting.id) != meeting.tenant.key:
                    answers.append(
                        StoreError(f"meeting {meeting.id} does not exist in {meeting.tenant.key}")
                    )
                    continue
                answers.append(None)
                rows.append(meeting_columns(meeting))
            if rows:
                # By primary key, in call order: of two changes to one meeting the later wins.
                await session.execute(update(MeetingRow), rows)
        return answers

    async def get_meeting(self, tenant: Tenant, meeting_id: str) -> Meeting | None:
        meeting = await self._meeting_reads(meeting_id)
        return meeting if meeting is not None and meeting.tenant.key == tenant.key else None

    async def find_meetings(
        self,
        tenant: Tenant,
        *,
        channel_id: str | None = None,
        title: str | None = None,
        states: Collection[MeetingState] | None = None,
        limit: int = 100,
    ) -> list[Meeting]:
        # A Core select of the table: the ORM's identity map and instances cost more than the
        # query itself, for rows that become `Meeting`s at once anyway.
        query = select(MeetingRow.__table__).where(MeetingRow.tenant_key == tenant.key)
        if channel_id is not None:
            query = query.where(MeetingRow.channel_id == channel_id)
        if title is not None:
            query = query.where(func.lower(MeetingRow.title) == title.strip().lower())
        if states is not None:
            query = query.where(MeetingRow.state.in_([s.value for s in states]))
        query = query.order_by(MeetingRow.created_at.desc(), MeetingRow.id).limit(limit)
        async with self._engine.connect() as connection:
            return [meeting_of(row) for row in await connection.execute(query)]

    async def meeting_by_id(self, meeting_id: str) -> Meeting | None:
        """A meeting whatever its tenant: for the bot's own jobs, which carry the id of the
        meeting they were planned for; never for an answer to a user."""
        return await self._meeting_reads(meeting_id)

    async def _read_meetings(self, ids: list[str]) -> list[Meeting | None]:
        """The meetings of `ids` (None where there is none), read at once."""
        query = select(MeetingRow).where(MeetingRow.id.in_(set(ids)))
        async with self._sessions() as session:
            found = {row.id: meeting_of(row) for row in (await session.scalars(query)).all()}
        return [found.get(meeting_id) for meeting_id in ids]

    async def running_meetings(
        self, *, after: str | None = None, limit: int = 500
    ) -> list[Meeting]:
        """A page of the running meetings of every tenant, by id after `after`: for the bot's
        own upkeep (read page by page, so no meeting is ever left out), never for an answer
        to a user (which stays inside their tenant)."""
        # On the state index (state, id): a range of it per page, never the whole table.
        query = select(MeetingRow.__table__).where(MeetingRow.state == MeetingState.RUNNING.value)
        if after is not None:
            query = query.where(MeetingRow.id > after)
        query = query.order_by(MeetingRow.id).limit(limit)
        async with self._engine.connect() as connection:
            return [meeting_of(row) for row in await connection.execute(query)]

    async def resolve(self, tenant: Tenant, reference: str, *, limit: int = 50) -> list[Meeting]:
        """Meetings of `tenant` whose id is `reference` or whose title is it (any case), the
        newest first. Two indexed lookups, by id (the primary key) and by title (the tenant's
        title index): one query with `id = ? OR lower(title) = ?` could use neither index,
        and read every meeting of the tenant. Lookups made at once are answered together."""
        return (await self._resolves((tenant.key, reference.strip())))[:limit]

    async def _resolve_all(self, keys: list[tuple[str, str]]) -> list[list[Meeting]]:
        """For each (tenant key, reference): its meeting by id, then those by title."""
        table = MeetingRow.__table__
        ids = {reference for _tenant, reference in keys}
        titles = {(tenant, reference.lower()) for tenant, reference in keys}
        async with self._engine.connect() as connection:
            by_id = {
                row.id: meeting_of(row)
                for row in await connection.execute(select(table).where(table.c.id.in_(ids)))
            }
            by_title: dict[tuple[str, str], list[Meeting]] = {}
            for tenant, title in titles:
                query = select(table).where(
                    table.c.tenant_key == tenant, func.lower(table.c.title) == title
                )
                by_title[(tenant, title)] = [
                    meeting_of(row) for row in await connection.execute(query)
                ]
        answers = []
        for tenant, reference in keys:
            found = {m.id: m for m in by_title[(tenant, reference.lower())]}
            named = by_id.get(reference)
            if named is not None and named.tenant.key == tenant:
                found[named.id] = named
            answers.append(sorted(found.values(), key=_newest_first))
        return answers

    async def delete_meeting(self, tenant: Tenant, meeting_id: str) -> bool:
        async with self._write() as session:
            row = await self._row(session, tenant, meeting_id)
            if row is None:
                return False
            for table in (
                CardRow,
                JobRow,
                OccurrenceRow,
                SessionRow,
                JoinRow,
                ReminderRow,
                RemovalRow,
                AttendanceRow,
            ):
                await session.execute(delete(table).where(table.meeting_id == meeting_id))
            await session.delete(row)
            return True

    @staticmethod
    async def _row(session: AsyncSession, tenant: Tenant, meeting_id: str) -> MeetingRow | None:
        query = select(MeetingRow).where(
            MeetingRow.id == meeting_id, MeetingRow.tenant_key == tenant.key
        )
        return (await session.scalars(query)).first()


def _room_json(room: Room) -> dict[str, Any]:
    data = asdict(room)
    data["settings"] = room.settings.model_dump()
    data["extra"] = dict(room.extra)
    return data


def _room(data: dict[str, Any]) -> Room:
    values = dict(data)
    values["settings"] = MeetingSettings.model_validate(values.get("settings") or {})
    return Room(**values)


def update_if(meeting: Meeting, expected: MeetingState) -> Update:
    """The UPDATE that writes `meeting` only if its stored state is still `expected`: of two
    racing changes (End pressed twice) exactly one wins."""
    columns = meeting_columns(meeting)
    del columns["id"], columns["tenant_key"]
    return (
        update(MeetingRow)
        .where(
            MeetingRow.id == meeting.id,
            MeetingRow.tenant_key == meeting.tenant.key,
            MeetingRow.state == expected.value,
        )
        .values(**columns)
    )


def meeting_columns(meeting: Meeting) -> dict[str, Any]:
    schedule = meeting.schedule
    return {
        "id": meeting.id,
        "tenant_key": meeting.tenant.key,
        "channel_id": meeting.channel_id,
        "title": meeting.title,
        "provider": meeting.provider,
        "room": _room_json(meeting.room),
        "creator_key": meeting.creator_key,
        "creator_name": meeting.creator_name,
        "created_at": meeting.created_at,
        "state": meeting.state.value,
        "schedule": {
            "start": schedule.start.isoformat() if schedule.start else None,
            "duration_minutes": schedule.duration_minutes,
            "rrule": schedule.rrule,
            "reminder_minutes": schedule.reminder_minutes,
            "timezone": schedule.timezone,
            "first_start": schedule.first_start.isoformat() if schedule.first_start else None,
        },
        "invitees": list(meeting.invitees),
        "started_at": meeting.started_at,
        "ended_at": meeting.ended_at,
    }


def meeting_of(row: MeetingRow | Row[Any]) -> Meeting:
    """The `Meeting` a row holds (an ORM row, or a row of a Core select of the table)."""
    platform, _, tenant_id = row.tenant_key.partition(":")
    schedule = row.schedule
    return Meeting(
        id=row.id,
        tenant=Tenant(Platform(platform), tenant_id),
        channel_id=row.channel_id,
        title=row.title,
        provider=row.provider,
        room=_room(row.room),
        creator_key=row.creator_key,
        creator_name=row.creator_name,
        created_at=row.created_at,
        state=MeetingState(row.state),
        schedule=Schedule(
            start=_moment(schedule.get("start")),
            duration_minutes=schedule.get("duration_minutes"),
            rrule=schedule.get("rrule"),
            reminder_minutes=schedule.get("reminder_minutes"),
            timezone=schedule.get("timezone"),
            first_start=_moment(schedule.get("first_start")),
        ),
        invitees=tuple(row.invitees),
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _newest_first(meeting: Meeting) -> tuple[float, str]:
    return (-meeting.created_at.timestamp(), meeting.id)


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
