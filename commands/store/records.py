"""The store's value types and the base its table groups share: one engine, one session maker.

Each group of tables (`meetings`, `history`, `upkeep`) is a mixin on `StoreBase`; `MeetingStore`
joins them and owns opening and closing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from commands.model import Meeting, Occurrence, OccurrenceState
from commands.store.batching import Batch, Spool
from commands.store.claims import SqliteClaims
from commands.store.writing import WriteTurns
from providers.base import Role


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
class AttendanceEntry:
    """Someone the provider reported in a session: when first and last seen there."""

    person: str  # the provider's user id, else "name:NAME"
    name: str
    user_id: str | None
    role: Role | None
    first_seen: datetime
    last_seen: datetime


class JobKind(StrEnum):
    """What a job does when its time comes (its handler lives in `commands.schedule`)."""

    REMIND = "remind"  # post the occurrence's reminder
    OPEN = "open"  # the occurrence's start: open it, plan the next one of a series
    END = "end"  # its duration is up: end it
    POLL_RECORDINGS = "poll_recordings"  # its session ended: post its recordings when ready
    SAMPLE = "sample"  # while it runs: ask the provider who is in it (re-armed each time)


@dataclass(frozen=True)
class Job:
    """A claimed job: `claimed_by` holds it until its lease runs out."""

    id: int
    kind: JobKind
    meeting_id: str
    occurrence_id: int | None
    due_at: datetime
    attempts: int
    claimed_by: str


@dataclass(frozen=True)
class CardRef:
    """Where a card of a meeting was posted: the platform's message ref (`channel/ts`)."""

    meeting_id: str
    ref: str


@dataclass(frozen=True)
class Finish:
    """A job to mark done at `at` if `worker` still holds it, with the cards its post left."""

    job_id: int
    worker: str
    at: datetime
    cards: tuple[CardRef, ...] = ()


@dataclass(frozen=True)
class PlannedOccurrence:
    """An occurrence to record, with the jobs its time will need (kind, due at)."""

    starts_at: datetime
    jobs: tuple[tuple[JobKind, datetime], ...] = ()
    state: OccurrenceState = OccurrenceState.SCHEDULED


class StoreBase:
    """What every table group works through."""

    _engine: AsyncEngine
    _sessions: async_sessionmaker[AsyncSession]
    _turns: WriteTurns
    # calls made at once, answered together (`commands.store.batching`)
    _meeting_reads: Batch[str, Meeting | None]
    _meeting_writes: Batch[Meeting, None]
    _occurrence_reads: Batch[int, Occurrence | None]
    _finishes: Batch[Finish, bool]
    _card_writes: Batch[CardRef, None]
    _resolves: Batch[tuple[str, str], list[Meeting]]
    _removal_reads: Batch[tuple[str, str], bool]
    _join_spool: Spool[JoinLogEntry]
    _claims: SqliteClaims | None  # SQLite's own path for request claims

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, in this process's turn (see `commands.store.writing`)."""
        async with self._turns.turn(), self._sessions.begin() as session:
            yield session
