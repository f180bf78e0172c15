"""A LiveMinutes simulator faithful to the LiveMinutes API document.

Eight POST methods at the root, form-encoded, HTTP Basic auth, JSON answers with `resultcode`.
As documented, every failure (wrong credentials, unknown meeting, missing or too long
parameter) is HTTP 200 with `resultcode` 0. The URLs it hands out are pages on the simulator:
opening the host or a participant URL puts them "in progress"; `<url>/leave` makes them quit.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from dataclasses import dataclass, field

from aiohttp import web

from providers.simulators._server import Simulator

ID_LIMIT = 50
METHODS = (
    "createMeeting",
    "addParticipant",
    "getParticipantUrl",
    "getMeetingUrl",
    "cancelMeeting",
    "cancelParticipant",
    "getMeetingStatus",
    "getParticipantStatus",
)
# Meeting status codes (idlastbookingstatus) and participant codes (idlastparticipantstatus).
START, IN_PROGRESS, HOST_QUIT, FINISHED = 1, 8, 11, 12
ACCEPTED, P_IN_PROGRESS, P_QUIT = 2, 10, 11


@dataclass
class SimParticipant:
    puid: str
    token: str
    nickname: str | None = None
    email: str | None = None
    status: int = ACCEPTED


@dataclass
class SimMeeting:
    key: str
    hostid: str
    code: str
    host_token: str
    form: dict[str, str]
    status: int = START
    participants: dict[str, SimParticipant] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    content_type: str
    authorization: str | None
    form: dict[str, str]


class LiveMinutesSimulator(Simulator):
    malformed_body = (b"<html><body>Service Unavailable", "text/html")

    def __init__(
        self, account_sid: str, auth_token: str, *, max_users: int = 1000, max_sessions: int = 10000
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.max_users = max_users
        self.max_sessions = max_sessions
        self.meetings: dict[str, SimMeeting] = {}
        self.requests: list[RecordedRequest] = []
        self._tokens: dict[str, tuple[str, str | None]] = {}  # token -> (meeting key, puid/None)

    def reset(self) -> None:
        self.meetings.clear()
        self.requests.clear()
        self._tokens.clear()

    def routes(self, app: web.Application) -> None:
        for method in METHODS:
            app.router.add_route("*", f"/{method}", self._api)
        app.router.add_get("/e/{token}", self._enter)
        app.router.add_get("/e/{token}/leave", self._leave)
        app.router.add_get("/{code}", self._meeting_page)

    # -- API ----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, text="LiveMinutes API calls are HTTP POST")
        method = request.path.lstrip("/")
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(
            RecordedRequest(
                method,
                request.content_type,
                request.headers.get("Authorization"),
                form,
            )
        )
        if not self._authorized(request.headers.get("Authorization")):
            return _failed()
        handler = getattr(self, f"_m_{method}")
        answer: web.Response = handler(form, request)
        return answer

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        sid, _, token = decoded.partition(":")
        return secrets.compare_digest(sid, self.account_sid) and secrets.compare_digest(
            token, self.auth_token
        )

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    def _m_createMeeting(self, form: dict[str, str], request: web.Request) -> web.Response:
        key, hostid = form.get("meetingKey", ""), form.get("hostid", "")
        if not key or not hostid or len(hostid) > ID_LIMIT:
            return _failed()
        # A second createMeeting for a live key would hand out a second host URL for the same
        # session; the document lists no duplicate answer, so it is refused like any failure.
        existing = self.meetings.get(key)
        if existing is not None and existing.status != FINISHED:
            return _failed()
        if len(self.meetings) >= self.max_sessions:
            return _failed()
        meeting = SimMeeting(key, hostid, _code(), _token(), dict(form))
        self.meetings[key] = meeting
        self._tokens[meeting.host_token] = (key, None)
        base = self._base(request)
        return _ok(
            meetingKey=key,
            meetingUrl=f"{base}/{meeting.code}",
            hostUrl=f"{base}/e/{meeting.host_token}",
        )

    def _m_addParticipant(self, form: dict[str, str], request: web.Request) -> web.Response:
        meeting, puid = self._live(form), form.get("puid", "")
        if meeting is None or not puid or len(puid) > ID_LIMIT:
            return _failed()
        users = sum(len(m.participants) for m in self.meetings.values())
        if puid not in meeting.participants and users >= self.max_users:
            return _failed()
        participant = meeting.participants.get(puid)
        if participant is None:
            participant = SimParticipant(puid, _token(), form.get("nickname"), form.get("email"))
            meeting.participants[puid] = participant
            self._tokens[participant.token] = (meeting.key, puid)
        return _ok(
            meetingKey=meeting.key, participantUrl=f"{self._base(request)}/e/{participant.token}"
        )

    def _m_getParticipantUrl(self, form: dict[str, str], request: web.Request) -> web.Response:
        participant = self._participant(form)
        if participant is None:
            return _failed()
        return _ok(participantUrl=f"{self._base(request)}/e/{participant.token}")

    def _m_getMeetingUrl(self, form: dict[str, str], request: web.Request) -> web.Response:
        meeting = self._live(form)
        if meeting is None:
            return _failed()
        return _ok(meetingUrl=f"{self._base(request)}/{meeting.code}")

    def _m_cancelMeeting(self, form: dict[str, str], _request: web.Request) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        if meeting is None:
            return _failed()
        meeting.status = FINISHED
        return _ok(meetingKey=meeting.key)

    def _m_cancelParticipant(self, form: dict[str, str], _request: web.Request) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        participant = self._participant(form)
        if meeting is None or participant is None:
            return _failed()
        del meeting.participants[participant.puid]
        self._tokens.pop(participant.token, None)
        return _ok(meetingKey=meeting.key)

    def _m_getMeetingStatus(self, form: dict[str, str], _request: web.Request) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        if meeting is None:
            return _failed()
        return _ok(status=str(meeting.status))

    def _m_getParticipantStatus(self, form: dict[str, str], _request: web.Request) -> web.Response:
        participant = self._participant(form)
        if participant is None:
            return _failed()
        return _ok(status=str(participant.status))

    def _live(self, form: dict[str, str]) -> SimMeeting | None:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        return meeting if meeting is not None and meeting.status != FINISHED else None

    def _participant(self, form: dict[str, str]) -> SimParticipant | None:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        puid = form.get("puid", "")
        if meeting is None or not puid or len(puid) > ID_LIMIT:
            return None
        return meeting.participants.get(puid)

    # -- the pages the URLs lead to -----------------------------------------------------------

    def _resolve(self, token: str) -> tuple[SimMeeting, SimParticipant | None] | None:
        found = self._tokens.get(token)
        if found is None:
            return None
        meeting = self.meetings.get(found[0])
        if meeting is None or meeting.status == FINISHED:
            return None
        return meeting, meeting.participants.get(found[1]) if found[1] else None

    async def _enter(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request.match_info["token"])
        if resolved is None:
            return web.Response(status=404, text="This LiveMinutes link is no longer valid.")
        meeting, participant = resolved
        meeting.status = IN_PROGRESS
        if participant is not None:
            participant.status = P_IN_PROGRESS
        who = participant.nickname or participant.puid if participant else "host"
        return web.Response(
            text=f"<html><body>LiveMinutes session {meeting.key}: welcome, {who}.</body></html>",
            content_type="text/html",
        )

    async def _leave(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request.match_info["token"])
        if resolved is None:
            return web.Response(status=404, text="This LiveMinutes link is no longer valid.")
        meeting, participant = resolved
        if participant is None:
            meeting.status = HOST_QUIT
        else:
            participant.status = P_QUIT
        return web.Response(text="You left the session.")

    async def _meeting_page(self, request: web.Request) -> web.Response:
        code = request.match_info["code"]
        meeting = next((m for m in self.meetings.values() if m.code == code), None)
        if meeting is None:
            return web.Response(status=404, text="No such LiveMinutes meeting.")
        return web.Response(text=f"LiveMinutes meeting {meeting.key}", content_type="text/html")


def _ok(**fields: str) -> web.Response:
    return web.json_response({"resultcode": 1, **fields})


def _failed() -> web.Response:
    return web.json_response({"resultcode": 0})


def _code() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(6))


def _token() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "LIVE" + "".join(secrets.choice(alphabet) for _ in range(20))
