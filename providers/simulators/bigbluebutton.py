"""A BigBlueButton simulator faithful to the BBB API as documented (reference: providers.md).

What it holds to, independently of our client:
- the checksum is verified over the RAW query string as received, minus `checksum`, with the
  algorithm told by the hex length; a repeated `checksum` is refused;
- every API outcome is HTTP 200 + XML with returncode/messageKey (an unknown call is a plain
  404, as the web server in front of BBB answers it);
- control characters are stripped from every parameter, and lengths are counted in UTF-16
  units, as the Java server does;
- create is idempotent on the documented rule (same or no passwords on a meeting that has not
  ended: duplicateWarning; other passwords: idNotUnique; an ended meeting is replaced);
- join answers 302 to a small client page that records the attendee when opened, and join
  errors are 302 to the logout URL with `errors=[...]`;
- ending a meeting with record=true that someone joined leaves a recording, listed with state
  `processing` (and no playback) until it is processed `processing_seconds` later, then
  published, when the server calls back; a deleted recording stays listed with state
  `deleted` when asked for that state.

Time: the real clock, unless a test sets `clock` (seconds since the epoch, e.g. its own injected
clock): processing then finishes when that clock has passed its moment, seen at the next API
request or at `process_due()`, never by sleeping.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote
from xml.etree.ElementTree import Element, SubElement, tostring

from aiohttp import web

from providers.simulators._server import Simulator
from providers.simulators.bbb_callbacks import CallbackSender

API = "/bigbluebutton/api"
ALGORITHM_BY_LENGTH = {40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}
DEFAULT_LOGOUT = "/logged-out"


@dataclass
class SimAttendee:
    user_id: str
    full_name: str
    role: str


@dataclass
class SimMeeting:
    meeting_id: str
    name: str
    attendee_pw: str
    moderator_pw: str
    create_time: int
    params: dict[str, str]
    attendees: list[SimAttendee] = field(default_factory=list)
    ever_joined: bool = False
    ended: bool = False
    start_time: int = 0
    end_time: int = 0

    @property
    def internal_id(self) -> str:
        return _internal_id(self.meeting_id, self.create_time)

    def flag(self, name: str) -> bool:
        return self.params.get(name, "false") == "true"


@dataclass
class SimRecording:
    record_id: str
    meeting_id: str
    internal_id: str
    name: str
    start_time: int
    end_time: int
    participants: int
    url: str
    published: bool = True
    state: str = "published"
    metadata: dict[str, str] = field(default_factory=dict)
    ready_at: int = 0  # ms: when its processing is done (while its state is "processing")


class _Failed(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class BigBlueButtonSimulator(Simulator):
    """Meetings, attendees and recordings of one BBB server, in memory."""

    malformed_body = (b"<html><body>nginx: 502 Bad Gateway", "text/html")

    def __init__(
        self,
        secret: str,
        *,
        supported_checksums: tuple[str, ...] = ("sha1", "sha256", "sha384", "sha512"),
    ) -> None:
        super().__init__()
        self.secret = secret
        self.supported_checksums = supported_checksums
        self.meetings: dict[str, SimMeeting] = {}
        self.recordings: dict[str, SimRecording] = {}
        self.received: list[tuple[str, dict[str, str]]] = []  # (call, params) for tests
        self._pending: dict[str, tuple[str, int, SimAttendee]] = {}
        self._last_create = 0
        self._origin = "http://127.0.0.1"  # scheme://host of the last API request
        # The calls a real server makes back (end, recording ready).
        self.callbacks = CallbackSender(secret)
        # How long a recording takes to process (hours on a real server); knob for tests.
        self.processing_seconds = 0.0
        # Seconds since the epoch; None: the real clock (see the module docstring).
        self.clock: Callable[[], float] | None = None

    def _now_ms(self) -> int:
        if self.clock is None:
            return _now_ms()
        return int(self.clock() * 1000)

    def _create_time(self) -> int:
        # Strictly increasing, so a meeting re-created within a millisecond is a new session.
        self._last_create = max(self._now_ms(), self._last_create + 1)
        return self._last_create

    def reset(self) -> None:
        self.callbacks.cancel()
        self.meetings.clear()
        self.recordings.clear()
        self.received.clear()
        self._pending.clear()

    def routes(self, app: web.Application) -> None:
        app.router.add_get(API, self._version)
        app.router.add_get(API + "/", self._version)
        app.router.add_route("*", API + "/{call}", self._api)
        # Not the API: a moderator pressing "End meeting" inside the room (for the demo, curl).
        app.router.add_post("/_sim/end/{meeting}", self._end_inside)
        app.router.add_get("/client/{token}", self._client_page)
        app.router.add_get(DEFAULT_LOGOUT, self._logged_out)
        app.router.add_get("/playback/presentation/2.3/{record}", self._playback)

    # -- plumbing -----------------------------------------------------------------------------

    async def _version(self, _request: web.Request) -> web.Response:
        root = _response("SUCCESS")
        for tag, value in (("version", "2.0"), ("apiVersion", "2.0"), ("bbbVersion", "3.0-sim")):
            SubElement(root, tag).text = value
        return _xml(root)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        call = request.match_info["call"]
        handler = getattr(self, f"_call_{call}", None)
        if handler is None:
            return web.Response(status=404, text="Not Found")
        if call == "join" and request.method != "GET":
            # Since 3.0 join takes GET only.
            return web.Response(status=405, text="Method Not Allowed")
        self._origin = f"{request.scheme}://{request.host}"
        raw_query = request.raw_path.partition("?")[2]
        params = {
            key: _strip_controls(value)
            for key, value in parse_qsl(raw_query, keep_blank_values=True)
        }
        self.received.append((call, params))
        self.process_due()
        try:
            self._verify(call, raw_query)
        except _Failed as failed:
            if call == "join":
                return self._join_error(params, failed)
            return _xml(_failure(failed.key, failed.message))
        try:
            result: web.StreamResponse = handler(params, request)
        except _Failed as failed:
            return _xml(_failure(failed.key, failed.message))
        return result

    def _verify(self, call: str, raw_query: str) -> None:
        pairs = [part.partition("=") for part in raw_query.split("&") if part]
        given = [value for key, _, value in pairs if key == "checksum"]
        if len(given) != 1:
            raise _Failed("checksumError", "Checksums do not match")
        value = given[0]
        # Remove the checksum exactly as the server does: each literal form in turn, every
        # occurrence (Java's String.replace). That would also erase a repeated checksum, which
        # is why a repeated one is refused above.
        query = raw_query
        for form in (f"&checksum={value}", f"checksum={value}&", f"checksum={value}"):
            query = query.replace(form, "")
        algorithm = ALGORITHM_BY_LENGTH.get(len(value))
        if algorithm is None or algorithm not in self.supported_checksums:
            raise _Failed("checksumError", "Checksums do not match")
        expected = hashlib.new(algorithm, (call + query + self.secret).encode()).hexdigest()
        if not secrets.compare_digest(expected, value.lower()):
            raise _Failed("checksumError", "Checksums do not match")

    def _meeting(self, params: dict[str, str]) -> SimMeeting:
        meeting_id = params.get("meetingID")
        if not meeting_id:
            raise _Failed("missingParamMeetingID", "You must provide a meeting ID")
        meeting = self.meetings.get(meeting_id)
        if meeting is None:
            raise _Failed("notFound", "A meeting with that ID does not exist")
        return meeting

    # -- calls --------------------------------------------------------------------------------

    def _call_create(self, params: dict[str, str], request: web.Request) -> web.Response:
        meeting_id, name = params.get("meetingID", ""), params.get("name", "")
        if not meeting_id:
            raise _Failed("missingParamMeetingID", "You must provide a meeting ID")
        if not 2 <= _java_length(meeting_id) <= 256 or "," in meeting_id:
            raise _Failed("validationError", "Meeting ID must be 2 to 256 characters, no ','")
        if not 2 <= _java_length(name) <= 256:
            raise _Failed("validationError", "Meeting name must be 2 to 256 characters")
        attendee_pw, moderator_pw = params.get("attendeePW"), params.get("moderatorPW")
        existing = self.meetings.get(meeting_id)
        if existing is not None and not existing.ended:
            same = attendee_pw == existing.attendee_pw and moderator_pw == existing.moderator_pw
            if same or (attendee_pw is None and moderator_pw is None):
                return _xml(self._create_body(existing, duplicate=True))
            raise _Failed(
                "idNotUnique",
                "A meeting already exists with that meeting ID.  "
                "Please use a different meeting ID.",
            )
        meeting = SimMeeting(
            meeting_id=meeting_id,
            name=name,
            attendee_pw=attendee_pw or _random_password(),
            moderator_pw=moderator_pw or _random_password(),
            create_time=self._create_time(),
            params=params,
        )
        self.meetings[meeting_id] = meeting
        return _xml(self._create_body(meeting, duplicate=False))

    def _create_body(self, meeting: SimMeeting, *, duplicate: bool) -> Element:
        root = _response("SUCCESS")
        for tag, value in (
            ("meetingID", meeting.meeting_id),
            ("internalMeetingID", meeting.internal_id),
            ("parentMeetingID", "bbb-none"),
            ("attendeePW", meeting.attendee_pw),
            ("moderatorPW", meeting.moderator_pw),
            ("createTime", str(meeting.create_time)),
            ("voiceBridge", "70066"),
            ("dialNumber", "613-555-1234"),
            ("hasUserJoined", _b(meeting.ever_joined)),
            ("duration", meeting.params.get("duration", "0")),
            ("hasBeenForciblyEnded", _b(meeting.ended)),
        ):
            SubElement(root, tag).text = value
        SubElement(root, "messageKey").text = "duplicateWarning" if duplicate else ""
        SubElement(root, "message").text = (
            "This conference was already in existence and may currently be in progress."
            if duplicate
            else ""
        )
        return root

    def _call_join(self, params: dict[str, str], request: web.Request) -> web.StreamResponse:
        full_name = params.get("fullName")
        if not full_name:
            return self._join_error(
                params, _Failed("missingParamFullName", "You must specify a name.")
            )
        if not params.get("meetingID"):
            return self._join_error(
                params, _Failed("missingParamMeetingID", "You must provide a meeting ID")
            )
        meeting = self.meetings.get(params["meetingID"])
        if meeting is None:
            return self._join_error(
                params, _Failed("invalidMeetingIdentifier", "The meeting ID does not exist.")
            )
        if meeting.ended:
            return self._join_error(
                params, _Failed("meetingForciblyEnded", "This meeting has been ended.")
            )
        create_time = params.get("createTime")
        if create_time is not None and create_time != str(meeting.create_time):
            return self._join_error(
                params, _Failed("mismatchCreateTimeParam", "The createTime does not match.")
            )
        role = (params.get("role") or "").upper()
        if role not in ("MODERATOR", "VIEWER"):
            password = params.get("password")
            if password == meeting.moderator_pw:
                role = "MODERATOR"
            elif password == meeting.attendee_pw:
                role = "VIEWER"
            else:
                raise _Failed("Params required", "You must enter a valid password")
        token = secrets.token_hex(8)
        attendee = SimAttendee(params.get("userID") or f"w_{token[:6]}", full_name, role)
        self._pending[token] = (meeting.meeting_id, meeting.create_time, attendee)
        client_url = f"{request.scheme}://{request.host}/client/{token}"
        if params.get("redirect") == "false":
            root = _response("SUCCESS")
            for tag, value in (
                ("messageKey", "successfullyJoined"),
                ("message", "You have joined successfully."),
                ("meeting_id", meeting.internal_id),
                ("user_id", attendee.user_id),
                ("session_token", token),
                ("url", client_url),
            ):
                SubElement(root, tag).text = value
            return _xml(root)
        raise web.HTTPFound(client_url)

    def _join_error(self, params: dict[str, str], failed: _Failed) -> web.StreamResponse:
        meeting = self.meetings.get(params.get("meetingID", ""))
        logout = (meeting.params.get("logoutURL") if meeting else None) or DEFAULT_LOGOUT
        errors = json.dumps([{"key": failed.key, "message": failed.message}])
        joiner = "&" if "?" in logout else "?"
        raise web.HTTPFound(f"{logout}{joiner}errors={quote(errors)}")

    def _call_isMeetingRunning(self, params: dict[str, str], _r: web.Request) -> web.Response:
        if not params.get("meetingID"):
            raise _Failed("missingParamMeetingID", "You must provide a meeting ID")
        meeting = self.meetings.get(params["meetingID"])
        root = _response("SUCCESS")
        SubElement(root, "running").text = _b(
            bool(meeting and not meeting.ended and meeting.attendees)
        )
        return _xml(root)

    def _call_end(self, params: dict[str, str], _r: web.Request) -> web.Response:
        meeting = self._meeting(params)
        password = params.get("password")
        if password is not None and password != meeting.moderator_pw:
            raise _Failed("invalidPassword", "The supplied moderator password is incorrect.")
        self.end_from_inside(meeting.meeting_id)
        root = _response("SUCCESS")
        SubElement(root, "messageKey").text = "sentEndMeetingRequest"
        SubElement(root, "message").text = (
            "A request to end the meeting was sent.  Please wait a few seconds, and then use "
            "the getMeetingInfo or isMeetingRunning API calls to verify that it was ended."
        )
        return _xml(root)

    def end_from_inside(self, meeting_id: str) -> bool:
        """End a live meeting as its moderator would from the room (the API's `end` does the
        same): its recording is made, and the server calls back. False if there is none."""
        meeting = self.meetings.get(meeting_id)
        if meeting is None or meeting.ended:
            return False
        meeting.ended = True
        meeting.end_time = self._now_ms()
        recorded = meeting.flag("record") and meeting.ever_joined
        recording = self._record(meeting) if recorded else None
        meeting.attendees.clear()
        metadata = {k[5:].lower(): v for k, v in meeting.params.items() if k.startswith("meta_")}
        self.callbacks.ended(metadata, recorded=recorded)
        if recording is not None:
            self._process(recording)
        return True

    def _process(self, recording: SimRecording) -> None:
        """Process a recording: at once, after `processing_seconds` of real time, or (with a
        `clock` of the test's) once that clock has passed `ready_at`."""
        if self.processing_seconds <= 0:
            self._processed(recording)
        elif self.clock is None:
            self.callbacks.later(self.processing_seconds, lambda: self._processed(recording))

    def process_due(self) -> None:
        """Finish the processing of every recording whose time has come (by `clock`)."""
        if self.clock is None:
            return
        now = self._now_ms()
        for recording in list(self.recordings.values()):
            if recording.state == "processing" and recording.ready_at <= now:
                self._processed(recording)

    def _processed(self, recording: SimRecording) -> None:
        if recording.state != "processing":
            return  # deleted meanwhile, or processed already
        recording.state, recording.published = "published", True
        self.callbacks.recording_ready(
            recording.metadata, recording.meeting_id, recording.record_id
        )

    async def _end_inside(self, request: web.Request) -> web.Response:
        ended = self.end_from_inside(request.match_info["meeting"])
        return web.json_response({"ended": ended}, status=200 if ended else 404)

    def stop_hanging(self) -> None:
        super().stop_hanging()
        self.callbacks.cancel()

    def _record(self, meeting: SimMeeting) -> SimRecording:
        record_id = meeting.internal_id
        metadata = {k[5:].lower(): v for k, v in meeting.params.items() if k.startswith("meta_")}
        recording = self.recordings[record_id] = SimRecording(
            record_id=record_id,
            meeting_id=meeting.meeting_id,
            internal_id=meeting.internal_id,
            name=meeting.name,
            start_time=meeting.start_time or meeting.create_time,
            end_time=meeting.end_time,
            participants=len({a.user_id for a in meeting.attendees}) or 1,
            url=f"{self._origin}/playback/presentation/2.3/{record_id}",
            published=False,
            state="processing",
            metadata=metadata,
            ready_at=meeting.end_time + int(self.processing_seconds * 1000),
        )
        return recording

    def add_recording(
        self, meeting_id: str, *, published: bool = True, name: str | None = None
    ) -> SimRecording:
        """A processed recording of `meeting_id` (which need not exist), for tests."""
        now = self._create_time()
        record_id = _internal_id(meeting_id, now)
        recording = SimRecording(
            record_id=record_id,
            meeting_id=meeting_id,
            internal_id=record_id,
            name=name or meeting_id,
            start_time=now - 60_000,
            end_time=now,
            participants=1,
            url=f"{self._origin}/playback/presentation/2.3/{record_id}",
            published=published,
            state="published" if published else "unpublished",
        )
        self.recordings[record_id] = recording
        return recording

    def _call_getMeetingInfo(self, params: dict[str, str], _r: web.Request) -> web.Response:
        root = _response("SUCCESS")
        _meeting_xml(root, self._meeting(params))
        return _xml(root)

    def _call_getMeetings(self, _params: dict[str, str], _r: web.Request) -> web.Response:
        root = _response("SUCCESS")
        holder = SubElement(root, "meetings")
        for meeting in self.meetings.values():
            _meeting_xml(SubElement(holder, "meeting"), meeting)
        if not self.meetings:
            SubElement(root, "messageKey").text = "noMeetings"
            SubElement(root, "message").text = "no meetings were found on this server"
        return _xml(root)

    def _call_getRecordings(self, params: dict[str, str], _r: web.Request) -> web.Response:
        wanted_meetings = {m for m in params.get("meetingID", "").split(",") if m}
        wanted_records = {r for r in params.get("recordID", "").split(",") if r}
        states = set(params.get("state", "published,unpublished").split(","))
        found = [
            r
            for r in self.recordings.values()
            if (not wanted_records or r.record_id in wanted_records)
            and (wanted_records or not wanted_meetings or r.meeting_id in wanted_meetings)
            and ("any" in states or r.state in states)
        ]
        root = _response("SUCCESS")
        holder = SubElement(root, "recordings")
        for rec in found:
            _recording_xml(SubElement(holder, "recording"), rec)
        if not found:
            SubElement(root, "messageKey").text = "noRecordings"
            SubElement(root, "message").text = "There are no recordings for the meeting(s)."
        return _xml(root)

    def _records(self, params: dict[str, str]) -> list[SimRecording]:
        ids = [r for r in params.get("recordID", "").split(",") if r]
        if not ids:
            raise _Failed("missingParamRecordID", "You must specify a recordID.")
        found = [
            self.recordings[r]
            for r in ids
            if r in self.recordings and self.recordings[r].state != "deleted"
        ]
        if not found:
            raise _Failed("notFound", "We could not find recordings")
        return found

    def _call_publishRecordings(self, params: dict[str, str], _r: web.Request) -> web.Response:
        publish = params.get("publish")
        if publish not in ("true", "false"):
            raise _Failed("missingParamPublish", "You must specify a publish value true or false.")
        for rec in self._records(params):
            rec.published = publish == "true"
            rec.state = "published" if rec.published else "unpublished"
        root = _response("SUCCESS")
        SubElement(root, "published").text = publish
        return _xml(root)

    def _call_deleteRecordings(self, params: dict[str, str], _r: web.Request) -> web.Response:
        for rec in self._records(params):
            # BBB moves a deleted recording aside; getRecordings still lists it as deleted.
            rec.state = "deleted"
            rec.published = False
        root = _response("SUCCESS")
        SubElement(root, "deleted").text = "true"
        return _xml(root)

    def _call_updateRecordings(self, params: dict[str, str], _r: web.Request) -> web.Response:
        for rec in self._records(params):
            for key, value in params.items():
                if key.startswith("meta_"):
                    name = key[5:].lower()
                    if value:
                        rec.metadata[name] = value
                    else:
                        rec.metadata.pop(name, None)
        root = _response("SUCCESS")
        SubElement(root, "updated").text = "true"
        return _xml(root)

    # -- pages --------------------------------------------------------------------------------

    async def _client_page(self, request: web.Request) -> web.Response:
        pending = self._pending.pop(request.match_info["token"], None)
        meeting = self.meetings.get(pending[0]) if pending else None
        if pending is None or meeting is None or meeting.ended or meeting.create_time != pending[1]:
            return web.Response(status=404, text="This session token is not valid.")
        attendee = pending[2]
        meeting.attendees.append(attendee)
        if not meeting.ever_joined:
            meeting.ever_joined = True
            meeting.start_time = self._now_ms()
        page = f"{html.escape(meeting.name)}: welcome, {html.escape(attendee.full_name)}."
        return web.Response(
            text=f"<html><body>{page}</body></html>",
            content_type="text/html",
        )

    async def _logged_out(self, request: web.Request) -> web.Response:
        return web.Response(text=f"Logged out. {request.query.get('errors', '')}")

    async def _playback(self, _request: web.Request) -> web.Response:
        return web.Response(text="recording playback", content_type="text/html")


def _meeting_xml(root: Element, meeting: SimMeeting) -> None:
    moderators = sum(1 for a in meeting.attendees if a.role == "MODERATOR")
    for tag, value in (
        ("meetingName", meeting.name),
        ("meetingID", meeting.meeting_id),
        ("internalMeetingID", meeting.internal_id),
        ("createTime", str(meeting.create_time)),
        ("attendeePW", meeting.attendee_pw),
        ("moderatorPW", meeting.moderator_pw),
        ("running", _b(bool(meeting.attendees) and not meeting.ended)),
        ("duration", meeting.params.get("duration", "0")),
        ("hasUserJoined", _b(meeting.ever_joined)),
        ("recording", "false"),
        ("hasBeenForciblyEnded", _b(meeting.ended)),
        ("startTime", str(meeting.start_time)),
        ("endTime", str(meeting.end_time)),
        ("participantCount", str(len(meeting.attendees))),
        ("moderatorCount", str(moderators)),
    ):
        SubElement(root, tag).text = value
    attendees = SubElement(root, "attendees")
    for person in meeting.attendees:
        node = SubElement(attendees, "attendee")
        for tag, value in (
            ("userID", person.user_id),
            ("fullName", person.full_name),
            ("role", person.role),
            ("isPresenter", _b(person.role == "MODERATOR")),
            ("isListeningOnly", "false"),
            ("hasJoinedVoice", "false"),
            ("hasVideo", "false"),
            ("clientType", "HTML5"),
        ):
            SubElement(node, tag).text = value
    metadata = SubElement(root, "metadata")
    for key, value in meeting.params.items():
        if key.startswith("meta_"):
            SubElement(metadata, key[5:].lower()).text = value
    SubElement(root, "isBreakout").text = "false"


def _recording_xml(node: Element, rec: SimRecording) -> None:
    for tag, value in (
        ("recordID", rec.record_id),
        ("meetingID", rec.meeting_id),
        ("internalMeetingID", rec.internal_id),
        ("name", rec.name),
        ("isBreakout", "false"),
        ("published", _b(rec.published)),
        ("state", rec.state),
        ("startTime", str(rec.start_time)),
        ("endTime", str(rec.end_time)),
        ("participants", str(rec.participants)),
    ):
        SubElement(node, tag).text = value
    metadata = SubElement(node, "metadata")
    for key, value in rec.metadata.items():
        SubElement(metadata, key).text = value
    if rec.state == "processing":
        return  # no playback until it is processed
    fmt = SubElement(SubElement(node, "playback"), "format")
    SubElement(fmt, "type").text = "presentation"
    SubElement(fmt, "url").text = rec.url
    SubElement(fmt, "length").text = str(max(1, (rec.end_time - rec.start_time) // 60000))


def _response(code: str) -> Element:
    root = Element("response")
    SubElement(root, "returncode").text = code
    return root


def _failure(key: str, message: str) -> Element:
    root = _response("FAILED")
    SubElement(root, "messageKey").text = key
    SubElement(root, "message").text = message
    return root


def _xml(root: Element) -> web.Response:
    return web.Response(
        body=tostring(root, encoding="utf-8"),
        content_type="text/xml",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def _b(value: bool) -> str:
    return "true" if value else "false"


def _internal_id(meeting_id: str, create_time: int) -> str:
    # BBB's internal id is sha1(meetingID)-createTime; a recording keeps it as its recordID.
    digest = hashlib.sha1(meeting_id.encode()).hexdigest()  # noqa: S324 - BBB's id scheme
    return f"{digest}-{create_time}"


def _strip_controls(value: str) -> str:
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc")


def _java_length(value: str) -> int:
    # The server is Java: String.length() counts UTF-16 code units.
    return len(value.encode("utf-16-le")) // 2


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _random_password() -> str:
    return secrets.token_urlsafe(6)[:8]
