"""Asking a provider who is in a session, in one `attendance` call, and naming who it saw.

Providers that know people by id only (LiveMinutes) get the names we gave them from the join
log. Someone the provider reports as gone (LiveMinutes "quit") is not counted as seen now.
"""

from __future__ import annotations

from dataclasses import replace

from commands.model import Meeting
from commands.store import MeetingStore
from providers.base import Attendee, MeetingProvider


async def session_of(store: MeetingStore, meeting: Meeting) -> str | None:
    """The meeting's latest session (the running one while it runs): our own record of it,
    which every provider has, LiveMinutes too (whose rooms have no session ids)."""
    sessions = await store.sessions(meeting.tenant, meeting.id)
    return sessions[-1].session_id if sessions else None


async def ask(
    store: MeetingStore, provider: MeetingProvider, meeting: Meeting, session_id: str | None
) -> list[Attendee]:
    """Who the provider says is in the session now (or, for providers that keep only who
    joined, who joined it). Raises `ProviderError` as the provider does."""
    joined = await store.join_log(meeting.tenant, meeting.id)
    names = {entry.user_key: entry.user_name for entry in joined}
    seen = await provider.attendance(
        meeting.room, session_id=session_id, participant_ids=list(names)
    )
    return [named(attendee, names) for attendee in seen if attendee.present is not False]


def named(attendee: Attendee, names: dict[str, str]) -> Attendee:
    """A provider that knows a person only by id gets the name we gave them."""
    if attendee.user_id in names and attendee.name == attendee.user_id:
        return replace(attendee, name=names[attendee.user_id])
    return attendee
