"""A LiveMinutes simulator faithful to the LiveMinutes API document.

Eight POST methods at the root, form-encoded, HTTP Basic auth (AccountSid, AuthToken), JSON
answers with `resultcode`. As documented, every failure (wrong credentials, unknown meeting,
missing or too long parameter, a beta limit reached) is HTTP 200 with `resultcode` 0. Other HTTP
methods answer 405.

The URLs it hands out are pages on the simulator, shaped like the document's examples: the
meeting page `<base>/<6-char code>`, the host and participant URLs `<base>/e/<token>`. Opening
the host or a participant URL puts the meeting (and the participant) "in progress"; the
conveniences `<url>/leave` and `<participant url>/refuse` make them quit or refuse. Once a
meeting is cancelled its pages answer 404.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import string
from collections import deque
from dataclasses import dataclass, field
from typing import TypeGuard

from aiohttp import web

from providers.simulators._server import Simulator

ID_LIMIT = 50  # hostid and puid: "Length <= 50"
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
# Meeting codes (idlastbookingstatus) and participant codes (idlastparticipantstatus).
START, IN_PROGRESS, HOST_QUIT, FINISHED = 1, 8, 11, 12
ACCEPTED, REFUSED, P_IN_PROGRESS, P_QUIT = 2, 3, 10, 11
RECORDED_REQUESTS = 200  # enough for any test, bounded for a long demo run

_ALPHABET = string.ascii_uppercase + string.digits
_GONE = "This LiveMinutes link is no longer valid."


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
    form: dict[str, str]  # everything createMeeting was sent (title, time, duration, ...)
    status: int = START
    participants: dict[str, SimParticipant] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.status != FINISHED


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as it arrived, for tests to check the encoding and the auth."""

    method: str
    content_type: str
    authorization: str | None
    form: dict[str, str]

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """(username, password) of a well-formed Basic Authorization header."""
        return _basic(self.authorization)


