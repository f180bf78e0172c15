"""The VConnct client: the twelve endpoints of the VConnct client API v1 and the neutral provider.

Every request carries the `license` header (and `Accept-Language` when configured) and sends
JSON. Every answer is the envelope `{status, status_code, message, data}`; the envelope decides,
whatever the HTTP status, and a failure's `error_messages` are surfaced verbatim. All ten
meeting settings are always sent. The document gives join at `POST /api/v1/start_meeting/`
(probably a copy of the start endpoint), so the join path is a constructor argument with that
documented default.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import ValidationError

from providers._client import ProviderClient
from providers._http import ProviderResponse, RetryPolicy, Sleep, Transport
from providers.base import (
    Attendee,
    Capability,
    JoinLink,
    MeetingSettings,
    Participant,
    ProviderHealth,
    Recording,
    Role,
    Room,
    RoomSpec,
    RoomState,
    RoomStatus,
    RoomSummary,
    RoomUpdate,
    SessionRecord,
    SessionStart,
)
from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.metering import NO_METER, CallMeter
from providers.vconnct import wire

NAME = "vconnct"
DOCUMENTED_JOIN_PATH = "/api/v1/start_meeting/"
JoinRole = Literal["moderator", "viewer"]


class VConnctClient(ProviderClient):
    """Async VConnct client on one pooled HTTP client; implements `MeetingProvider`."""

    name = NAME
    capabilities = frozenset(
        {
            Capability.START_SESSION,
            Capability.STATUS,
            Capability.ATTENDANCE,
            Capability.ATTENDANCE_AFTER_END,
            Capability.SESSIONS,
            Capability.RECORDINGS,
            Capability.SETTINGS,
            Capability.DEFAULT_SETTINGS,
            Capability.UPDATE,
            Capability.DELETE,
            Capability.LIST_ROOMS,
            Capability.ROLES,
        }
    )

    def __init__(
        self,
        *,
        url: str,
        license: str,  # named like the config key, though it shadows a builtin
        language: str | None = None,
        join_path: str = DOCUMENTED_JOIN_PATH,
        transport: Transport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        super().__init__(
            transport=transport,
            timeout=timeout,
            retry=retry,
            secrets=[license],
            sleep=sleep,
            meter=meter,
        )
        self._base = url.rstrip("/")
        self._headers = {"license": license, "Accept": "application/json"}
        if language:
            self._headers["Accept-Language"] = language
        self._join_path = "/" + join_path.strip("/") + "/"

    def __repr__(self) -> str:
        return f"VConnctClient(url={self._base!r}, join_path={self._join_path!r})"

    # -- the twelve documented endpoints ------------------------------------------------------

    async def create_meeting(
        self,
        settings: MeetingSettings,
        *,
        title: str | None = None,
        moderator_password: str | None = None,
        welcome_text: str | None = None,
    ) -> wire.CreatedMeeting:
        body = wire.meeting_body(settings, title, moderator_password, welcome_text)
        data = await self._call("POST", "/api/v1/create_meeting/", "create_meeting", json_body=body)
        return wire.read_created(data, "create_meeting")

    async def update_meeting(
        self,
        meeting_id: str,
        settings: MeetingSettings,
        *,
        title: str | None = None,
        moderator_password: str | None = None,
        welcome_text: str | None = None,
    ) -> wire.CreatedMeeting:
        body = wire.meeting_body(settings, title, moderator_password, welcome_text)
        data = await self._call(
            "PUT",
            "/api/v1/update_meeting/",
            "update_meeting",
            query={"meeting_id": meeting_id},
            json_body=body,
        )
        return wire.read_created(data, "update_meeting")

    async def start_meeting(
        self,
        meeting_id: str,
        moderator_name: str,
        *,
        title: str | None = None,
        attendee_password: str | None = None,
        moderator_password: str | None = None,
        logout_url: str | None = None,
    ) -> str:
        body = wire.compact(
            meeting_id=meeting_id,
            moderator_name=moderator_name,
            title=title,
            attendee_password=attendee_password,
            moderator_password=moderator_password,
            logout_url=logout_url,
        )
        data = await self._call("POST", "/api/v1/start_meeting/", "start_meeting", json_body=body)
        return wire.parse(wire.UrlData, data, "start_meeting").url

    async def join(
        self, meeting_id: str, fullname: str, role: JoinRole, *, password: str | None = None
    ) -> str:
        body = wire.compact(meeting_id=meeting_id, fullname=fullname, password=password, role=role)
        # A join only mints a URL: asking again after a lost answer makes nothing twice.
        data = await self._call("POST", self._join_path, "join", json_body=body, idempotent=True)
        return wire.parse(wire.UrlData, data, "join").url

    async def end_meeting(self, meeting_id: str) -> None:
        await self._call(
            "GET", "/api/v1/end_meeting/", "end_meeting", query={"meeting_id": meeting_id}
        )

    async def delete_scheduled_meeting(self, meeting_id: str) -> None:
        await self._call(
            "DELETE",
            "/api/v1/delete_scheduled_meeting/",
            "delete_scheduled_meeting",
            query={"meeting_id": meeting_id},
        )

    async def list_sessions(self, meeting_id: str) -> list[wire.SessionInfo]:
        data = await self._call(
            "GET", "/api/v1/list_sessions/", "list_sessions", query={"meeting_id": meeting_id}
        )
        return wire.parse_list(wire.SessionInfo, data, "list_sessions")

    async def list_meetings(self) -> list[wire.MeetingInfo]:
        data = await self._call("GET", "/api/v1/list_meetings/", "list_meetings")
        return wire.parse_list(wire.MeetingInfo, data, "list_meetings")

    async def list_attendance(self, session_id: str) -> list[wire.AttendanceEntry]:
        data = await self._call(
            "GET", "/api/v1/list_attendance/", "list_attendance", query={"session_id": session_id}
        )
        return wire.parse_list(wire.AttendanceEntry, data, "list_attendance")

    async def list_setting(self, meeting_id: str) -> MeetingSettings:
        data = await self._call(
            "GET", "/api/v1/list_setting/", "list_setting", query={"meeting_id": meeting_id}
        )
        return wire.read_settings(data, "list_setting")

    async def list_general_meeting_setting(self) -> MeetingSettings:
        data = await self._call(
            "GET", "/api/v1/list_general_meeting_setting/", "list_general_meeting_setting"
        )
        return wire.read_settings(data, "list_general_meeting_setting")

    async def get_record(self, session_id: str) -> str:
        data = await self._call(
            "GET", "/api/v1/get_record/", "get_record", query={"session_id": session_id}
        )
        if not isinstance(data, str) or not data:
            raise ProviderProtocolError(NAME, "get_record", "answered without a recording URL")
        return data

    # -- transport ----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        url = self._base + path + ("?" + urlencode(dict(query)) if query else "")
        with self._http.measured(operation):
            response = await self._http.send(
                method,
                url,
                operation=operation,
                # POSTs create meetings and sessions: a retry could double them.
                idempotent=method != "POST" if idempotent is None else idempotent,
                headers=self._headers,
                json=json_body,
            )
            return self._read(response, operation)

    def _read(self, response: ProviderResponse, operation: str) -> Any:
        """The envelope's data, or the provider error it says."""
        try:
            envelope = wire.read_envelope(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
            if response.status_code in (401, 403):
                raise ProviderAuthError(
                    NAME, operation, f"HTTP {response.status_code}: the license was refused"
                ) from None
            raise ProviderProtocolError(
                NAME, operation, f"answered HTTP {response.status_code} without the envelope"
            ) from None
        if envelope.status:
            return envelope.data
        code = envelope.status_code or response.status_code
        words = "; ".join(envelope.error_messages or []) or envelope.message or "failed"
        words = self._http.redact(words)
        if code in (401, 403):
            raise ProviderAuthError(NAME, operation, f"the license was refused: {words}")
        if code == 404:
            raise ProviderNotFound(NAME, operation, words, key=str(code), status=code)
        raise ProviderRejected(NAME, operation, words, key=str(code), status=code)

    # -- MeetingProvider ----------------------------------------------------------------------

    async def health(self) -> ProviderHealth:
        try:
            await self.list_general_meeting_setting()
        except ProviderAuthError as error:
            return ProviderHealth(ok=False, detail=error.message)
        return ProviderHealth(ok=True, detail="license accepted")

    async def create_room(self, spec: RoomSpec) -> Room:
        """Create the room. VConnct chooses its id, but the moderator password is ours and
        unique: if the answer is lost (the server may have made it), the room is found by it
        in the server's list and adopted, so nothing is left behind or made twice."""
        password = secrets.token_urlsafe(12)
        try:
            created = await self.create_meeting(
                spec.settings,
                title=spec.title,
                moderator_password=password,
                welcome_text=spec.welcome,
            )
            room_id = created.meeting_id
        except (ProviderUnavailable, ProviderProtocolError) as lost:
            room_id = await self._find_lost_room(password, spec.title, lost)
        return Room(
            provider=NAME,
            room_id=room_id,
            title=spec.title,
            settings=spec.settings,
            moderator_password=password,
            welcome=spec.welcome,
            extra={"logout_url": spec.logout_url} if spec.logout_url else {},
        )

    async def _find_lost_room(self, password: str, title: str, lost: ProviderError) -> str:
        """The id of the room a lost create made, or the error to raise if it made none."""
        try:
            listed = await self.list_meetings()
        except ProviderError:
            raise ProviderOutcomeUnknown(
                NAME,
                lost.operation,
                f"{lost.message}; it may still have made the meeting {title!r}, which could not "
                "be looked for",
            ) from lost
        found = next((m for m in listed if m.moderator_password == password), None)
        if found is None:
            raise lost  # nothing was made
        return found.meeting_id

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart:
        """Start a session with a fresh attendee password. If the answer is lost, the server's
        list tells whether the session started; one that did is taken as ours (its attendee
        password is the one just sent)."""
        attendee_password = secrets.token_urlsafe(12)
        url: str | None = None
        try:
            url = await self.start_meeting(
                room.room_id,
                moderator.display_name,
                title=room.title,
                attendee_password=attendee_password,
                moderator_password=room.moderator_password,
                logout_url=room.extra.get("logout_url"),
            )
        except (ProviderUnavailable, ProviderProtocolError):
            listed = await self.list_meetings()
            if not any(m.meeting_id == room.room_id and m.is_running for m in listed):
                raise
        latest = await self._latest_session(room)
        session_id = latest.session_id if latest is not None else None
        return SessionStart(
            room=room.evolve(attendee_password=attendee_password, session_id=session_id),
            moderator_url=url,
        )

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink:
        moderator = role is Role.MODERATOR
        url = await self.join(
            room.room_id,
            participant.display_name,
            "moderator" if moderator else "viewer",
            password=room.moderator_password if moderator else room.attendee_password,
        )
        return JoinLink(url, role)

    async def end(self, room: Room) -> None:
        """End the running session. "Not running" (a retry whose first answer was lost, or an
        end from inside the meeting) and an unreadable answer are an end done, unless the
        server's list says the meeting still runs."""
        try:
            await self.end_meeting(room.room_id)
        except ProviderNotFound:
            raise
        except (ProviderRejected, ProviderProtocolError):
            listed = await self.list_meetings()
            if any(m.meeting_id == room.room_id and m.is_running for m in listed):
                raise

    async def status(self, room: Room) -> RoomStatus:
        found = next((m for m in await self.list_meetings() if m.meeting_id == room.room_id), None)
        if found is None:
            return RoomStatus(RoomState.ABSENT, detail="not on the server")
        if found.is_running:
            latest = await self._latest_session(room)
            started = latest.session_start_time if latest is not None else None
            return RoomStatus(RoomState.RUNNING, started_at=started, detail="running")
        if room.session_id is not None:
            # The room outlives its sessions: the one we started has ended if it has an end.
            ours = next(
                (
                    s
                    for s in await self.list_sessions(room.room_id)
                    if s.session_id == room.session_id
                ),
                None,
            )
            if ours is not None and ours.session_end_time is not None:
                return RoomStatus(
                    RoomState.ENDED,
                    started_at=ours.session_start_time,
                    ended_at=ours.session_end_time,
                    detail="session ended",
                )
        return RoomStatus(RoomState.WAITING, detail="not running")

    async def attendance(
        self,
        room: Room,
        *,
        session_id: str | None = None,
        participant_ids: Sequence[str] = (),
    ) -> list[Attendee]:
        if session_id is None:
            latest = await self._latest_session(room)
            if latest is None:
                return []
            session_id = latest.session_id
        entries = await self.list_attendance(session_id)
        return [Attendee(name=e.full_name, joined_at=e.joined_date) for e in entries]

    async def sessions(self, room: Room) -> list[SessionRecord]:
        return [
            SessionRecord(
                session_id=s.session_id,
                title=s.title,
                started_at=s.session_start_time,
                ended_at=s.session_end_time,
                active=s.status,
            )
            for s in await self.list_sessions(room.room_id)
        ]

    async def recordings(self, room: Room) -> list[Recording]:
        found = []
        for session in await self.list_sessions(room.room_id):
            try:
                url = await self.get_record(session.session_id)
            except ProviderNotFound:
                continue  # that session was not recorded
            found.append(
                Recording(
                    recording_id=session.session_id,
                    url=url,
                    started_at=session.session_start_time,
                    ended_at=session.session_end_time,
                    session_id=session.session_id,
                    name=session.title,
                )
            )
        return found

    async def settings(self, room: Room) -> MeetingSettings:
        return await self.list_setting(room.room_id)

    async def default_settings(self) -> MeetingSettings:
        return await self.list_general_meeting_setting()

    async def update_room(self, room: Room, update: RoomUpdate) -> Room:
        settings = update.settings or room.settings
        title = update.title or room.title
        welcome = update.welcome if update.welcome is not None else room.welcome
        password = update.moderator_password or room.moderator_password
        await self.update_meeting(
            room.room_id, settings, title=title, moderator_password=password, welcome_text=welcome
        )
        return room.evolve(
            settings=settings, title=title, welcome=welcome, moderator_password=password
        )

    async def delete_room(self, room: Room) -> None:
        """Delete the room; an unreadable answer is a delete done if the room is gone from the
        server's list."""
        try:
            await self.delete_scheduled_meeting(room.room_id)
        except ProviderProtocolError:
            if any(m.meeting_id == room.room_id for m in await self.list_meetings()):
                raise

    async def list_rooms(self) -> list[RoomSummary]:
        return [
            RoomSummary(m.meeting_id, m.title, running=m.is_running)
            for m in await self.list_meetings()
        ]

    async def _latest_session(self, room: Room) -> wire.SessionInfo | None:
        sessions = await self.list_sessions(room.room_id)
        if not sessions:
            return None
        # Newest by start time; a session without one sorts first.
        return max(
            sessions,
            key=lambda s: (s.session_start_time is not None, s.session_start_time or datetime.min),
        )
