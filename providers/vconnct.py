"""VConnct client: the twelve endpoints of the VConnct client API v1 and the neutral provider.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from providers._http import ProviderHttp, RetryPolicy, Sleep, build_client
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
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnsupported,
)

NAME = "vconnct"
DOCUMENTED_JOIN_PATH = "/api/v1/start_meeting/"
JoinRole = Literal["moderator", "viewer"]
_M = TypeVar("_M", bound=BaseModel)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Model):
    status: bool
    status_code: int | None = None
    message: str | None = None
    data: Any = None
    error_messages: list[str] | None = None


class MeetingInfo(_Model):
    meeting_id: str
    title: str | None = None
    moderator_password: str | None = None
    welcome_text: str | None = None
    is_running: bool | None = None


class SessionInfo(_Model):
    session_id: str
    title: str | None = None
    session_start_time: datetime | None = None
    session_end_time: datetime | None = None
    attendee_password: str | None = None
    status: bool | None = None


class AttendanceEntry(_Model):
    full_name: str
    joined_date: datetime | None = None


class UrlData(_Model):
    url: str
    title: str | None = None


@dataclass(frozen=True)
class CreatedMeeting:
    meeting_id: str
    title: str | None
    moderator_password: str | None
    welcome_text: str | None
    settings: MeetingSettings


class VConnctClient:
    """Async VConnct client on one pooled HTTP client; implements `MeetingProvider`."""

    name = NAME
    capabilities = frozenset(
        {
            Capability.START_SESSION,
            Capability.STATUS,
            Capability.ATTENDANCE,
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
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._base = url.rstrip("/")
        self._headers = {"license": license, "Accept": "application/json"}
        if language:
            self._headers["Accept-Language"] = language
        self._join_path = "/" + join_path.strip("/") + "/"
        self._owns_client = client is None
        self._http = ProviderHttp(
            NAME,
            client or build_client(timeout=timeout),
            timeout=timeout,
            retry=retry,
            secrets=[license],
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"VConnctClient(url={self._base!r}, join_path={self._join_path!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.client.aclose()

    # -- the twelve documented endpoints ------------------------------------------------------

    async def create_meeting(
        self,
        settings: MeetingSettings,
        *,
        title: str | None = None,
        moderator_password: str | None = None,
        welcome_text: str | None = None,
    ) -> CreatedMeeting:
        body = _meeting_body(settings, title, moderator_password, welcome_text)
        data = await self._call("POST", "/api/v1/create_meeting/", "create_meeting", json_body=body)
        return _created(data, "create_meeting")

    async def update_meeting(
        self,
        meeting_id: str,
        settings: MeetingSettings,
        *,
        title: str | None = None,
        moderator_password: str | None = None,
        welcome_text: str | None = None,
    ) -> CreatedMeeting:
        body = _meeting_body(settings, title, moderator_password, welcome_text)
        data = await self._call(
            "PUT",
            "/api/v1/update_meeting/",
            "update_meeting",
            query={"meeting_id": meeting_id},
            json_body=body,
        )
        return _created(data, "update_meeting")

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
        body = _compact(
            meeting_id=meeting_id,
            moderator_name=moderator_name,
            title=title,
            attendee_password=attendee_password,
            moderator_password=moderator_password,
            logout_url=logout_url,
        )
        data = await self._call("POST", "/api/v1/start_meeting/", "start_meeting", json_body=body)
        return _parse(UrlData, data, "start_meeting").url

    async def join(
        self, meeting_id: str, fullname: str, role: JoinRole, *, password: str | None = None
    ) -> str:
        body = _compact(meeting_id=meeting_id, fullname=fullname, password=password, role=role)
        data = await self._call("POST", self._join_path, "join", json_body=body)
        return _parse(UrlData, data, "join").url

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

    async def list_sessions(self, meeting_id: str) -> list[SessionInfo]:
        data = await self._call(
            "GET", "/api/v1/list_sessions/", "list_sessions", query={"meeting_id": meeting_id}
        )
        return _parse_list(SessionInfo, data, "list_sessions")

    async def list_meetings(self) -> list[MeetingInfo]:
        data = await self._call("GET", "/api/v1/list_meetings/", "list_meetings")
        return _parse_list(MeetingInfo, data, "list_meetings")

    async def list_attendance(self, session_id: str) -> list[AttendanceEntry]:
        data = await self._call(
            "GET", "/api/v1/list_attendance/", "list_attendance", query={"session_id": session_id}
        )
        return _parse_list(AttendanceEntry, data, "list_attendance")

    async def list_setting(self, meeting_id: str) -> MeetingSettings:
        data = await self._call(
            "GET", "/api/v1/list_setting/", "list_setting", query={"meeting_id": meeting_id}
        )
        return _settings(data, "list_setting")

    async def list_general_meeting_setting(self) -> MeetingSettings:
        data = await self._call(
            "GET", "/api/v1/list_general_meeting_setting/", "list_general_meeting_setting"
        )
        return _settings(data, "list_general_meeting_setting")

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
    ) -> Any:
        url = httpx.URL(self._base + path, params=dict(query) if query else None)
        response = await self._http.send(
            method,
            str(url),
            operation=operation,
            # POSTs create meetings, sessions or links: a retry could double them.
            idempotent=method != "POST",
            headers=self._headers,
            json=json_body,
        )
        try:
            envelope = Envelope.model_validate(response.json())
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
        password = secrets.token_urlsafe(12)
        created = await self.create_meeting(
            spec.settings, title=spec.title, moderator_password=password, welcome_text=spec.welcome
        )
        return Room(
            provider=NAME,
            room_id=created.meeting_id,
            title=spec.title,
            settings=spec.settings,
            moderator_password=password,
            welcome=spec.welcome,
            extra={"logout_url": spec.logout_url} if spec.logout_url else {},
        )

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart:
        attendee_password = secrets.token_urlsafe(12)
        url = await self.start_meeting(
            room.room_id,
            moderator.display_name,
            title=room.title,
            attendee_password=attendee_password,
            moderator_password=room.moderator_password,
            logout_url=room.extra.get("logout_url"),
        )
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
        await self.end_meeting(room.room_id)

    async def status(self, room: Room) -> RoomStatus:
        found = next((m for m in await self.list_meetings() if m.meeting_id == room.room_id), None)
        if found is None:
            return RoomStatus(RoomState.ABSENT, detail="not on the server")
        if found.is_running:
            latest = await self._latest_session(room)
            started = latest.session_start_time if latest is not None else None
            return RoomStatus(RoomState.RUNNING, started_at=started, detail="running")
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
        await self.delete_scheduled_meeting(room.room_id)

    async def list_rooms(self) -> list[RoomSummary]:
        return [
            RoomSummary(m.meeting_id, m.title, running=m.is_running)
            for m in await self.list_meetings()
        ]

    async def remove_participant(self, room: Room, participant_id: str) -> None:
        raise ProviderUnsupported(NAME, "remove_participant", Capability.REMOVE_PARTICIPANT.value)

    async def publish_recording(self, room: Room, recording_id: str, publish: bool) -> None:
        raise ProviderUnsupported(NAME, "publish_recording", Capability.MANAGE_RECORDINGS.value)

    async def delete_recording(self, room: Room, recording_id: str) -> None:
        raise ProviderUnsupported(NAME, "delete_recording", Capability.MANAGE_RECORDINGS.value)

    async def _latest_session(self, room: Room) -> SessionInfo | None:
        sessions = await self.list_sessions(room.room_id)
        if not sessions:
            return None
        # Newest by start time; a session without one sorts first.
        return max(
            sessions,
            key=lambda s: (s.session_start_time is not None, s.session_start_time or datetime.min),
        )


def _compact(**fields: str | None) -> dict[str, str]:
    return {key: value for key, value in fields.items() if value is not None}


def _meeting_body(
    settings: MeetingSettings,
    title: str | None,
    moderator_password: str | None,
    welcome_text: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = _compact(
        title=title, moderator_password=moderator_password, welcome_text=welcome_text
    )
    # The document requires all ten settings on every create and update.
    body["meeting_setting"] = [{"setting": n, "value": v} for n, v in settings.items()]
    return body


def _settings(data: Any, operation: str) -> MeetingSettings:
    # list_setting answers a list of {setting, value}. The document's example for
    # list_general_meeting_setting is not valid JSON ("data": ["name": false, ...]); its evident
    # intent is an object of name -> value, which is what we accept besides the list form.
    try:
        if isinstance(data, dict):
            return MeetingSettings.from_pairs(data.items())
        if isinstance(data, list):
            return MeetingSettings.from_pairs((item["setting"], item["value"]) for item in data)
    except (ValueError, KeyError, TypeError) as error:
        raise ProviderProtocolError(
            NAME, operation, f"settings are not readable: {error}"
        ) from None
    raise ProviderProtocolError(NAME, operation, "answered without settings")


def _created(data: Any, operation: str) -> CreatedMeeting:
    info = _parse(MeetingInfo, data, operation)
    settings = _settings(data.get("meeting_setting"), operation)
    return CreatedMeeting(
        info.meeting_id, info.title, info.moderator_password, info.welcome_text, settings
    )


def _parse(model: type[_M], data: Any, operation: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise ProviderProtocolError(
            NAME, operation, f"answered data that is not a {model.__name__}"
        ) from None


def _parse_list(model: type[_M], data: Any, operation: str) -> list[_M]:
    if not isinstance(data, list):
        raise ProviderProtocolError(NAME, operation, "answered data that is not a list")
    return [_parse(model, item, operation) for item in data]
