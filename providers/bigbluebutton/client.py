"""The BigBlueButton client: every API call we use, and the neutral provider on top.

All calls are signed GETs whose complete URL is built here (never httpx `params=`), so the
hashed query is the sent query. A meeting's passwords are derived from the secret, which makes
`create` idempotent on every server version; `create` is therefore safe to retry, like every
other call here. Join links are signed URLs built without any HTTP call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from xml.etree.ElementTree import Element

import httpx

from providers._client import ProviderClient
from providers._http import RetryPolicy, Sleep
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
    SessionStart,
)
from providers.bigbluebutton import responses
from providers.bigbluebutton.checksum import ALGORITHMS, derive_password, signed_query
from providers.errors import (
    ProviderAuthError,
    ProviderInputError,
    ProviderNotFound,
    ProviderProtocolError,
)

NAME = "bigbluebutton"
META_MEETING_ID = "meta_meetbot-meeting-id"
META_TENANT = "meta_meetbot-tenant"

# VConnct-style setting name -> BBB create parameter (reference: providers.md, section 1.7).
CREATE_PARAMS = {
    "record": "record",
    "auto_start_recording": "autoStartRecording",
    "allow_start_stop_recording": "allowStartStopRecording",
    "webcam_only_for_moderators": "webcamsOnlyForModerator",
    "lock_settings_disable_cam": "lockSettingsDisableCam",
    "lock_settings_disable_mic": "lockSettingsDisableMic",
    "lock_settings_disable_private_chat": "lockSettingsDisablePrivateChat",
    "lock_settings_disable_public_chat": "lockSettingsDisablePublicChat",
    "lock_settings_disable_note": "lockSettingsDisableNotes",
    "lock_settings_locked_layout": "lockSettingsLockedLayout",
}


def _bool(value: bool) -> str:
    # BBB reads only lowercase true/false; str(True) would be "True".
    return "true" if value else "false"


class BigBlueButtonClient(ProviderClient):
    """Async BigBlueButton API client on one pooled HTTP client; implements `MeetingProvider`."""

    name = NAME
    capabilities = frozenset(
        {
            Capability.START_SESSION,
            Capability.STATUS,
            Capability.ATTENDANCE,
            Capability.RECORDINGS,
            Capability.MANAGE_RECORDINGS,
            Capability.SETTINGS,
            Capability.UPDATE,
            Capability.LIST_ROOMS,
            Capability.ROLES,
        }
    )

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        checksum: str = "sha1",
        join_with_password: bool = False,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if checksum not in ALGORITHMS:
            raise ValueError(f"checksum must be one of {', '.join(ALGORITHMS)}")
        super().__init__(client=client, timeout=timeout, retry=retry, secrets=[secret], sleep=sleep)
        self._api = url.rstrip("/")
        self._secret = secret
        self._algorithm = checksum
        self._join_with_password = join_with_password

    def __repr__(self) -> str:
        return f"BigBlueButtonClient(url={self._api!r}, checksum={self._algorithm!r})"

    # -- signing and sending ------------------------------------------------------------------

    def url(self, call: str, params: Sequence[tuple[str, str]] = ()) -> str:
        """The complete signed URL of an API call."""
        return f"{self._api}/{call}?{signed_query(call, params, self._secret, self._algorithm)}"

    async def _get(self, call: str, params: Sequence[tuple[str, str]] = ()) -> Element:
        response = await self._http.send(
            "GET", self.url(call, params), operation=call, idempotent=True
        )
        self._check_status(response, call)
        return responses.parse(response.content, call)

    @staticmethod
    def _check_status(response: httpx.Response, call: str) -> None:
        # BBB answers every API outcome with 200 + XML. Anything else came from a proxy or a
        # wrong URL; 5xx was already turned into ProviderUnavailable. Retrying will not fix a
        # 404 or a redirect, so say what the operator should check.
        if response.status_code in (401, 403):
            raise ProviderAuthError(NAME, call, f"HTTP {response.status_code} from the server")
        if response.status_code != 200:
            raise ProviderProtocolError(
                NAME,
                call,
                f"answered HTTP {response.status_code}; is the url the API base ending in "
                "/bigbluebutton/api?",
            )

    # -- the API calls ------------------------------------------------------------------------

    async def api_version(self) -> responses.ApiVersion:
        """The version document at the bare API base (no checksum): a health check."""
        response = await self._http.send("GET", self._api, operation="version", idempotent=True)
        self._check_status(response, "version")
        return responses.api_version(responses.parse(response.content, "version"))

    def passwords(self, meeting_id: str) -> tuple[str, str]:
        """(attendee, moderator) passwords of a meeting, the same on every create."""
        return (
            derive_password(self._secret, meeting_id, "attendee"),
            derive_password(self._secret, meeting_id, "moderator"),
        )

    async def create(
        self,
        meeting_id: str,
        name: str,
        *,
        settings: MeetingSettings | None = None,
        welcome: str | None = None,
        logout_url: str | None = None,
        duration_minutes: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> responses.CreateResult:
        if not 2 <= len(name) <= 256:
            raise ProviderInputError(NAME, "create", "a meeting name has 2 to 256 characters")
        if not 2 <= len(meeting_id) <= 256 or "," in meeting_id:
            raise ProviderInputError(NAME, "create", "a meetingID has 2 to 256 characters, no ','")
        attendee_pw, moderator_pw = self.passwords(meeting_id)
        params = [
            ("name", name),
            ("meetingID", meeting_id),
            ("attendeePW", attendee_pw),
            ("moderatorPW", moderator_pw),
        ]
        if welcome:
            params.append(("welcome", welcome))
        if logout_url:
            params.append(("logoutURL", logout_url))
        if duration_minutes:
            params.append(("duration", str(duration_minutes)))
        for setting, value in (settings or MeetingSettings()).items():
            params.append((CREATE_PARAMS[setting], _bool(value)))
        params += sorted((metadata or {}).items())
        return responses.create_result(await self._get("create", params), "create")

    def join_url(
        self,
        meeting_id: str,
        full_name: str,
        role: Role,
        *,
        user_id: str | None = None,
        create_time: str | None = None,
    ) -> str:
        """A signed, personal join URL; no HTTP call."""
        params = [("fullName", full_name), ("meetingID", meeting_id)]
        if self._join_with_password:
            # Servers before 2.4 know no `role`: the password decides it.
            attendee_pw, moderator_pw = self.passwords(meeting_id)
            params.append(("password", moderator_pw if role is Role.MODERATOR else attendee_pw))
        else:
            params.append(("role", "MODERATOR" if role is Role.MODERATOR else "VIEWER"))
        if user_id:
            params.append(("userID", user_id))
        if create_time:
            # Binds the link to this session: a link from an earlier session is refused.
            params.append(("createTime", create_time))
        return self.url("join", params)

    async def is_meeting_running(self, meeting_id: str) -> bool:
        root = await self._get("isMeetingRunning", [("meetingID", meeting_id)])
        return responses.flag(root, "running")

    async def end_meeting(self, meeting_id: str) -> None:
        # The moderator password is deprecated for end but still checked when sent, and
        # required by servers before 2.4: sending the right one is harmless everywhere.
        _attendee_pw, moderator_pw = self.passwords(meeting_id)
        await self._get("end", [("meetingID", meeting_id), ("password", moderator_pw)])

    async def get_meeting_info(self, meeting_id: str) -> responses.MeetingInfo:
        root = await self._get("getMeetingInfo", [("meetingID", meeting_id)])
        return responses.meeting_info(root, "getMeetingInfo")

    async def get_meetings(self) -> list[responses.MeetingInfo]:
        root = await self._get("getMeetings")
        return [responses.meeting_info(m, "getMeetings") for m in root.findall("meetings/meeting")]

    async def get_recordings(
        self,
        *,
        meeting_ids: Sequence[str] = (),
        record_ids: Sequence[str] = (),
        state: str | None = None,
    ) -> list[responses.RecordingInfo]:
        params = []
        if meeting_ids:
            params.append(("meetingID", ",".join(meeting_ids)))
        if record_ids:
            params.append(("recordID", ",".join(record_ids)))
        if state:
            params.append(("state", state))
        return responses.recordings(await self._get("getRecordings", params), "getRecordings")

    async def publish_recordings(self, record_ids: Sequence[str], publish: bool) -> bool:
        root = await self._get(
            "publishRecordings", [("recordID", ",".join(record_ids)), ("publish", _bool(publish))]
        )
        return responses.flag(root, "published")

    async def delete_recordings(self, record_ids: Sequence[str]) -> bool:
        root = await self._get("deleteRecordings", [("recordID", ",".join(record_ids))])
        return responses.flag(root, "deleted")

    async def update_recordings(self, record_ids: Sequence[str], metadata: dict[str, str]) -> bool:
        params = [("recordID", ",".join(record_ids))]
        params += sorted((f"meta_{k}", v) for k, v in metadata.items())
        return responses.flag(await self._get("updateRecordings", params), "updated")

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
        room = Room(
            provider=NAME,
            room_id=spec.meeting_id,
            title=spec.title,
            settings=spec.settings,
            welcome=spec.welcome,
            extra=_extra(spec),
        )
        room = await self._create(room)
        attendee_pw, moderator_pw = self.passwords(room.room_id)
        return room.evolve(attendee_password=attendee_pw, moderator_password=moderator_pw)

    async def _create(self, room: Room) -> Room:
        metadata = {META_MEETING_ID: room.room_id}
        if "tenant" in room.extra:
            metadata[META_TENANT] = room.extra["tenant"]
        duration = room.extra.get("duration")
        result = await self.create(
            room.room_id,
            room.title if len(room.title) >= 2 else f"{room.title}  ",
            settings=room.settings,
            welcome=room.welcome,
            logout_url=room.extra.get("logout_url"),
            duration_minutes=int(duration) if duration else None,
            metadata=metadata,
        )
        return room.evolve(create_time=result.create_time, session_id=result.create_time)

    async def end(self, room: Room) -> None:
        await self.end_meeting(room.room_id)

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart:
        # create again: a no-op while the meeting lives, a fresh session once it ended.
        return SessionStart(room=await self._create(room))

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink:
        url = self.join_url(
            room.room_id,
            participant.display_name,
            role,
            user_id=participant.user_id,
            create_time=room.create_time,
        )
        return JoinLink(url, role)

    async def status(self, room: Room) -> RoomStatus:
        # isMeetingRunning is the documented "is anyone in it" answer; getMeetingInfo adds
        # counts and times, and tells an ended meeting from one that never existed.
        running, info = await asyncio.gather(
            self.is_meeting_running(room.room_id), self._meeting_info_or_none(room.room_id)
        )
        if info is None:
            return RoomStatus(RoomState.ABSENT, detail="not on the server")
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
        found = await self.get_recordings(meeting_ids=[room.room_id], state="any")
        return [
            Recording(
                recording_id=r.record_id,
                url=r.playback[0].url if r.playback else None,
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
        """BBB takes settings at create: the change applies from the next session on."""
        return room.evolve(
            title=update.title or room.title,
            welcome=update.welcome if update.welcome is not None else room.welcome,
            settings=update.settings or room.settings,
        )

    async def list_rooms(self) -> list[RoomSummary]:
        return [
            RoomSummary(
                m.meeting_id, m.name, running=m.running, participant_count=m.participant_count
            )
            for m in await self.get_meetings()
        ]


def _extra(spec: RoomSpec) -> dict[str, str]:
    extra = {"tenant": spec.tenant}
    if spec.logout_url:
        extra["logout_url"] = spec.logout_url
    if spec.duration_minutes:
        extra["duration"] = str(spec.duration_minutes)
    return extra
