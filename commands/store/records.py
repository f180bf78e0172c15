"""The store's value types and the base its table groups share: one engine, one session maker.

Each group of tables (`meetings`, `history`, `upkeep`) is a mixin on `StoreBase`; `MeetingStore`
joins them and owns opening and closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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
class Reminder:
    id: int
    meeting_id: str
    due_at: datetime
    kind: str
    sent_at: datetime | None = None
    failures: int = 0


class StoreBase:
    """What every table group works through."""

    _engine: AsyncEngine
    _sessions: async_sessionmaker[AsyncSession]
