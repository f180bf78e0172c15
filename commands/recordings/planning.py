"""Planning the poll for a session's recordings, inside the unit that records its end (so an
end is never kept without its poll, whichever way it came: a command, the clock, a callback,
the watch). See `commands.recordings.poll` for what the poll does."""

from __future__ import annotations

from datetime import datetime

from commands.model import Meeting, MeetingState, Occurrence
from commands.recordings.rules import RecordingRules
from commands.store import JobKind, Unit
from providers.base import MeetingProvider


async def plan_poll(
    unit: Unit,
    rules: RecordingRules,
    meeting: Meeting,
    provider: MeetingProvider,
    occurrence: Occurrence | None,
    *,
    now: datetime,
) -> bool:
    """Plan the poll of the recordings of `occurrence`, whose session ends now; True if one
    was planned (recordings on, the provider has them, the meeting may record)."""
    if occurrence is None or meeting.state is not MeetingState.RUNNING:
        return False  # nothing ran, so nothing was recorded
    if not rules.polled(meeting, provider):
        return False
    await unit.plan_job(meeting.id, occurrence.id, JobKind.POLL_RECORDINGS, now)
    return True
