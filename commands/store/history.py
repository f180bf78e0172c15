"""What happened in a meeting: its sessions, the join log (who was given which link), who was
removed, and attendance as the provider reported it (who came). The join log and attendance
are kept apart on purpose: a link handed out is not a person who came.

The join log is written off the path of the link (`batching.Spool`): a class joining at once
is a few transactions, not one each, and nobody's link waits for one. Every read of the log
first waits for what was logged before it. Who was removed is asked on every join: those
questions asked at once are one query."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commands.model import Tenant
from commands.store.dialects import insert
from commands.store.records import AttendanceEntry, JoinLogEntry, SessionEntry, StoreBase
from commands.store.schema import (
    AttendanceRow,
    JoinRow,
    MeetingRow,
    RemovalRow,
    SessionRow,
    ValueRow,
)
from providers.base import Attendee, Role


class HistoryTables(StoreBase):
    # -- sessions -----------------------------------------------------------------------------

    async def add_session(self, meeting_id: str, entry: SessionEntry) -> None:
        async with self._write() as session:
            session.add(SessionRow(meeting_id=meeting_id, **asdict(entry)))

    async def end_session(
        self, meeting_id: str, session_id: str, ended_at: datetime, attendee_count: int | None
    ) -> None:
        # One conditional UPDATE: of two processes ending it, the first one's end is kept.
        query = (
            update(SessionRow)
            .where(
                SessionRow.meeting_id == meeting_id,
                SessionRow.session_id == session_id,
                SessionRow.ended_at.is_(None),
            )
            .values(ended_at=ended_at, attendee_count=attendee_count)
        )
        async with self._write() as session:
            await session.execute(query)

    async def sessions(self, tenant: Tenant, meeting_id: str) -> list[SessionEntry]:
        query = (
            select(SessionRow)
            .join(MeetingRow, MeetingRow.id == SessionRow.meeting_id)
            .where(MeetingRow.tenant_key == tenant.key, SessionRow.meeting_id == meeting_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        async with self._sessions() as session:
            return [
                SessionEntry(r.session_id, r.started_at, r.ended_at, r.attendee_count)
                for r in (await session.scalars(query)).all()
            ]

    # -- join log -----------------------------------------------------------------------------

    async def log_join(self, entry: JoinLogEntry) -> None:
        """Log `entry`; it is written shortly after, with the others logged at about the same
        time (`join_log` and `close` wait for it)."""
        self._join_spool.put(entry)

    async def _write_joins(self, entries: list[JoinLogEntry]) -> None:
        rows = [
            {
                "meeting_id": entry.meeting_id,
                "user_key": entry.user_key,
                "user_name": entry.user_name,
                "role": entry.role.value,
                "reason": entry.reason,
                "at": entry.at,
            }
            for entry in entries
        ]
        async with self._write() as session:
            await session.execute(insert(self._engine.dialect, JoinRow), rows)

    async def join_log(self, tenant: Tenant, meeting_id: str) -> list[JoinLogEntry]:
        await self._join_spool.flush()
        query = (
            select(JoinRow)
            .join(MeetingRow, MeetingRow.id == JoinRow.meeting_id)
            .where(MeetingRow.tenant_key == tenant.key, JoinRow.meeting_id == meeting_id)
            .order_by(JoinRow.at, JoinRow.id)
        )
        async with self._sessions() as session:
            return [
                JoinLogEntry(r.meeting_id, r.user_key, r.user_name, Role(r.role), r.reason, r.at)
                for r in (await session.scalars(query)).all()
            ]

    # -- removals -----------------------------------------------------------------------------

    async def remove_people(
        self, meeting_id: str, user_keys: Collection[str], *, by: str, at: datetime
    ) -> None:
        """Take these people out of the meeting (again is fine: the first removal is kept)."""
        rows = [
            {"meeting_id": meeting_id, "user_key": key, "removed_by": by, "at": at}
            for key in dict.fromkeys(user_keys)
        ]
        if not rows:
            return
        statement = (
            insert(self._engine.dialect, RemovalRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[RemovalRow.meeting_id, RemovalRow.user_key])
        )
        async with self._write() as session:
            await session.execute(statement)

    async def is_removed(self, meeting_id: str, user_key: str) -> bool:
        return await self._removal_reads((meeting_id, user_key))

    async def _read_removals(self, keys: list[tuple[str, str]]) -> list[bool]:
        """For each (meeting, person), whether that person was removed from it: one query."""
        meetings = {meeting for meeting, _person in keys}
        people = {person for _meeting, person in keys}
        query = select(RemovalRow.meeting_id, RemovalRow.user_key).where(
            RemovalRow.meeting_id.in_(meetings), RemovalRow.user_key.in_(people)
        )
        async with self._engine.connect() as connection:
            removed = {(row.meeting_id, row.user_key) for row in await connection.execute(query)}
        return [key in removed for key in keys]

    # -- attendance as the provider reported it -----------------------------------------------

    async def record_attendance(
        self, meeting_id: str, session_id: str, attendees: Collection[Attendee], at: datetime
    ) -> None:
        """Keep who the provider says is (or was) in the session; seen again moves last_seen."""
        async with self._write() as session:
            await record_seen(session, meeting_id, session_id, attendees, at)

    async def attendance_entries(
        self, tenant: Tenant, meeting_id: str, session_id: str
    ) -> list[AttendanceEntry]:
        """Everyone seen in the session, with when first and last seen, first seen first."""
        query = _seen_in(tenant, meeting_id, session_id)
        async with self._sessions() as session:
            return [_entry(row) for row in (await session.scalars(query)).all()]

    async def last_sample(self, meeting_id: str, session_id: str) -> datetime | None:
        """When the session's attendance was last sampled (whoever was seen then is in it)."""
        async with self._sessions() as session:
            row = await session.get(ValueRow, sample_key(meeting_id, session_id))
        return datetime.fromisoformat(row.value) if row is not None else None

    async def recorded_attendance(
        self, tenant: Tenant, meeting_id: str, session_id: str
    ) -> list[Attendee]:
        query = _seen_in(tenant, meeting_id, session_id)
        async with self._sessions() as session:
            return [
                Attendee(
                    name=row.name,
                    user_id=None if row.person.startswith("name:") else row.person,
                    role=Role(row.role) if row.role else None,
                    joined_at=row.first_seen,
                    present=False,
                )
                for row in (await session.scalars(query)).all()
            ]