class LiveMinutesSimulator(Simulator):
    """The LiveMinutes API for one account; `meetings` and `requests` are open for tests."""

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
        # "Users created with the API are standard LiveMinutes users": hosts and participants,
        # each counted once however many sessions they are in.
        self.users: set[str] = set()
        self.requests: deque[RecordedRequest] = deque(maxlen=RECORDED_REQUESTS)
        self._tokens: dict[str, tuple[str, str | None]] = {}  # token -> (meeting key, puid/None)

    def reset(self) -> None:
        self.meetings.clear()
        self.users.clear()
        self.requests.clear()
        self._tokens.clear()

    def routes(self, app: web.Application) -> None:
        for method in METHODS:
            app.router.add_route("*", f"/{method}", self._api)
        app.router.add_get("/e/{token}", self._enter)
        app.router.add_get("/e/{token}/leave", self._leave)
        app.router.add_get("/e/{token}/refuse", self._refuse)
        app.router.add_get("/{code}", self._meeting_page)

    # -- API ----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        method = request.path.lstrip("/")
        form = {key: str(value) for key, value in (await request.post()).items()}
        authorization = request.headers.get("Authorization")
        self.requests.append(RecordedRequest(method, request.content_type, authorization, form))
        if not self._authorized(authorization):
            return _failed()
        base = f"{request.scheme}://{request.host}"
        handlers = {
            "createMeeting": self._create_meeting,
            "addParticipant": self._add_participant,
            "getParticipantUrl": self._get_participant_url,
            "getMeetingUrl": self._get_meeting_url,
            "cancelMeeting": self._cancel_meeting,
            "cancelParticipant": self._cancel_participant,
            "getMeetingStatus": self._get_meeting_status,
            "getParticipantStatus": self._get_participant_status,
        }
        return handlers[method](form, base)

    def _authorized(self, authorization: str | None) -> bool:
        credentials = _basic(authorization)
        if credentials is None:
            return False
        sid, token = credentials
        # Both compared in full either way, so timing does not say which one was wrong.
        sid_ok = secrets.compare_digest(sid.encode(), self.account_sid.encode())
        token_ok = secrets.compare_digest(token.encode(), self.auth_token.encode())
        return sid_ok and token_ok

    def _create_meeting(self, form: dict[str, str], base: str) -> web.Response:
        if "meetingKey" not in form or not _valid_id(form.get("hostid")):
            return _failed()
        # meetingKey is "required" yet "Length >= 0", and the document offers to "create one
        # for you": an empty key gets a server-made one, which the answer's meetingKey returns.
        key = form["meetingKey"] or self._new_key()
        # A key stays taken after cancelMeeting (getMeetingStatus still answers 12 for it), and
        # a second host URL for a live key would be worse; the document lists no answer for a
        # duplicate, so it fails like any other refusal.
        if key in self.meetings or len(self.meetings) >= self.max_sessions:
            return _failed()
        hostid = form["hostid"]
        if not self._room_for_user(hostid):
            return _failed()
        self.users.add(hostid)
        meeting = SimMeeting(key, hostid, self._new_code(), _token(), dict(form))
        self.meetings[key] = meeting
        self._tokens[meeting.host_token] = (key, None)
        return _ok(
            meetingKey=key,
            meetingUrl=f"{base}/{meeting.code}",
            hostUrl=f"{base}/e/{meeting.host_token}",
        )

    def _add_participant(self, form: dict[str, str], base: str) -> web.Response:
        meeting, puid = self._live(form), form.get("puid")
        if meeting is None or not _valid_id(puid):
            return _failed()
        participant = meeting.participants.get(puid)
        if participant is None:
            if not self._room_for_user(puid):
                return _failed()
            self.users.add(puid)
            participant = SimParticipant(puid, _token(), form.get("nickname"), form.get("email"))
            meeting.participants[puid] = participant
            self._tokens[participant.token] = (meeting.key, puid)
        # Adding someone twice hands back the URL they already have rather than a second one.
        return _ok(meetingKey=meeting.key, participantUrl=f"{base}/e/{participant.token}")

    def _get_participant_url(self, form: dict[str, str], base: str) -> web.Response:
        meeting = self._live(form)
        participant = self._participant(form)
        if meeting is None or participant is None:
            return _failed()
        return _ok(participantUrl=f"{base}/e/{participant.token}")

    def _get_meeting_url(self, form: dict[str, str], base: str) -> web.Response:
        meeting = self._live(form)
        if meeting is None:
            return _failed()
        return _ok(meetingUrl=f"{base}/{meeting.code}")

    def _cancel_meeting(self, form: dict[str, str], _base: str) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        if meeting is None:
            return _failed()
        meeting.status = FINISHED  # the pages check this, so every URL of it now answers 404
        return _ok(meetingKey=meeting.key)

    def _cancel_participant(self, form: dict[str, str], _base: str) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        participant = self._participant(form)
        if meeting is None or participant is None:
            return _failed()
        del meeting.participants[participant.puid]
        self._tokens.pop(participant.token, None)
        return _ok(meetingKey=meeting.key)

    def _get_meeting_status(self, form: dict[str, str], _base: str) -> web.Response:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        if meeting is None:
            return _failed()
        return _ok(status=str(meeting.status))  # a string, as in the document's example

    def _get_participant_status(self, form: dict[str, str], _base: str) -> web.Response:
        participant = self._participant(form)
        if participant is None:
            return _failed()
        return _ok(status=str(participant.status))

    def _live(self, form: dict[str, str]) -> SimMeeting | None:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        return meeting if meeting is not None and meeting.live else None

    def _participant(self, form: dict[str, str]) -> SimParticipant | None:
        meeting = self.meetings.get(form.get("meetingKey", ""))
        puid = form.get("puid")
        if meeting is None or not _valid_id(puid):
            return None
        return meeting.participants.get(puid)

    def _room_for_user(self, user_id: str) -> bool:
        return user_id in self.users or len(self.users) < self.max_users

    def _new_key(self) -> str:
        while (
            key := "".join(secrets.choice(_ALPHABET.lower()) for _ in range(7))
        ) in self.meetings:
            pass
        return key

    def _new_code(self) -> str:
        codes = {meeting.code for meeting in self.meetings.values()}
        while (code := "".join(secrets.choice(_ALPHABET) for _ in range(6))) in codes:
            pass
        return code

    # -- the pages the URLs lead to -----------------------------------------------------------

    def _resolve(self, token: str) -> tuple[SimMeeting, SimParticipant | None] | None:
        found = self._tokens.get(token)
        if found is None:
            return None
        key, puid = found
        meeting = self.meetings.get(key)
        if meeting is None or not meeting.live:
            return None
        return meeting, meeting.participants.get(puid) if puid is not None else None

    async def _enter(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request.match_info["token"])
        if resolved is None:
            return web.Response(status=404, text=_GONE)
        meeting, participant = resolved
        meeting.status = IN_PROGRESS
        who = "host"
        if participant is not None:
            participant.status = P_IN_PROGRESS
            who = participant.nickname or participant.puid
        return _page(f"LiveMinutes session {meeting.key}: welcome, {who}.")

    async def _leave(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request.match_info["token"])
        if resolved is None:
            return web.Response(status=404, text=_GONE)
        meeting, participant = resolved
        if participant is None:
            meeting.status = HOST_QUIT
        else:
            participant.status = P_QUIT
        return _page("You left the session.")

    async def _refuse(self, request: web.Request) -> web.Response:
        resolved = self._resolve(request.match_info["token"])
        if resolved is None or resolved[1] is None:  # the host cannot refuse their own meeting
            return web.Response(status=404, text=_GONE)
        resolved[1].status = REFUSED
        return _page("You declined the invitation.")

    async def _meeting_page(self, request: web.Request) -> web.Response:
        code = request.match_info["code"]
        meeting = next((m for m in self.meetings.values() if m.code == code and m.live), None)
        if meeting is None:
            return web.Response(status=404, text="No such LiveMinutes meeting.")
        return _page(f"LiveMinutes meeting {meeting.key}")


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _valid_id(value: str | None) -> TypeGuard[str]:
    return value is not None and 0 < len(value) <= ID_LIMIT


def _ok(**fields: str) -> web.Response:
    return web.json_response({"resultcode": 1, **fields})


def _failed() -> web.Response:
    return web.json_response({"resultcode": 0})


def _page(message: str) -> web.Response:
    return web.Response(
        text=f"<html><body>{html.escape(message)}</body></html>", content_type="text/html"
    )


def _token() -> str:
    return "LIVE" + "".join(secrets.choice(_ALPHABET) for _ in range(20))
