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

from sqlalchemy import insert, select

from commands.model import Tenant
from commands.store.records import JoinLogEntry, SessionEntry, StoreBase
from commands.store.schema import (
    AttendanceRow,
    JoinRow,
    MeetingRow,
    RemovalRow,
    SessionRow,
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
        async with self._write() as session:
            query = select(SessionRow).where(
                SessionRow.meeting_id == meeting_id, SessionRow.session_id == session_id
            )
            for row in (await session.scalars(query)).all():
                if row.ended_at is None:
                    row.ended_at = ended_at
                    row.attendee_count = attendee_count

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
            await session.execute(insert(JoinRow), rows)

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
        """Take these people out of the meeting (again is fine)."""
        async with self._write() as session:
            for key in user_keys:
                if await session.get(RemovalRow, (meeting_id, key)) is None:
                    session.add(
                        RemovalRow(meeting_id=meeting_id, user_key=key, removed_by=by, at=at)
                    )

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
            for attendee in attendees:
                person = attendee.user_id or f"name:{attendee.name}"
                query = select(AttendanceRow).where(
                    AttendanceRow.meeting_id == meeting_id,
                    AttendanceRow.session_id == session_id,
                    AttendanceRow.person == person,
                )
                row = (await session.scalars(query)).first()
                if row is None:
                    session.add(
                        AttendanceRow(
                            meeting_id=meeting_id,
                            session_id=session_id,
                            person=person,
                            name=attendee.name,
                            role=attendee.role.value if attendee.role else None,
                            first_seen=attendee.joined_at or at,
                            last_seen=at,
                        )
                    )
                else:
                    row.last_seen = at

    async def recorded_attendance(
        self, tenant: Tenant, meeting_id: str, session_id: str
    ) -> list[Attendee]:
        query = (
            select(AttendanceRow)
            .join(MeetingRow, MeetingRow.id == AttendanceRow.meeting_id)
            .where(
                MeetingRow.tenant_key == tenant.key,
                AttendanceRow.meeting_id == meeting_id,
                AttendanceRow.session_id == session_id,
            )
            .order_by(AttendanceRow.first_seen, AttendanceRow.id)
        )
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