def sample_key(meeting_id: str, session_id: str) -> str:
    """The key-value row that holds when a session was last sampled: a sample that saw
    nobody moves no attendance row, yet says that everyone seen before has left."""
    return f"attendance.sampled.{meeting_id}.{session_id}"


async def record_seen(
    session: AsyncSession,
    meeting_id: str,
    session_id: str,
    attendees: Collection[Attendee],
    at: datetime,
    *,
    sampled: bool = False,
) -> None:
    """Write who was seen at `at` (first seen: the provider's join time where it gives one);
    `sampled` also records `at` as the session's last sample. One INSERT ... ON CONFLICT DO
    UPDATE each: two processes sampling the same session at once (replicas) each keep the
    person once, and never fail on the unique key."""
    rows: dict[str, dict[str, object]] = {}
    for attendee in attendees:
        person = attendee.user_id or f"name:{attendee.name}"
        rows.setdefault(
            person,
            {
                "meeting_id": meeting_id,
                "session_id": session_id,
                "person": person,
                "name": attendee.name,
                "role": attendee.role.value if attendee.role else None,
                "first_seen": attendee.joined_at or at,
                "last_seen": at,
            },
        )
    dialect = session.get_bind().dialect
    batch = list(rows.values())
    for start in range(0, len(batch), 500):  # within the parameters of one statement
        statement = insert(dialect, AttendanceRow).values(batch[start : start + 500])
        statement = statement.on_conflict_do_update(
            index_elements=[
                AttendanceRow.meeting_id,
                AttendanceRow.session_id,
                AttendanceRow.person,
            ],
            set_={"last_seen": statement.excluded.last_seen},
        )
        await session.execute(statement)
    if sampled:
        mark = insert(dialect, ValueRow).values(
            key=sample_key(meeting_id, session_id), value=at.isoformat()
        )
        await session.execute(
            mark.on_conflict_do_update(
                index_elements=[ValueRow.key], set_={"value": mark.excluded.value}
            )
        )


def _entry(row: AttendanceRow) -> AttendanceEntry:
    return AttendanceEntry(
        person=row.person,
        name=row.name,
        user_id=None if row.person.startswith("name:") else row.person,
        role=Role(row.role) if row.role else None,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )


def _seen_in(tenant: Tenant, meeting_id: str, session_id: str) -> Select[AttendanceRow]:
    """The attendance rows of a session of the tenant's meeting, first seen first."""
    return (
        select(AttendanceRow)
        .join(MeetingRow, MeetingRow.id == AttendanceRow.meeting_id)
        .where(
            MeetingRow.tenant_key == tenant.key,
            AttendanceRow.meeting_id == meeting_id,
            AttendanceRow.session_id == session_id,
        )
        .order_by(AttendanceRow.first_seen, AttendanceRow.id)
    )
