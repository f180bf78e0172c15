"""Finding the meeting a user means, strictly inside the tenant they typed in.

A reference is a meeting id or a title. No reference means "the one meeting of this channel".
Titles are matched case-insensitively, in this channel first, then anywhere in the tenant; then,
for open meetings, a part of the title will do. An ambiguous reference lists the candidates
with their ids instead of guessing.
"""

from __future__ import annotations

from commands.errors import AmbiguousMeeting, MeetingNotFound
from commands.model import Conversation, Meeting, MeetingState
from commands.store import MeetingStore

_LIVE = (MeetingState.SCHEDULED, MeetingState.RUNNING)


async def find_meeting(
    store: MeetingStore, where: Conversation, reference: str | None, *, include_ended: bool = True
) -> Meeting:
    """The meeting `reference` names in `where.tenant`, or a `CommandError` saying why not."""
    tenant = where.tenant
    if reference is None:
        here = await store.find_meetings(tenant, channel_id=where.channel_id, states=_LIVE)
        if len(here) == 1:
            return here[0]
        if not here:
            raise MeetingNotFound(
                "There is no open meeting in this channel. Name one, or create one with "
                "/meet create TITLE."
            )
        raise _ambiguous("This channel has several open meetings", here)

    found = await store.resolve(tenant, reference)
    by_id = [meeting for meeting in found if meeting.id == reference.strip()]
    if by_id:
        return by_id[0]
    if not include_ended:
        found = [meeting for meeting in found if meeting.state is not MeetingState.ENDED]
    here = [meeting for meeting in found if meeting.channel_id == where.channel_id]
    for matches in (here, found):
        if not matches:
            continue
        live = [meeting for meeting in matches if meeting.state is not MeetingState.ENDED]
        candidates = live or matches
        if len(candidates) == 1:
            return candidates[0]
        raise _ambiguous(f"Several meetings are called {reference!r}", candidates)
    return await _by_part_of_title(store, where, reference)


async def _by_part_of_title(store: MeetingStore, where: Conversation, reference: str) -> Meeting:
    # "join algebra" for "Algebra 101 (Mr. Smith)": people type the word they remember. Only
    # open meetings, this channel's first, and never a guess between two.
    wanted = reference.strip().casefold()
    live = await store.find_meetings(where.tenant, states=_LIVE)
    containing = [meeting for meeting in live if wanted in meeting.title.casefold()]
    here = [meeting for meeting in containing if meeting.channel_id == where.channel_id]
    for matches in (here, containing):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _ambiguous(f"Several open meetings have {reference!r} in their title", matches)
    raise MeetingNotFound(f"No meeting called {reference!r} here. /meet list shows them.")


def _ambiguous(prefix: str, meetings: list[Meeting]) -> AmbiguousMeeting:
    listed = [f"{meeting.title} (id {meeting.id}, {meeting.state})" for meeting in meetings[:10]]
    return AmbiguousMeeting(
        f"{prefix}; say which by id: " + "; ".join(listed), [m.id for m in meetings]
    )
