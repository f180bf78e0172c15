"""MeetingStore: meetings, sessions, the join log, DM channels and reminders in SQL.

Every read of a meeting takes its `Tenant`: there is no way to fetch a meeting without saying
whose it is, so one workspace can never see another's. SQLite runs in WAL mode with a busy
timeout, so a class of 300 logging their joins at once waits briefly instead of failing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, delete, event, func, make_url, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from commands.model import Meeting, MeetingState, Platform, Schedule, Tenant
from commands.store.schema import (
    AttendanceRow,
    Base,
    DmChannelRow,
    JoinRow,
    MeetingRow,
    ReminderRow,
    RemovalRow,
    SeenRequestRow,
    SessionRow,
    ValueRow,
)
from providers.base import Attendee, MeetingSettings, Role, Room

# The layout of the tables; raised whenever a change needs existing stores to be converted.
SCHEMA_VERSION = 1
SCHEMA_KEY = "meetbot.schema_version"


class StoreError(Exception):
    """The store could not do what was asked; the message names what, never the SQL."""


@dataclass(frozen=True)
class SessionEntry:
    session_id: str
    started_at: datetime
    ended_at: datetime | None = None
    attendee_count: int | None = None


@dataclass(frozen=True)
class JoinLogEntry:
    meeting_id: str
    user_key: str
    user_name: str
    role: Role
    reason: str
    at: datetime


@dataclass(frozen=True)
class Reminder:
    id: int
    meeting_id: str
    due_at: datetime
    kind: str
    sent_at: datetime | None = None
    failures: int = 0


def async_url(url: str) -> str:
    """`sqlite:///x.db` (as configured) -> `sqlite+aiosqlite:///x.db`; others pass through."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url


