"""The provider seam: the `MeetingProvider` protocol, its capabilities and the neutral value types.

This is the only module of `providers/` that the command layer imports (the error tree is
re-exported here for that reason). A provider client implements the protocol on top of its own
per-endpoint methods; an operation it cannot do raises `ProviderUnsupported`, and its
`capabilities` say so up front so commands can answer "LiveMinutes has no recordings" without
a round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)

__all__ = [
    "SETTING_NAMES",
    "Attendee",
    "Capability",
    "JoinLink",
    "MeetingProvider",
    "MeetingSettings",
    "Participant",
    "ProviderAuthError",
    "ProviderError",
    "ProviderHealth",
    "ProviderInputError",
    "ProviderNotFound",
    "ProviderOutcomeUnknown",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderUnavailable",
    "ProviderUnsupported",
    "Recording",
    "RecordingReady",
    "Role",
    "Room",
    "RoomSpec",
    "RoomState",
    "RoomStatus",
    "RoomSummary",
    "RoomUpdate",
    "SessionRecord",
    "SessionStart",
]


class Role(StrEnum):
    """The two roles every provider knows; commands add the reason a user got one."""

    MODERATOR = "moderator"
    ATTENDEE = "attendee"


class Capability(StrEnum):
    """Optional operations. create_room, join_link and end are required of every provider."""

    START_SESSION = "start a session"
    STATUS = "meeting status"
    ATTENDANCE = "attendance"
    # Who attended can still be asked after the end (BigBlueButton forgets at the end).
    ATTENDANCE_AFTER_END = "attendance after a meeting ended"
    # Attendance says who is in the meeting now (so who left, and when), not only who joined.
    PRESENCE = "who is in a meeting right now"
    SESSIONS = "session history"
    RECORDINGS = "recordings"
    MANAGE_RECORDINGS = "publishing and deleting recordings"
    SETTINGS = "meeting settings"
    DEFAULT_SETTINGS = "default meeting settings"
    UPDATE = "changing a meeting"
    LIVE_UPDATE = "changing a running meeting's settings"  # else they apply from the next session
    REMOVE_PARTICIPANT = "removing a participant"
    CALLBACKS = "calling back when a meeting ends or a recording is ready"
    DELETE = "deleting a meeting"
    LIST_ROOMS = "listing meetings on the server"
    ROLES = "moderator links for anyone but the host"


# The ten settings, in the order the VConnct document lists them. They map 1:1 onto BigBlueButton
# create parameters (reference/providers.md section 1.7).
SETTING_NAMES: tuple[str, ...] = (
    "lock_settings_disable_public_chat",
    "lock_settings_disable_mic",
    "auto_start_recording",
    "lock_settings_disable_cam",
    "lock_settings_locked_layout",
    "allow_start_stop_recording",
    "record",
    "webcam_only_for_moderators",
    "lock_settings_disable_note",
    "lock_settings_disable_private_chat",
)


class MeetingSettings(BaseModel):
    """The ten meeting settings; defaults are BigBlueButton's own defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    lock_settings_disable_public_chat: bool = False
    lock_settings_disable_mic: bool = False
    auto_start_recording: bool = False
    lock_settings_disable_cam: bool = False
    lock_settings_locked_layout: bool = False
    allow_start_stop_recording: bool = True
    record: bool = False
    webcam_only_for_moderators: bool = False
    lock_settings_disable_note: bool = False
    lock_settings_disable_private_chat: bool = False

    def items(self) -> list[tuple[str, bool]]:
        """All ten settings as (name, value), in the documented order."""
        return [(name, bool(getattr(self, name))) for name in SETTING_NAMES]

    def with_changes(self, changes: Mapping[str, bool]) -> MeetingSettings:
        """A copy with some settings changed; unknown names raise ValueError."""
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        return self.model_copy(update=dict(changes))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, object]]) -> MeetingSettings:
        """Build from (name, value) pairs that must name all ten settings with booleans."""
        values = dict(pairs)
        missing = [name for name in SETTING_NAMES if name not in values]
        if missing:
            raise ValueError(f"missing setting(s): {', '.join(missing)}")
        return cls.model_validate(values)


@dataclass(frozen=True)
class Participant:
    """A person as a provider sees them: a stable user id and the name shown in the room."""

    user_id: str
    display_name: str
    email: str | None = None


@dataclass(frozen=True)
class RoomSpec:
    """What the command layer asks a provider to create."""

    meeting_id: str  # our own id (also sent as metadata where the provider has any)
    tenant: str  # "slack:T1" / "discord:123": carried in metadata, never trusted from it
    title: str
    host: Participant
    settings: MeetingSettings = field(default_factory=MeetingSettings)
    welcome: str | None = None
    start: datetime | None = None
    duration_minutes: int | None = None
    language: str | None = None
    description: str | None = None
    logout_url: str | None = None
    # Where the provider may tell us of the meeting's end and of a recording that is ready
    # (BigBlueButton's meta_endCallbackUrl and meta_bbb-recording-ready-url); carried in the
    # room, so every later create sends them again.
    end_callback_url: str | None = None
    recording_ready_url: str | None = None


