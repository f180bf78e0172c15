"""The command layer's persistent state on SQLAlchemy 2 async (a SQLite file by default)."""

from commands.store.store import (
    JoinLogEntry,
    MeetingStore,
    Reminder,
    SessionEntry,
    StoreError,
    async_url,
)

__all__ = ["JoinLogEntry", "MeetingStore", "Reminder", "SessionEntry", "StoreError", "async_url"]
