"""The neutral `MeetingProvider` on top of the BigBlueButton API calls.

BBB has no rooms that outlive a session: a meeting exists from `create` until it ends. So a
room is a meetingID plus what we send on every create (title, settings, metadata), a session
starts with an idempotent `create`, and settings and title changes apply from the next session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from functools import cached_property

from providers.base import (
    Attendee,
    Capability,
    JoinLink,
    MeetingSettings,
    Participant,
    ProviderHealth,
    Recording,
    RecordingReady,
    Role,
    Room,
    RoomSpec,
    RoomState,
    RoomStatus,
    RoomSummary,
    RoomUpdate,
    SessionStart,
)
from providers.bigbluebutton import responses
from providers.bigbluebutton.api import NAME, NAME_LIMITS, BigBlueButtonApi, clean_text, java_length
from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderUnavailable,
    ProviderUnsupported,
)

# Our meeting id and tenant travel as create metadata (sent as meta_<name>; BBB lower-cases it).
META_MEETING_ID = "meetbot-meeting-id"
META_TENANT = "meetbot-tenant"
# The server calls these back (reference/providers.md, metadata).
META_END_CALLBACK = "endCallbackUrl"
META_RECORDING_READY = "bbb-recording-ready-url"
END_URL, RECORDING_URL = "end_callback_url", "recording_ready_url"  # keys in Room.extra


def meeting_name(title: str, operation: str) -> str:
    """The title as a valid BBB meeting name: one visible character is padded with a space
    (BBB wants at least two), none or too many is refused before anything is sent."""
    name = clean_text(title).strip()
    low, high = NAME_LIMITS
    if not name:
        raise ProviderInputError(NAME, operation, "a meeting needs a title")
    if java_length(name) < low:
        name = name.ljust(low)
    if java_length(name) > high:
        raise ProviderInputError(NAME, operation, f"a meeting title has at most {high} characters")
    return name


class BigBlueButtonClient(BigBlueButtonApi):
    """BigBlueButton as a `MeetingProvider`, with every API call also available directly."""

    capabilities = frozenset(
        {
            Capability.START_SESSION,
            Capability.STATUS,
            Capability.ATTENDANCE,
            Capability.PRESENCE,
            Capability.RECORDINGS,
            Capability.MANAGE_RECORDINGS,
            Capability.SETTINGS,
            Capability.UPDATE,
            Capability.LIST_ROOMS,
            Capability.ROLES,
            Capability.CALLBACKS,
        }
    )

    #: How long a create's answer is trusted before the next join asks again. BBB removes an
    #: empty meeting a minute or more after the last person left (meetingExpire... settings),
    #: so a shorter time than that keeps links valid without one create per join.
    live_seconds = 15.0

    @cached_property
    def _live(self) -> dict[str, tuple[float, str | None]]:
        """meeting id -> (when the server last confirmed it, its createTime)"""
        return {}

    @cached_property
    def _opening(self) -> dict[str, asyncio.Lock]:
        """meeting id -> the lock that makes concurrent joins share one create"""
        return {}

    # -- MeetingProvider ----------------------------------------------------------------------

    async def health(self) -> ProviderHealth:
        version = await self.api_version()
        try:
            # The version document needs no checksum; this call proves the secret works.
            await self.get_meetings()
        except ProviderAuthError as error:
            return ProviderHealth(ok=False, version=version.bbb_version, detail=error.message)
        detail = f"API {version.api_version or version.version}"
        return ProviderHealth(
            ok=True, version=version.bbb_version or version.version, detail=detail
        )

    async def create_room(self, spec: RoomSpec) -> Room:
        """Create the meeting now (BBB has no rooms without a session); the Room carries
        the derived passwords and this session's createTime."""
        room = Room(
            provider=NAME,
            room_id=spec.meeting_id,
            title=spec.title,
            settings=spec.settings,
            welcome=spec.welcome,
            extra=_extra(spec),
        )
        try:
            room = await self._create(room, "create_room")
        except (ProviderUnavailable, ProviderProtocolError) as lost:
            room = await self._create_again(room, lost)
        attendee_pw, moderator_pw = self.passwords(room.room_id)
        return room.evolve(attendee_password=attendee_pw, moderator_password=moderator_pw)

    async def _create_again(self, room: Room, lost: ProviderError) -> Room:
        """After a create whose answer was lost. An unreadable answer (ProviderProtocolError)
        is asked once more: create is idempotent (same id, derived passwords), so a meeting it
        made comes back as it is. An unavailable server was already asked again by the retry
        policy; whatever it may have made, nobody joins, and BigBlueButton removes such a
        meeting by itself within minutes."""
        if isinstance(lost, ProviderProtocolError):
            try:
                return await self._create(room, "create_room")
            except (ProviderUnavailable, ProviderProtocolError):
                pass
        raise ProviderUnavailable(
            NAME,
            lost.operation,
            f"{lost.message}; a meeting it may have made is removed by BigBlueButton itself "
            "within minutes, as nobody joins it",
        ) from lost

    async def _create(self, room: Room, operation: str) -> Room:
        name = meeting_name(room.title, operation)
        metadata = {META_MEETING_ID: room.room_id}
        if "tenant" in room.extra:
            metadata[META_TENANT] = room.extra["tenant"]
        for key, meta in ((END_URL, META_END_CALLBACK), (RECORDING_URL, META_RECORDING_READY)):
            if room.extra.get(key):
                metadata[meta] = room.extra[key]
        duration = room.extra.get("duration")
        result = await self.create(
            room.room_id,
            name,
            settings=room.settings,
            welcome=room.welcome,
            logout_url=room.extra.get("logout_url"),
            duration_minutes=int(duration) if duration else None,
            metadata=metadata,
        )
        return room.evolve(create_time=result.create_time, session_id=result.create_time)

    async def end(self, room: Room) -> None:
        """Ask the server to end the meeting; `status` shows ENDED a few moments later."""
        self._live.pop(room.room_id, None)
        self._opening.pop(room.room_id, None)
        await self.end_meeting(room.room_id)

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart:
        """Create again: a no-op while the meeting lives (same createTime), a fresh session
        with a new createTime once it ended. BBB hands out no moderator link on start."""
        return SessionStart(room=await self._create(room, "start_session"))

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink:
        """A signed link to the meeting as it lives on the server now.

        BBB removes a meeting nobody joined within minutes of its create, or that everyone
        left; a link signed for it would be refused. So the meeting is created again if need be
        (create is idempotent: a live meeting comes back unchanged) and the link carries the
        createTime of the meeting that is there. A burst of joins shares one create call.
        """
        url = self.join_url(
            room.room_id,
            participant.display_name,
            role,
            user_id=participant.user_id,
            create_time=await self._live_create_time(room),
        )
        return JoinLink(url, role)

    async def _live_create_time(self, room: Room) -> str | None:
        lock = self._opening.setdefault(room.room_id, asyncio.Lock())
        async with lock:
            confirmed = self._live.get(room.room_id)
            if confirmed is not None and time.monotonic() - confirmed[0] < self.live_seconds:
                return confirmed[1]
            live = await self._create(room, "join_link")
            self._live[room.room_id] = (time.monotonic(), live.create_time)
            return live.create_time

    async def status(self, room: Room) -> RoomStatus:
        # isMeetingRunning is the documented "is anyone in it" answer; getMeetingInfo adds
        # counts and times, and tells an ended meeting from one that never existed.
        running, info = await asyncio.gather(
            self.is_meeting_running(room.room_id), self._meeting_info_or_none(room.room_id)
        )
        if info is None:
            # The server dropped it while empty (or it ended and was cleaned up); the next
            # join opens it again (see join_link), so for people it is waiting, not gone.
            return RoomStatus(RoomState.WAITING, detail="idle; the next join opens it again")
        if info.forcibly_ended or info.end_time is not None:
            state = RoomState.ENDED
        elif running:
            state = RoomState.RUNNING
        else:
            state = RoomState.WAITING
        return RoomStatus(
            state,
            participant_count=info.participant_count,
            moderator_count=info.moderator_count,
            started_at=info.start_time,
            ended_at=info.end_time,
            detail="ended" if state is RoomState.ENDED else None,
        )

    async def _meeting_info_or_none(self, meeting_id: str) -> responses.MeetingInfo | None:
        try:
            return await self.get_meeting_info(meeting_id)
        except ProviderNotFound:
            return None

    async def attendance(
        self,
        room: Room,
        *,
        session_id: str | None = None,
        participant_ids: Sequence[str] = (),
    ) -> list[Attendee]:
        try:
            info = await self.get_meeting_info(room.room_id)
        except ProviderNotFound:
            return []
        return [
            Attendee(
                name=a.full_name,
                user_id=a.user_id,
                role=Role.MODERATOR if a.role == "MODERATOR" else Role.ATTENDEE,
                present=True,
            )
            for a in info.attendees
        ]

    async def recordings(self, room: Room) -> list[Recording]:
        """Every recording of the meeting in any state but deleted, still processing ones
        included (they have no playback URL yet)."""
        found = await self.get_recordings(meeting_ids=[room.room_id], state="any")
        return [
            Recording(
                recording_id=r.record_id,
                url=_playback_url(r),
                state=r.state,
                published=r.published,
                started_at=r.start_time,
                ended_at=r.end_time,
                participants=r.participants,
                name=r.name,
            )
            for r in found
            if r.state != "deleted"
        ]

    async def publish_recording(self, room: Room, recording_id: str, publish: bool) -> None:
        await self.publish_recordings([recording_id], publish)

    async def delete_recording(self, room: Room, recording_id: str) -> None:
        await self.delete_recordings([recording_id])

    async def settings(self, room: Room) -> MeetingSettings:
        """BBB has no call that reads settings back: they are what we send on create."""
        return room.settings

    async def update_room(self, room: Room, update: RoomUpdate) -> Room:
        """BBB takes title, welcome and settings only at create, and a running meeting keeps
        what it was created with: the change is recorded here (no HTTP call) and applies from
        the next session on. Passwords are derived from the secret and cannot change."""
        if update.moderator_password is not None:
            raise ProviderUnsupported(NAME, "update_room", "changing the moderator password")
        if update.title is not None:
            meeting_name(update.title, "update_room")
        return room.evolve(
            title=update.title or room.title,
            welcome=update.welcome if update.welcome is not None else room.welcome,
            settings=update.settings or room.settings,
        )

    def read_recording_ready(self, signed: str) -> RecordingReady:
        """BigBlueButton signs a recording-ready callback with the shared secret (JWT, HS256):
        only that algorithm and that key are accepted, so an unsigned (`alg: none`), altered
        or otherwise signed payload is refused."""
        import jwt  # noqa: PLC0415 - only a recording callback needs PyJWT, not the start

        try:
            claims = jwt.decode(signed, self._secret, algorithms=["HS256"], options={"require": []})
        except jwt.PyJWTError as error:
            raise ProviderAuthError(
                NAME,
                "recording_ready",
                f"the callback's signature is not valid ({type(error).__name__})",
            ) from None
        meeting_id, record_id = claims.get("meeting_id"), claims.get("record_id")
        if not isinstance(meeting_id, str) or not isinstance(record_id, str):
            raise ProviderAuthError(NAME, "recording_ready", "the callback names no recording")
        return RecordingReady(meeting_id, record_id)

    async def list_rooms(self) -> list[RoomSummary]:
        return [
            RoomSummary(
                m.meeting_id, m.name, running=m.running, participant_count=m.participant_count
            )
            for m in await self.get_meetings()
        ]


def _playback_url(recording: responses.RecordingInfo) -> str | None:
    # The slides-and-audio "presentation" format is the one every server produces; prefer it.
    for playback in recording.playback:
        if playback.type == "presentation" and playback.url:
            return playback.url
    return next((p.url for p in recording.playback if p.url), None)


def _extra(spec: RoomSpec) -> dict[str, str]:
    extra = {"tenant": spec.tenant}
    if spec.end_callback_url:
        extra[END_URL] = spec.end_callback_url
    if spec.recording_ready_url:
        extra[RECORDING_URL] = spec.recording_ready_url
    if spec.logout_url:
        extra["logout_url"] = spec.logout_url
    if spec.duration_minutes:
        extra["duration"] = str(spec.duration_minutes)
    return extra