class MeetingStore:
    """The persistent state of the command layer. Open with `await MeetingStore.open(url)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def open(cls, url: str) -> MeetingStore:
        _check_sqlite_folder(url)
        # Parameters hold meeting passwords and host links: never in a log line or an error.
        engine = create_async_engine(async_url(url), hide_parameters=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        except SQLAlchemyError as error:
            await engine.dispose()
            raise StoreError(f"cannot open the store at {url}: {type(error).__name__}") from error
        store = cls(engine)
        try:
            await store._check_schema(url)
        except BaseException:
            await engine.dispose()
            raise
        return store

    async def _check_schema(self, url: str) -> None:
        # create_all adds missing tables but never changes existing ones: a store written by
        # another layout must stop the bot with a clear word, not fail on the first query.
        found = await self.get_value(SCHEMA_KEY)
        if found is None:
            await self.set_value(SCHEMA_KEY, str(SCHEMA_VERSION))
        elif found != str(SCHEMA_VERSION):
            raise StoreError(
                f"the store at {url} has layout version {found}, and this meetbot reads "
                f"version {SCHEMA_VERSION}; use the meetbot release that wrote it, or a new "
                "storage.url"
            )

    async def close(self) -> None:
        await self._engine.dispose()

    # -- meetings -----------------------------------------------------------------------------

    async def add_meeting(self, meeting: Meeting, *, remind_at: datetime | None = None) -> None:
        """Record a new meeting, and its first reminder, in one transaction: both or neither."""
        try:
            async with self._sessions.begin() as session:
                session.add(MeetingRow(**_meeting_columns(meeting)))
                if remind_at is not None:
                    session.add(
                        ReminderRow(
                            meeting_id=meeting.id, due_at=remind_at, kind="start", failures=0
                        )
                    )
        except SQLAlchemyError as error:
            raise StoreError(
                f"cannot record meeting {meeting.id}: {type(error).__name__}"
            ) from error

    async def update_meeting(self, meeting: Meeting) -> None:
        async with self._sessions.begin() as session:
            row = await self._row(session, meeting.tenant, meeting.id)
            if row is None:
                raise StoreError(f"meeting {meeting.id} does not exist in {meeting.tenant.key}")
            for name, value in _meeting_columns(meeting).items():
                setattr(row, name, value)

    async def update_meeting_if(self, meeting: Meeting, expected: MeetingState) -> bool:
        """Write `meeting` only if its stored state is still `expected`, in one conditional
        UPDATE: of two racing changes (End pressed twice) exactly one wins."""
        columns = _meeting_columns(meeting)
        del columns["id"], columns["tenant_key"]
        query = (
            update(MeetingRow)
            .where(
                MeetingRow.id == meeting.id,
                MeetingRow.tenant_key == meeting.tenant.key,
                MeetingRow.state == expected.value,
            )
            .values(**columns)
        )
        async with self._sessions.begin() as session:
            result = await session.execute(query)
            return bool(getattr(result, "rowcount", 0) == 1)

    async def get_meeting(self, tenant: Tenant, meeting_id: str) -> Meeting | None:
        async with self._sessions() as session:
            row = await self._row(session, tenant, meeting_id)
            return _meeting(row) if row is not None else None

    async def find_meetings(
        self,
        tenant: Tenant,
        *,
        channel_id: str | None = None,
        title: str | None = None,
        states: Collection[MeetingState] | None = None,
        limit: int = 100,
    ) -> list[Meeting]:
        query = select(MeetingRow).where(MeetingRow.tenant_key == tenant.key)
        if channel_id is not None:
            query = query.where(MeetingRow.channel_id == channel_id)
        if title is not None:
            query = query.where(func.lower(MeetingRow.title) == title.strip().lower())
        if states is not None:
            query = query.where(MeetingRow.state.in_([s.value for s in states]))
        query = query.order_by(MeetingRow.created_at.desc(), MeetingRow.id).limit(limit)
        async with self._sessions() as session:
            return [_meeting(row) for row in (await session.scalars(query)).all()]

    async def running_meetings(self, limit: int = 1000) -> list[Meeting]:
        """Running meetings of every tenant, oldest start first: for the bot's own upkeep,
        never for an answer to a user (which stays inside their tenant)."""
        query = (
            select(MeetingRow)
            .where(MeetingRow.state == MeetingState.RUNNING.value)
            .order_by(MeetingRow.started_at, MeetingRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_meeting(row) for row in (await session.scalars(query)).all()]

    async def resolve(self, tenant: Tenant, reference: str, *, limit: int = 50) -> list[Meeting]:
        """Meetings of `tenant` whose id is `reference` or whose title is it (any case), in one
        query: this runs on every join, so it stays a single round trip."""
        wanted = reference.strip()
        query = (
            select(MeetingRow)
            .where(
                MeetingRow.tenant_key == tenant.key,
                (MeetingRow.id == wanted) | (func.lower(MeetingRow.title) == wanted.lower()),
            )
            .order_by(MeetingRow.created_at.desc(), MeetingRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_meeting(row) for row in (await session.scalars(query)).all()]

    async def delete_meeting(self, tenant: Tenant, meeting_id: str) -> bool:
        async with self._sessions.begin() as session:
            row = await self._row(session, tenant, meeting_id)
            if row is None:
                return False
            for table in (SessionRow, JoinRow, ReminderRow, RemovalRow, AttendanceRow):
                await session.execute(delete(table).where(table.meeting_id == meeting_id))
            await session.delete(row)
            return True

    @staticmethod
    async def _row(session: AsyncSession, tenant: Tenant, meeting_id: str) -> MeetingRow | None:
        query = select(MeetingRow).where(
            MeetingRow.id == meeting_id, MeetingRow.tenant_key == tenant.key
        )
        return (await session.scalars(query)).first()

    # -- sessions -----------------------------------------------------------------------------

    async def add_session(self, meeting_id: str, entry: SessionEntry) -> None:
        async with self._sessions.begin() as session:
            session.add(SessionRow(meeting_id=meeting_id, **asdict(entry)))

    async def end_session(
        self, meeting_id: str, session_id: str, ended_at: datetime, attendee_count: int | None
    ) -> None:
        async with self._sessions.begin() as session:
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
        async with self._sessions.begin() as session:
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

    # -- DM channels --------------------------------------------------------------------------

    async def dm_channel(self, user_key: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(DmChannelRow, user_key)
            return row.channel_id if row is not None else None

    async def remember_dm_channel(self, user_key: str, channel_id: str, at: datetime) -> None:
        async with self._sessions.begin() as session:
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
        async with self._sessions.begin() as session:
            row = await session.get(ValueRow, key)
            if row is None:
                session.add(ValueRow(key=key, value=value))
            else:
                row.value = value

    # -- reminders ----------------------------------------------------------------------------

    async def add_reminder(
        self, meeting_id: str, due_at: datetime, kind: str = "start"
    ) -> Reminder:
        async with self._sessions.begin() as session:
            row = ReminderRow(meeting_id=meeting_id, due_at=due_at, kind=kind, failures=0)
            session.add(row)
            await session.flush()
            return Reminder(row.id, meeting_id, due_at, kind)

    async def due_reminders(self, now: datetime) -> list[Reminder]:
        query = (
            select(ReminderRow)
            .where(ReminderRow.sent_at.is_(None), ReminderRow.due_at <= now)
            .order_by(ReminderRow.due_at, ReminderRow.id)
        )
        async with self._sessions() as session:
            return [
                Reminder(r.id, r.meeting_id, r.due_at, r.kind, r.sent_at, r.failures)
                for r in (await session.scalars(query)).all()
            ]

    async def mark_reminder_sent(self, reminder_id: int, at: datetime) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(ReminderRow, reminder_id)
            if row is not None:
                row.sent_at = at

    async def reminder_failed(self, reminder_id: int) -> int:
        """Count a failed delivery; returns the failures so far."""
        async with self._sessions.begin() as session:
            row = await session.get(ReminderRow, reminder_id)
            if row is None:
                return 0
            row.failures += 1
            return row.failures

    async def get_meeting_for_reminder(self, reminder: Reminder) -> Meeting | None:
        """The meeting a stored reminder belongs to (its tenant is the meeting's own)."""
        async with self._sessions() as session:
            row = await session.get(MeetingRow, reminder.meeting_id)
            return _meeting(row) if row is not None else None

    async def delete_reminders(self, meeting_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(ReminderRow).where(ReminderRow.meeting_id == meeting_id))

    # -- removals -----------------------------------------------------------------------------

    async def remove_people(
        self, meeting_id: str, user_keys: Collection[str], *, by: str, at: datetime
    ) -> None:
        """Take these people out of the meeting (again is fine)."""
        async with self._sessions.begin() as session:
            for key in user_keys:
                if await session.get(RemovalRow, (meeting_id, key)) is None:
                    session.add(
                        RemovalRow(meeting_id=meeting_id, user_key=key, removed_by=by, at=at)
                    )

    async def is_removed(self, meeting_id: str, user_key: str) -> bool:
        async with self._sessions() as session:
            return await session.get(RemovalRow, (meeting_id, user_key)) is not None

    # -- attendance as the provider reported it -----------------------------------------------

    async def record_attendance(
        self, meeting_id: str, session_id: str, attendees: Collection[Attendee], at: datetime
    ) -> None:
        """Keep who the provider says is (or was) in the session; seen again moves last_seen."""
        async with self._sessions.begin() as session:
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

    # -- replay guard: inbound requests already acted on ---------------------------------------

    async def with_own_connections(self) -> MeetingStore:
        """Another handle on this same database, with a connection pool of its own: for a write
        on a deadline (a Slack ack waits for its claim) that must not queue for a connection
        behind a burst of other work. The caller closes it."""
        return await MeetingStore.open(self._engine.url.render_as_string(hide_password=False))

    async def claim_requests(self, keys: Mapping[str, datetime]) -> set[str]:
        """Record each key (e.g. a verified request signature) until its expiry, all in one
        transaction; returns the keys recorded now. A key left out was recorded before: that
        request is a replay. One INSERT of primary keys that skips the ones already there, so
        of two replicas racing on one key exactly one gets it back."""
        if not keys:
            return set()
        rows = [{"key": key, "expires_at": expires} for key, expires in keys.items()]
        # INSERT ... ON CONFLICT DO NOTHING RETURNING: SQLite >= 3.35, and PostgreSQL.
        upsert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        try:
            async with self._sessions.begin() as session:
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
            async with self._sessions.begin() as session:
                result = await session.execute(
                    delete(SeenRequestRow).where(SeenRequestRow.key.in_(expired))
                )
        except SQLAlchemyError as error:
            raise StoreError(f"cannot purge seen requests: {type(error).__name__}") from error
        return result.rowcount if isinstance(result, CursorResult) else 0


def _check_sqlite_folder(url: str) -> None:
    """A SQLite file needs an existing folder; say so before any connection is tried."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(parsed.database).expanduser().resolve().parent
    if not folder.is_dir():
        raise StoreError(f"cannot open the store at {url}: the folder {folder} does not exist")


def _sqlite_pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = connection.cursor()
    # WAL lets readers run beside the one writer; the busy timeout makes concurrent writers
    # wait their turn (a burst of joins) instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still never corrupts the file; a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _room_json(room: Room) -> dict[str, Any]:
    data = asdict(room)
    data["settings"] = room.settings.model_dump()
    data["extra"] = dict(room.extra)
    return data


def _room(data: dict[str, Any]) -> Room:
    values = dict(data)
    values["settings"] = MeetingSettings.model_validate(values.get("settings") or {})
    return Room(**values)


def _meeting_columns(meeting: Meeting) -> dict[str, Any]:
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
        },
        "invitees": list(meeting.invitees),
        "started_at": meeting.started_at,
        "ended_at": meeting.ended_at,
        "card_refs": list(meeting.card_refs),
    }


def _meeting(row: MeetingRow) -> Meeting:
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
            start=datetime.fromisoformat(schedule["start"]) if schedule.get("start") else None,
            duration_minutes=schedule.get("duration_minutes"),
            rrule=schedule.get("rrule"),
            reminder_minutes=schedule.get("reminder_minutes"),
        ),
        invitees=tuple(row.invitees),
        started_at=row.started_at,
        ended_at=row.ended_at,
        card_refs=tuple(row.card_refs),
    )