@dataclass(frozen=True)
class RecordingReady:
    """A provider's signed word that a meeting's recording was processed."""

    room_id: str
    recording_id: str


@dataclass(frozen=True)
class Room:
    """A meeting as it exists on a provider: everything needed to act on it later.

    Passwords and `host_url` are moderator secrets: they are stored, never shown in a channel.
    """

    provider: str
    room_id: str  # BBB meetingID, VConnct meeting_id (UUID), LiveMinutes meetingKey
    title: str
    settings: MeetingSettings = field(default_factory=MeetingSettings)
    moderator_password: str | None = None
    attendee_password: str | None = None
    host_id: str | None = None
    host_url: str | None = None
    meeting_url: str | None = None
    create_time: str | None = None  # BBB createTime of the current session (join URLs carry it)
    session_id: str | None = None  # the current or last session, where the provider has sessions
    welcome: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def evolve(self, **changes: object) -> Room:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoomUpdate:
    """Changes to a meeting; None leaves a field as it is."""

    title: str | None = None
    welcome: str | None = None
    moderator_password: str | None = None
    settings: MeetingSettings | None = None


@dataclass(frozen=True)
class SessionStart:
    """A started session: the room as it is now, and the moderator's link where the provider
    hands one out on start (that link goes to the moderator only, privately)."""

    room: Room
    moderator_url: str | None = None


@dataclass(frozen=True)
class JoinLink:
    """A personal link for one participant. `role` is the role the link really grants, which
    can be lower than asked for (LiveMinutes moderates only through the host link)."""

    url: str
    role: Role
    note: str | None = None


class RoomState(StrEnum):
    """Where a meeting is in its life, as far as the provider can tell."""

    ABSENT = "absent"  # the provider has no live meeting for this room (never started, purged)
    WAITING = "waiting"  # exists, nobody in it yet
    RUNNING = "running"
    ENDED = "ended"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RoomStatus:
    """A snapshot of a meeting on the provider."""

    state: RoomState
    participant_count: int | None = None
    moderator_count: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    detail: str | None = None  # the provider's own status word, e.g. "host quited"
    meeting_url: str | None = None

    @property
    def running(self) -> bool:
        return self.state is RoomState.RUNNING


@dataclass(frozen=True)
class Attendee:
    """One person in (or once in) a meeting."""

    name: str
    user_id: str | None = None
    role: Role | None = None
    joined_at: datetime | None = None
    status: str | None = None  # provider words, e.g. LiveMinutes "in progress" / "quit"
    present: bool | None = None


@dataclass(frozen=True)
class SessionRecord:
    """One past or current run of a meeting."""

    session_id: str
    title: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    active: bool | None = None


@dataclass(frozen=True)
class Recording:
    """A recording of a session."""

    recording_id: str
    url: str | None
    state: str | None = None
    published: bool | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    participants: int | None = None
    session_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class RoomSummary:
    """One meeting as listed by the provider's server-wide listing."""

    room_id: str
    title: str | None
    running: bool | None = None
    participant_count: int | None = None


@dataclass(frozen=True)
class ProviderHealth:
    """The answer of a cheap call that proves the server is there and our credentials work."""

    ok: bool
    version: str | None = None
    detail: str | None = None


@runtime_checkable
class MeetingProvider(Protocol):
    """A meeting provider as the command layer sees it."""

    @property
    def name(self) -> str:
        """Short lowercase name: bigbluebutton, vconnct, liveminutes."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    async def health(self) -> ProviderHealth: ...

    async def create_room(self, spec: RoomSpec) -> Room: ...

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart: ...

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink: ...

    async def end(self, room: Room) -> None: ...

    async def status(self, room: Room) -> RoomStatus: ...

    async def attendance(
        self,
        room: Room,
        *,
        session_id: str | None = None,
        participant_ids: Sequence[str] = (),
    ) -> list[Attendee]:
        """Who attended. `participant_ids` is for providers that can only be asked per person."""
        ...

    async def sessions(self, room: Room) -> list[SessionRecord]: ...

    async def recordings(self, room: Room) -> list[Recording]: ...

    async def publish_recording(self, room: Room, recording_id: str, publish: bool) -> None: ...

    async def delete_recording(self, room: Room, recording_id: str) -> None: ...

    async def settings(self, room: Room) -> MeetingSettings: ...

    async def default_settings(self) -> MeetingSettings: ...

    async def update_room(self, room: Room, update: RoomUpdate) -> Room: ...

    async def remove_participant(self, room: Room, participant_id: str) -> None: ...

    async def delete_room(self, room: Room) -> None: ...

    async def list_rooms(self) -> list[RoomSummary]: ...

    def read_recording_ready(self, signed: str) -> RecordingReady:
        """Verify a recording-ready callback's signed payload; `ProviderAuthError` when its
        signature is not the provider's (forged, altered, unsigned)."""
        ...

    async def aclose(self) -> None:
        """Close the pooled HTTP client, if this provider owns it."""
        ...
