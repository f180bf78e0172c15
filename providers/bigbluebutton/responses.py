"""Reading BigBlueButton's XML answers into typed results, and deciding failure on its keys.

Outcomes are decided on `<returncode>` and `<messageKey>` only, never on message text (BBB
promises only the keys are stable). Lists are read with `findall`, so one attendee is still a
list; times are epoch milliseconds; XML is untrusted, so it is parsed with defusedxml's
rules (`safexml`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from providers.bigbluebutton import safexml
from providers.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
)

NAME = "bigbluebutton"
AUTH_KEYS = {"checksumError"}
NOT_FOUND_KEYS = {"notFound", "invalidMeetingIdentifier", "invalidMeetingId", "recordingNotFound"}


def parse(body: bytes, call: str, redact: Callable[[str], str] = str) -> Element:
    """The `<response>` element of a SUCCESS answer; a FAILED one raises its error.

    `redact` cleans provider text before it goes into an error (it may be shown to people).
    """
    try:
        root = safexml.fromstring(body)
    except safexml.ParseFailure:
        raise ProviderProtocolError(NAME, call, "answered something that is not XML") from None
    if root.tag != "response":
        raise ProviderProtocolError(NAME, call, f"answered <{root.tag}>, not <response>")
    code = text(root, "returncode")
    if code == "SUCCESS":
        return root
    if code != "FAILED":
        raise ProviderProtocolError(NAME, call, "answered without a returncode")
    key, message = text(root, "messageKey"), text(root, "message")
    errors = root.findall("errors/error")
    if not key and errors:
        # The multi-error form: the first key decides, every message is worth showing.
        key = text(errors[0], "key")
        message = "; ".join(m for m in (text(e, "message") for e in errors) if m) or None
    message = redact(message or key or "failed")
    if key in AUTH_KEYS:
        raise ProviderAuthError(NAME, call, f"the server refused the checksum ({key})")
    if key in NOT_FOUND_KEYS:
        raise ProviderNotFound(NAME, call, message, key=key)
    raise ProviderRejected(NAME, call, message, key=key or None)


def text(element: Element, tag: str) -> str | None:
    found = element.find(tag)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def flag(element: Element, tag: str) -> bool:
    return text(element, tag) == "true"


def number(element: Element, tag: str) -> int | None:
    value = text(element, tag)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def moment(element: Element, tag: str) -> datetime | None:
    """An epoch-milliseconds time; 0 means "not yet" (e.g. endTime while running)."""
    value = number(element, tag)
    if not value or value < 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        # A time past what datetime holds is not a time we can show; treat it as absent.
        return None


def children(element: Element, tag: str) -> dict[str, str]:
    holder = element.find(tag)
    if holder is None:
        return {}
    return {child.tag: (child.text or "").strip() for child in holder}


@dataclass(frozen=True)
class ApiVersion:
    version: str | None
    api_version: str | None
    bbb_version: str | None


@dataclass(frozen=True)
class CreateResult:
    meeting_id: str
    internal_meeting_id: str | None
    attendee_pw: str | None
    moderator_pw: str | None
    create_time: str
    duplicate: bool  # messageKey duplicateWarning: the meeting already existed


@dataclass(frozen=True)
class AttendeeInfo:
    user_id: str | None
    full_name: str
    role: str  # MODERATOR | VIEWER
    is_presenter: bool
    has_video: bool
    listening_only: bool


@dataclass(frozen=True)
class MeetingInfo:
    meeting_id: str
    name: str | None
    internal_meeting_id: str | None
    create_time: str | None
    running: bool
    has_user_joined: bool
    forcibly_ended: bool
    start_time: datetime | None
    end_time: datetime | None
    participant_count: int | None
    moderator_count: int | None
    attendees: list[AttendeeInfo] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Playback:
    type: str
    url: str
    length: int | None


@dataclass(frozen=True)
class RecordingInfo:
    record_id: str
    meeting_id: str | None
    name: str | None
    published: bool
    state: str | None
    start_time: datetime | None
    end_time: datetime | None
    participants: int | None
    playback: list[Playback]
    metadata: dict[str, str]


def api_version(root: Element) -> ApiVersion:
    return ApiVersion(text(root, "version"), text(root, "apiVersion"), text(root, "bbbVersion"))


def create_result(root: Element, call: str) -> CreateResult:
    meeting_id, create_time = text(root, "meetingID"), text(root, "createTime")
    if not meeting_id or not create_time:
        raise ProviderProtocolError(NAME, call, "answered create without meetingID/createTime")
    return CreateResult(
        meeting_id=meeting_id,
        internal_meeting_id=text(root, "internalMeetingID"),
        attendee_pw=text(root, "attendeePW"),
        moderator_pw=text(root, "moderatorPW"),
        create_time=create_time,
        duplicate=text(root, "messageKey") == "duplicateWarning",
    )


def meeting_info(element: Element, call: str) -> MeetingInfo:
    meeting_id = text(element, "meetingID")
    if not meeting_id:
        raise ProviderProtocolError(NAME, call, "answered a meeting without meetingID")
    attendees = [
        AttendeeInfo(
            user_id=text(a, "userID"),
            full_name=text(a, "fullName") or "",
            role=(text(a, "role") or "VIEWER").upper(),
            is_presenter=flag(a, "isPresenter"),
            has_video=flag(a, "hasVideo"),
            listening_only=flag(a, "isListeningOnly"),
        )
        for a in element.findall("attendees/attendee")
    ]
    return MeetingInfo(
        meeting_id=meeting_id,
        name=text(element, "meetingName"),
        internal_meeting_id=text(element, "internalMeetingID"),
        create_time=text(element, "createTime"),
        running=flag(element, "running"),
        has_user_joined=flag(element, "hasUserJoined"),
        forcibly_ended=flag(element, "hasBeenForciblyEnded"),
        start_time=moment(element, "startTime"),
        end_time=moment(element, "endTime"),
        participant_count=number(element, "participantCount"),
        moderator_count=number(element, "moderatorCount"),
        attendees=attendees,
        metadata=children(element, "metadata"),
    )


def recordings(root: Element, call: str) -> list[RecordingInfo]:
    found = []
    for rec in root.findall("recordings/recording"):
        record_id = text(rec, "recordID")
        if not record_id:
            raise ProviderProtocolError(NAME, call, "answered a recording without recordID")
        playback = [
            Playback(text(f, "type") or "", text(f, "url") or "", number(f, "length"))
            for f in rec.findall("playback/format")
        ]
        found.append(
            RecordingInfo(
                record_id=record_id,
                meeting_id=text(rec, "meetingID"),
                name=text(rec, "name"),
                published=flag(rec, "published"),
                state=text(rec, "state"),
                start_time=moment(rec, "startTime"),
                end_time=moment(rec, "endTime"),
                participants=number(rec, "participants"),
                playback=playback,
                metadata=children(rec, "metadata"),
            )
        )
    return found
