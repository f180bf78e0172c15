"""What happened in a meeting: its sessions, the join log (who was given which link), who was
removed, and attendance as the provider reported it (who came). The join log and attendance
are kept apart on purpose: a link handed out is not a person who came."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update

from commands.model import Tenant
from commands.store.dialects import insert
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
        async with self._write() as session:
            session.add(
                JoinRow(
                    meeting_id=entry.meeting_id,
                    user_key=entry.user_key,
                    user_name=entry.user_name,
                    role=entry.role.value,
                    reason=entry.reason,
                    at=entry.at,
                )
            )

    async def join_log(self, tenant: Tenant, meeting_id: str) -> list[JoinLogEntry]:
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
        async with self._sessions() as session:
            return await session.get(RemovalRow, (meeting_id, user_key)) is not None

    # -- attendance as the provider reported it -----------------------------------------------

    async def record_attendance(
        self, meeting_id: str, session_id: str, attendees: Collection[Attendee], at: datetime
    ) -> None:
        """Keep who the provider says is (or was) in the session; seen again moves last_seen.
        One INSERT ... ON CONFLICT DO UPDATE: two processes sampling the same session at once
        (replicas) each keep the person once, never fail on the unique key."""
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
        if not rows:
            return
        batch = list(rows.values())
        async with self._write() as session:
            for start in range(0, len(batch), 500):  # within the parameters of one statement
                statement = insert(self._engine.dialect, AttendanceRow).values(
                    batch[start : start + 500]
                )
                statement = statement.on_conflict_do_update(
                    index_elements=[
                        AttendanceRow.meeting_id,
                        AttendanceRow.session_id,
                        AttendanceRow.person,
                    ],
                    set_={"last_seen": statement.excluded.last_seen},
                )
                await session.execute(statement)

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
