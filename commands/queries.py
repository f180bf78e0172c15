"""Read-mostly /meet use cases: list, status, attendance, recordings, settings, history.

They share `MeetingService`'s lookups and checks; each answers from the provider where it can
and from our own records where the provider has nothing (e.g. history on BigBlueButton).
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.attendance import report, sampling
from commands.attendance.report import SessionAttendance
from commands.errors import CommandError
from commands.limits import provider_label
from commands.model import ChatUser, Conversation, Meeting, MeetingState
from commands.service import MeetingChanged, MeetingService
from commands.store import SessionEntry
from providers.base import (
    Capability,
    MeetingSettings,
    Recording,
    Role,
    RoomState,
    RoomStatus,
    RoomSummary,
    SessionRecord,
)


@dataclass(frozen=True)
class ServerListing:
    """A provider's own list of running meetings, cut down to this tenant's."""

    provider: str
    ours: list[tuple[Meeting, RoomSummary]]
    others: int


class MeetingQueries:
    """Answers questions about meetings; writes only to keep our state in step."""

    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store

    async def meetings(
        self, where: Conversation, *, all_channels: bool, include_ended: bool
    ) -> list[Meeting]:
        states = None if include_ended else (MeetingState.SCHEDULED, MeetingState.RUNNING)
        channel = None if all_channels else where.channel_id
        return await self.store.find_meetings(where.tenant, channel_id=channel, states=states)

    async def status(
        self, where: Conversation, reference: str | None
    ) -> tuple[Meeting, RoomStatus | None]:
        meeting = await self.service.find(where, reference)
        provider = self.service.provider_for(meeting)
        if Capability.STATUS not in provider.capabilities:
            return meeting, None
        status = await provider.status(meeting.room)
        if meeting.state is MeetingState.RUNNING and status.state in (
            RoomState.ENDED,
            RoomState.ABSENT,
        ):
            # Ended on the provider side (timeout, ended from the meeting itself): catch up.
            try:
                meeting = await self.service.end_meeting(meeting, ended_on_provider=True)
            except MeetingChanged:
                meeting = await self.store.get_meeting(meeting.tenant, meeting.id) or meeting
        return meeting, status

    async def attendance(
        self, user: ChatUser, where: Conversation, reference: str | None, session_id: str | None
    ) -> SessionAttendance:
        """Who attended the current session, or the one `session_id` names (which must be a
        session of this very meeting: checked before the provider is asked anything)."""
        meeting = await self.service.find(where, reference)
        self.service.require_moderator(user, meeting, "see the attendance of")
        provider = self.service.provider_for(meeting)
        self.service.require(provider, Capability.ATTENDANCE)
        current = await sampling.session_of(self.store, meeting)
        if session_id is not None:
            await self._own_session(meeting, session_id)
        wanted = session_id or current
        sessions = {s.session_id: s for s in await self.store.sessions(meeting.tenant, meeting.id)}
        session = sessions.get(wanted) if wanted is not None else None
        live = meeting.state is MeetingState.RUNNING and wanted == current
        if live:
            await self.service.keep_attendance(meeting)  # what the samples say, up to now
        elif Capability.ATTENDANCE_AFTER_END in provider.capabilities and wanted is not None:
            # The provider still knows; what it says is kept beside what was sampled. Seen
            # "now" means seen by the session's end, which is when it was last there.
            seen = await sampling.ask(self.store, provider, meeting, wanted)
            at = self.service.clock()
            if session is not None and session.ended_at is not None:
                at = min(at, session.ended_at)
            await self.store.record_attendance(meeting.id, wanted, seen, at)
        return await self.session_attendance(meeting, wanted, session)

    async def session_attendance(
        self, meeting: Meeting, session_id: str | None, session: SessionEntry | None
    ) -> SessionAttendance:
        """The session's attendance from our records: its samples and its join log."""
        provider = self.service.provider_for(meeting)
        presence = Capability.PRESENCE in provider.capabilities
        running = meeting.state is MeetingState.RUNNING and (
            session is not None and session.ended_at is None
        )
        seen, last = [], None
        if session_id is not None:
            seen = await self.store.attendance_entries(meeting.tenant, meeting.id, session_id)
            last = await self.store.last_sample(meeting.id, session_id)
        joined = report.joins_of(await self.store.join_log(meeting.tenant, meeting.id), session)
        people = report.people(joined, seen, presence=presence, over=not running, last_sample=last)
        return SessionAttendance(meeting, session_id, people, presence, running, last)

    async def present(self, meeting: Meeting) -> SessionAttendance | None:
        """Who is in the running meeting, as the latest sample saw it (no provider call)."""
        provider = self.service.provider_for(meeting)
        current = await sampling.session_of(self.store, meeting)
        if meeting.state is not MeetingState.RUNNING or current is None:
            return None
        if Capability.ATTENDANCE not in provider.capabilities:
            return None
        sessions = {s.session_id: s for s in await self.store.sessions(meeting.tenant, meeting.id)}
        return await self.session_attendance(meeting, current, sessions.get(current))

    async def _own_session(self, meeting: Meeting, session_id: str) -> None:
        """Refuse a session id that is not one of this meeting's (ids from elsewhere are shown
        by other meetings' history and must not be read through this one)."""
        ours = {s.session_id for s in await self.store.sessions(meeting.tenant, meeting.id)}
        provider = self.service.provider_for(meeting)
        if session_id not in ours and Capability.SESSIONS in provider.capabilities:
            ours |= {s.session_id for s in await provider.sessions(meeting.room)}
        if session_id not in ours:
            raise CommandError(
                f"{meeting.title} has no session {session_id!r}; /meet history "
                f"{meeting.id} lists its sessions."
            )

    async def recordings(
        self, where: Conversation, reference: str | None
    ) -> tuple[Meeting, list[Recording]]:
        meeting = await self.service.find(where, reference)
        provider = self.service.provider_for(meeting)
        self.service.require(provider, Capability.RECORDINGS)
        return meeting, await provider.recordings(meeting.room)

    async def manage_recording(
        self,
        user: ChatUser,
        where: Conversation,
        reference: str | None,
        *,
        recording_id: str,
        action: str,
    ) -> Meeting:
        meeting = await self.service.find(where, reference)
        self.service.require_moderator(user, meeting, f"{action} recordings of")
        provider = self.service.provider_for(meeting)
        self.service.require(provider, Capability.MANAGE_RECORDINGS)
        known = {r.recording_id for r in await provider.recordings(meeting.room)}
        if recording_id not in known:
            # Only recordings of this meeting: an id from elsewhere must not be touched.
            raise CommandError(f"{meeting.title} has no recording {recording_id!r}.")
        if action == "delete":
            await provider.delete_recording(meeting.room, recording_id)
        else:
            await provider.publish_recording(meeting.room, recording_id, action == "publish")
        return meeting

    async def settings(
        self, where: Conversation, reference: str | None
    ) -> tuple[Meeting, MeetingSettings]:
        meeting = await self.service.find(where, reference)
        provider = self.service.provider_for(meeting)
        self.service.require(provider, Capability.SETTINGS)
        return meeting, await provider.settings(meeting.room)

    async def default_settings(
        self, where: Conversation, provider_name: str | None
    ) -> tuple[str, MeetingSettings]:
        name = provider_name or self.service.policy.default_provider(
            where.tenant, self.service.default_provider
        )
        provider = self.service.providers.get(name)
        if provider is None:
            raise CommandError(f"{provider_label(name)} is not set up here.")
        self.service.require(provider, Capability.DEFAULT_SETTINGS)
        return name, await provider.default_settings()

    async def history(
        self, where: Conversation, reference: str | None
    ) -> tuple[Meeting, list[SessionRecord]]:
        meeting = await self.service.find(where, reference)
        provider = self.service.provider_for(meeting)
        if Capability.SESSIONS in provider.capabilities:
            return meeting, await provider.sessions(meeting.room)
        entries = await self.store.sessions(meeting.tenant, meeting.id)
        return meeting, [
            SessionRecord(e.session_id, meeting.title, e.started_at, e.ended_at, e.ended_at is None)
            for e in entries
        ]

    async def server(
        self, user: ChatUser, where: Conversation, provider_name: str
    ) -> ServerListing:
        """What the provider's server runs; only this tenant's meetings are named."""
        decision = self.service.decide(user, None)
        if decision.role is not Role.MODERATOR:
            raise CommandError(
                f"Only workspace moderators can look at the {provider_label(provider_name)} "
                f"server; you are an attendee ({decision.reason})."
            )
        provider = self.service.providers.get(provider_name)
        if provider is None:
            raise CommandError(f"{provider_label(provider_name)} is not set up here.")
        self.service.require(provider, Capability.LIST_ROOMS)
        rooms = await provider.list_rooms()
        ours_by_room = {
            m.room.room_id: m
            for m in await self.store.find_meetings(where.tenant, limit=1000)
            if m.provider == provider_name
        }
        ours = [(ours_by_room[r.room_id], r) for r in rooms if r.room_id in ours_by_room]
        return ServerListing(provider_name, ours, len(rooms) - len(ours))
