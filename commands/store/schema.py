"""The SQL tables of the store (SQLAlchemy 2 declarative). Times are stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if isinstance(value, datetime) else None


class Base(DeclarativeBase):
    pass


class MeetingRow(Base):
    __tablename__ = "meetings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_key: Mapped[str] = mapped_column(String(128))
    channel_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    room: Mapped[dict[str, Any]] = mapped_column(JSON)
    creator_key: Mapped[str] = mapped_column(String(256))
    creator_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    invitees: Mapped[list[str]] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_meetings_tenant_channel", "tenant_key", "channel_id"),
        # `resolve`'s title lookup (case-insensitive, in one tenant).
        Index("ix_meetings_tenant_title", "tenant_key", func.lower(title)),
        # The watch reads the running meetings page by page, by id, every tick.
        Index("ix_meetings_state", "state", "id"),
    )


class CardRow(Base):
    """Where a card of a meeting was posted (a platform message ref, `channel/ts`), to update
    it in place; a row each, so two posts remembered at once never overwrite each other."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(256))

    __table_args__ = (Index("ux_cards_meeting_ref", "meeting_id", "ref", unique=True),)


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attendee_count: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JoinRow(Base):
    __tablename__ = "join_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    user_key: Mapped[str] = mapped_column(String(256))
    user_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class DmChannelRow(Base):
    __tablename__ = "dm_channels"

    user_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ReminderRow(Base):
    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ValueRow(Base):
    """Small bits of bot state, e.g. what was last synced to Discord."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RemovalRow(Base):
    """A person a moderator took out of a meeting: they get no new link to it."""

    __tablename__ = "removals"

    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    user_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    removed_by: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AttendanceRow(Base):
    """Someone the provider reported in a session, kept because providers forget (BigBlueButton
    drops a meeting's attendees when it ends). Apart from the join log: this is who came."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(128))
    person: Mapped[str] = mapped_column(String(256))  # the provider's user id, else "name:NAME"
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ux_attendance_person", "meeting_id", "session_id", "person", unique=True),
    )


# -- replay guard -------------------------------------------------------------------------------


class SeenRequestRow(Base):
    """Inbound requests already acted on (a verified Slack signature), kept until they could
    no longer pass the signature check: arriving again means a replay. In the store, so every
    replica sharing it refuses the replay, not only the one that saw the original."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Indexed: the purge deletes the oldest expired rows without scanning the table.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# -- time: occurrences and the job queue -----------------------------------------------------


class OccurrenceRow(Base):
    """One occurrence of a meeting; a series has one per slot, made as the series goes on."""

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(128), nullable=True)

    __table_args__ = (
        # A slot is made once, however many times "make the next one" runs.
        Index("ux_occurrence_slot", "meeting_id", "starts_at", unique=True),
    )


class JobRow(Base):
    """Something the clock must do: claimed with a lease by one worker, done once."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=True
    )
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        # One job of a kind per occurrence: a reminder can never be planned twice.
        Index("ux_job_per_occurrence", "kind", "occurrence_id", unique=True),
        # The claim reads pending jobs in due order.
        Index("ix_jobs_pending", "done_at", "due_at"),
    )


# -- per-user time zones ------------------------------------------------------------------------


class UserZoneRow(Base):
    """The time zone a person chose for themselves (`/meet timezone`), by user key. Used when
    their platform tells us none (Discord never does); the tenant's zone is the fallback."""

    __tablename__ = "user_zones"

    user_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))  # an IANA name, checked before it is stored
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


# -- recordings posted in chat ------------------------------------------------------------------


class RecordingPostRow(Base):
    """A recording of a meeting posted in chat, or being posted: claimed by one poster (a
    callback, a poll job) with a lease, so of two racing exactly one posts it, and a poster
    that died mid-way is taken over once its lease ran out. Its id is what the recording
    message's buttons carry (short enough for Discord's custom ids)."""

    __tablename__ = "recording_posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    recording_id: Mapped[str] = mapped_column(String(256))
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ux_recording_post", "meeting_id", "recording_id", unique=True),)
