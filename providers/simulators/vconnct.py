"""A VConnct simulator faithful to the VConnct client API v1 document.

The twelve endpoints at their documented paths, JSON in and out, the `license` header checked
on every call, the envelope `{status, status_code, message, data, success_message}` with
`error_messages` on failure and the HTTP status equal to `status_code`. `POST
/api/v1/start_meeting/` serves both documented uses, as the document literally says: a body with
`moderator_name` starts a session, one with `fullname` and `role` joins. The URLs it hands out
lead to the simulator's own `/api/join` page, which records the attendee.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from providers.base import SETTING_NAMES
from providers.simulators._server import Simulator


@dataclass
class SimSession:
    session_id: str
    title: str | None
    attendee_password: str | None
    started: datetime
    ended: datetime | None = None
    attendance: list[tuple[str, datetime]] = field(default_factory=list)
    recording: str | None = None


@dataclass
class SimMeeting:
    meeting_id: str
    title: str | None
    moderator_password: str | None
    welcome_text: str | None
    settings: list[dict[str, Any]]
    sessions: list[SimSession] = field(default_factory=list)

    @property
    def current(self) -> SimSession | None:
        live = [s for s in self.sessions if s.ended is None]
        return live[-1] if live else None

    def setting(self, name: str) -> bool:
        return any(s["setting"] == name and s["value"] is True for s in self.settings)


class VConnctSimulator(Simulator):
    malformed_body = (b"<html><body>502 Bad Gateway</body></html>", "text/html")

    def __init__(self, license: str, *, max_rooms: int = 100) -> None:
        super().__init__()
        self.license = license
        self.max_rooms = max_rooms
        self.meetings: dict[str, SimMeeting] = {}
        self.last_headers: dict[str, str] = {}
        self.last_body: Any = None

    def reset(self) -> None:
        self.meetings.clear()
        self.last_headers = {}
        self.last_body = None

    def routes(self, app: web.Application) -> None:
        api = "/api/v1/"
        app.router.add_post(api + "create_meeting/", self._create)
        app.router.add_put(api + "update_meeting/", self._update)
        app.router.add_post(api + "start_meeting/", self._start_or_join)
        app.router.add_get(api + "end_meeting/", self._end)
        app.router.add_delete(api + "delete_scheduled_meeting/", self._delete)
        app.router.add_get(api + "list_sessions/", self._list_sessions)
        app.router.add_get(api + "list_meetings/", self._list_meetings)
        app.router.add_get(api + "list_attendance/", self._list_attendance)
        app.router.add_get(api + "list_setting/", self._list_setting)
        app.router.add_get(api + "list_general_meeting_setting/", self._general_settings)
        app.router.add_get(api + "get_record/", self._get_record)
        app.router.add_get("/api/join", self._join_page)
        app.router.add_get("/playback/presentation/2.3/{record}", self._playback)

    # -- plumbing -----------------------------------------------------------------------------

    async def _open(self, request: web.Request, *, body: bool = False) -> Any:
        """Check the license; return the JSON body (or raise an error answer)."""
        self.last_headers = dict(request.headers)
        given = request.headers.get("license", "")
        if not given or not secrets.compare_digest(given, self.license):
            raise _error(401, "invalid or expired license key")
        if not body:
            return None
        try:
            self.last_body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _error(400, "the request body must be JSON") from None
        if not isinstance(self.last_body, dict):
            raise _error(400, "the request body must be a JSON object")
        return self.last_body

    def _meeting(self, request: web.Request) -> SimMeeting:
        meeting_id = request.query.get("meeting_id", "")
        meeting = self.meetings.get(meeting_id)
        if meeting is None:
            raise _error(404, f"meeting {meeting_id!r} does not exist")
        return meeting

    def _session(self, request: web.Request) -> SimSession:
        session_id = request.query.get("session_id", "")
        for meeting in self.meetings.values():
            for session in meeting.sessions:
                if session.session_id == session_id:
                    return session
        raise _error(404, f"session {session_id!r} does not exist")

    # -- endpoints ----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._open(request, body=True)
        settings = _valid_settings(body)
        if len(self.meetings) >= self.max_rooms:
            raise _error(400, "the license's maximum number of meeting rooms is reached")
        meeting = SimMeeting(
            str(uuid.uuid4()),
            _optional_text(body, "title"),
            _optional_text(body, "moderator_password"),
            _optional_text(body, "welcome_text"),
            settings,
        )
        self.meetings[meeting.meeting_id] = meeting
        return _ok(_meeting_data(meeting), status=201, note="the meeting was created")

    async def _update(self, request: web.Request) -> web.Response:
        body = await self._open(request, body=True)
        meeting = self._meeting(request)
        meeting.settings = _valid_settings(body)
        for key in ("title", "moderator_password", "welcome_text"):
            if key in body:
                setattr(meeting, key, _optional_text(body, key))
        return _ok(_meeting_data(meeting), note="the meeting was updated")

    async def _start_or_join(self, request: web.Request) -> web.Response:
        body = await self._open(request, body=True)
        meeting = self.meetings.get(str(body.get("meeting_id", "")))
        if meeting is None:
            raise _error(404, "meeting_id is required and must name an existing meeting")
        if "moderator_name" in body:
            return self._start(request, meeting, body)
        if "fullname" in body or "role" in body:
            return self._join(request, meeting, body)
        raise _error(400, "moderator_name is required to start; fullname and role to join")

    def _start(
        self, request: web.Request, meeting: SimMeeting, body: dict[str, Any]
    ) -> web.Response:
        name = _required_text(body, "moderator_name")
        password = _optional_text(body, "moderator_password")
        if meeting.moderator_password and password != meeting.moderator_password:
            raise _error(400, "the moderator password is wrong")
        if meeting.current is not None:
            raise _error(400, "the meeting is already running")
        session = SimSession(
            str(uuid.uuid4()),
            _optional_text(body, "title") or meeting.title,
            _optional_text(body, "attendee_password"),
            datetime.now(UTC),
        )
        meeting.sessions.append(session)
        url = self._join_url(request, name, meeting, meeting.moderator_password)
        return _ok({"title": session.title, "url": url}, note="the meeting is now running")

    def _join(
        self, request: web.Request, meeting: SimMeeting, body: dict[str, Any]
    ) -> web.Response:
        fullname = _required_text(body, "fullname")
        role = body.get("role")
        if role not in ("moderator", "viewer"):
            raise _error(400, "role must be moderator or viewer")
        session = meeting.current
        if session is None:
            raise _error(400, "the meeting is not running")
        password = _optional_text(body, "password")
        expected = meeting.moderator_password if role == "moderator" else session.attendee_password
        if expected and password != expected:
            raise _error(400, f"the {role} password is wrong")
        url = self._join_url(request, fullname, meeting, password)
        return _ok({"url": url}, note="you joined the meeting")

    async def _end(self, request: web.Request) -> web.Response:
        await self._open(request)
        meeting = self._meeting(request)
        session = meeting.current
        if session is None:
            raise _error(400, "the meeting is not running")
        session.ended = datetime.now(UTC)
        if meeting.setting("record"):
            digest = hashlib.sha1(session.session_id.encode()).hexdigest()  # noqa: S324 - an id
            record_id = f"{digest}-{int(session.started.timestamp() * 1000)}"
            session.recording = (
                f"{request.scheme}://{request.host}/playback/presentation/2.3/{record_id}"
            )
        return _ok(None, note="done")

    async def _delete(self, request: web.Request) -> web.Response:
        await self._open(request)
        meeting = self._meeting(request)
        if meeting.current is not None:
            raise _error(400, "a running meeting cannot be deleted; end it first")
        del self.meetings[meeting.meeting_id]
        return _ok(None, note="deleted")

    async def _list_sessions(self, request: web.Request) -> web.Response:
        await self._open(request)
        meeting = self._meeting(request)
        return _ok([_session_data(s) for s in meeting.sessions])

    async def _list_meetings(self, request: web.Request) -> web.Response:
        await self._open(request)
        return _ok(
            [
                {
                    "meeting_id": m.meeting_id,
                    "title": m.title,
                    "is_running": m.current is not None,
                    "moderator_password": m.moderator_password,
                    "welcome_text": m.welcome_text,
                }
                for m in self.meetings.values()
            ]
        )

    async def _list_attendance(self, request: web.Request) -> web.Response:
        await self._open(request)
        session = self._session(request)
        return _ok(
            [{"full_name": n, "joined_date": _iso(at)} for n, at in reversed(session.attendance)]
        )

    async def _list_setting(self, request: web.Request) -> web.Response:
        await self._open(request)
        return _ok(self._meeting(request).settings)

    async def _general_settings(self, request: web.Request) -> web.Response:
        await self._open(request)
        # The document's example is not valid JSON; this is its evident intent.
        return _ok({name: False for name in SETTING_NAMES})

    async def _get_record(self, request: web.Request) -> web.Response:
        await self._open(request)
        session = self._session(request)
        if session.recording is None:
            raise _error(404, "this session has no recording")
        return _ok(session.recording)

    # -- pages --------------------------------------------------------------------------------

    def _join_url(
        self, request: web.Request, name: str, meeting: SimMeeting, password: str | None
    ) -> str:
        query = {"fullName": name, "meetingID": meeting.meeting_id, "password": password or ""}
        digest = hashlib.sha1(urlencode(query).encode()).hexdigest()  # noqa: S324 - like the doc
        return f"{request.scheme}://{request.host}/api/join?{urlencode(query)}&checksum={digest}"

    async def _join_page(self, request: web.Request) -> web.Response:
        meeting = self.meetings.get(request.query.get("meetingID", ""))
        session = meeting.current if meeting else None
        if meeting is None or session is None:
            return web.Response(status=404, text="This meeting is not running.")
        name = request.query.get("fullName", "")
        session.attendance.append((name, datetime.now(UTC)))
        return web.Response(
            text=f"<html><body>Welcome to {meeting.title}, {name}.</body></html>",
            content_type="text/html",
        )

    async def _playback(self, request: web.Request) -> web.Response:
        return web.Response(text="recording playback", content_type="text/html")


def _ok(data: Any, *, status: int = 200, note: str = "success") -> web.Response:
    return web.json_response(
        {
            "status": True,
            "status_code": status,
            "message": "success",
            "data": data,
            "success_message": note,
        },
        status=status,
    )


def _error(status: int, *messages: str) -> web.HTTPException:
    """The documented failure envelope, with the HTTP status equal to `status_code`."""
    body = {
        "status": False,
        "status_code": status,
        "message": "error",
        "error_messages": list(messages),
    }
    kind = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 404: web.HTTPNotFound}[status]
    return kind(text=json.dumps(body), content_type="application/json")


def _valid_settings(body: dict[str, Any]) -> list[dict[str, Any]]:
    given = body.get("meeting_setting")
    if not isinstance(given, list):
        raise _error(400, "meeting_setting is required: an array of 10 setting objects")
    seen: dict[str, bool] = {}
    for item in given:
        if not isinstance(item, dict) or set(item) != {"setting", "value"}:
            raise _error(400, 'each meeting_setting item is {"setting": name, "value": bool}')
        name, value = item["setting"], item["value"]
        if name not in SETTING_NAMES:
            raise _error(400, f"unknown setting {name!r}")
        if not isinstance(value, bool):
            raise _error(400, f"the value of {name} must be true or false")
        if name in seen:
            raise _error(400, f"setting {name} is given twice")
        seen[name] = value
    missing = [name for name in SETTING_NAMES if name not in seen]
    if missing:
        raise _error(400, *(f"setting {name} is required" for name in missing))
    return [{"setting": name, "value": seen[name]} for name in SETTING_NAMES]


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _error(400, f"{key} must be a string")
    return value


def _required_text(body: dict[str, Any], key: str) -> str:
    value = _optional_text(body, key)
    if not value:
        raise _error(400, f"{key} is required")
    return value


def _meeting_data(meeting: SimMeeting) -> dict[str, Any]:
    return {
        "meeting_id": meeting.meeting_id,
        "title": meeting.title,
        "moderator_password": meeting.moderator_password,
        "welcome_text": meeting.welcome_text,
        "meeting_setting": meeting.settings,
    }


def _session_data(session: SimSession) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "title": session.title,
        "session_start_time": _iso(session.started),
        "session_end_time": _iso(session.ended) if session.ended else None,
        "attendee_password": session.attendee_password,
        "status": session.ended is None,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
