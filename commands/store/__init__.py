"""The command layer's persistent state on SQLAlchemy 2 async (a SQLite file by default)."""

from commands.store.records import Job, JobKind, JoinLogEntry, PlannedOccurrence, SessionEntry
from commands.store.store import MeetingStore, StoreError, async_url
from commands.store.timeline import JobLost, Unit

__all__ = [
    "Job",
    "JobKind",
    "JobLost",
    "JoinLogEntry",
    "MeetingStore",
    "PlannedOccurrence",
    "SessionEntry",
    "StoreError",
    "Unit",
    "async_url",
]
