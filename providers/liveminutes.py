"""LiveMinutes client: the eight methods of the LiveMinutes API and the neutral provider on top.

Every call is a form-encoded POST to `<url>/<method>` with HTTP Basic auth (AccountSid,
AuthToken), answered by JSON with `resultcode`. The document says `resultcode` 0 means that
authentication failed *or* the meeting does not exist, and nothing tells the two apart; the
error says both. Documented limits (hostid and puid at most 50 characters) are checked before
anything is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, TypeVar

import httpx

from providers._client import ProviderClient
from providers._http import RetryPolicy, Sleep
from providers.base import (
    Attendee,
    Capability,
    JoinLink,
    Participant,
    ProviderHealth,
    Role,
    Room,
    RoomSpec,
    RoomState,
    RoomStatus,
)
from providers.errors import (
    ProviderAuthError,
    ProviderInputError,
    ProviderProtocolError,
    ProviderRejected,
)

NAME = "liveminutes"
ID_LIMIT = 50  # hostid and puid: "Length <= 50" in the document
HEALTH_PROBE_KEY = "meetbot-health-probe"
RESULTCODE_ZERO = "resultcode 0"


_S = TypeVar("_S", bound=IntEnum)


class MeetingStatus(IntEnum):
    """`getMeetingStatus` codes ("idlastbookingstatus")."""

    START = 1
    IN_PROGRESS = 8
    HOST_QUIT = 11
    FINISHED = 12


class ParticipantStatus(IntEnum):
    """`getParticipantStatus` codes ("idlastparticipantstatus")."""

    ACCEPTED = 2
    REFUSED = 3
    IN_PROGRESS = 10
    QUIT = 11


_MEETING_STATES = {
    MeetingStatus.START: (RoomState.WAITING, "started, nobody in it yet"),
    MeetingStatus.IN_PROGRESS: (RoomState.RUNNING, "in progress"),
    MeetingStatus.HOST_QUIT: (RoomState.ENDED, "host quit"),
    MeetingStatus.FINISHED: (RoomState.ENDED, "finished"),
}
_PARTICIPANT_WORDS = {
    ParticipantStatus.ACCEPTED: "invited",
    ParticipantStatus.REFUSED: "refused",
    ParticipantStatus.IN_PROGRESS: "in the meeting",
    ParticipantStatus.QUIT: "left",
}


@dataclass(frozen=True)
class CreatedMeeting:
    meeting_key: str
    meeting_url: str
    host_url: str


class LiveMinutesClient(ProviderClient):
    """Async LiveMinutes client on one pooled HTTP client; implements `MeetingProvider`."""

    name = NAME
    capabilities = frozenset(
        {Capability.STATUS, Capability.ATTENDANCE, Capability.REMOVE_PARTICIPANT, Capability.DELETE}
    )

    def __init__(
        self,
        *,
        url: str = "http://api.liveminutes.com",
        account_sid: str,
        auth_token: str,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(
            client=client, timeout=timeout, retry=retry, secrets=[auth_token], sleep=sleep
        )
        self._base = url.rstrip("/")
        self._auth = (account_sid, auth_token)

    def __repr__(self) -> str:
        return f"LiveMinutesClient(url={self._base!r}, account_sid={self._auth[0]!r})"

    # -- the eight documented methods ---------------------------------------------------------

    async def create_meeting(
        self,
        meeting_key: str,
        host_id: str,
        *,
        title: str | None = None,
        lang: str | None = None,
        description: str | None = None,
        time: datetime | None = None,
        duration: float | None = None,
        host_nickname: str | None = None,
        host_email: str | None = None,
    ) -> CreatedMeeting:
        form = {"meetingKey": meeting_key, "hostid": _limited("hostid", host_id)}
        optional = {
            "title": title,
            "lang": lang,
            "description": description,
            # The document gives the format but no zone; UTC is the only unambiguous choice.
            "time": time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if time else None,
            "duration": f"{duration:g}" if duration is not None else None,
            "hostnickname": host_nickname,
            "hostemail": host_email,
        }
        form.update({key: value for key, value in optional.items() if value is not None})
        body = await self._call("createMeeting", form, idempotent=False)
        return CreatedMeeting(
            meeting_key=_text(body, "meetingKey", "createMeeting", default=meeting_key),
            meeting_url=_text(body, "meetingUrl", "createMeeting"),
            host_url=_text(body, "hostUrl", "createMeeting"),
        )

    async def add_participant(
        self, meeting_key: str, puid: str, *, nickname: str | None = None, email: str | None = None
    ) -> str:
        form = {"meetingKey": meeting_key, "puid": _limited("puid", puid)}
        if nickname:
            form["nickname"] = nickname
        if email:
            form["email"] = email
        body = await self._call("addParticipant", form, idempotent=False)
        return _text(body, "participantUrl", "addParticipant")

    async def get_participant_url(self, meeting_key: str, puid: str) -> str:
        form = {"meetingKey": meeting_key, "puid": _limited("puid", puid)}
        body = await self._call("getParticipantUrl", form, idempotent=True)
        return _text(body, "participantUrl", "getParticipantUrl")

    async def get_meeting_url(self, meeting_key: str) -> str:
        body = await self._call("getMeetingUrl", {"meetingKey": meeting_key}, idempotent=True)
        return _text(body, "meetingUrl", "getMeetingUrl")

    async def cancel_meeting(self, meeting_key: str) -> None:
        await self._call("cancelMeeting", {"meetingKey": meeting_key}, idempotent=True)

    async def cancel_participant(self, meeting_key: str, puid: str) -> None:
        form = {"meetingKey": meeting_key, "puid": _limited("puid", puid)}
        await self._call("cancelParticipant", form, idempotent=True)

    async def get_meeting_status(self, meeting_key: str) -> MeetingStatus:
        body = await self._call("getMeetingStatus", {"meetingKey": meeting_key}, idempotent=True)
        return _status(MeetingStatus, body, "getMeetingStatus")

    async def get_participant_status(self, meeting_key: str, puid: str) -> ParticipantStatus:
        form = {"meetingKey": meeting_key, "puid": _limited("puid", puid)}
        body = await self._call("getParticipantStatus", form, idempotent=True)
        return _status(ParticipantStatus, body, "getParticipantStatus")

    # -- transport ----------------------------------------------------------------------------

    async def _call(
        self, method: str, form: Mapping[str, str], *, idempotent: bool
    ) -> dict[str, Any]:
        if not form.get("meetingKey"):
            raise ProviderInputError(NAME, method, "meetingKey must not be empty")
        response = await self._http.send(
            "POST",
            f"{self._base}/{method}",
            operation=method,
            idempotent=idempotent,
            data=form,
            auth=self._auth,
        )
        if response.status_code in (401, 403):
            raise ProviderAuthError(
                NAME, method, f"HTTP {response.status_code}: the AccountSid/AuthToken were refused"
            )
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderProtocolError(
                NAME, method, f"answered HTTP {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(body, dict) or "resultcode" not in body:
            raise ProviderProtocolError(NAME, method, "answered JSON without a resultcode")
        code = str(body["resultcode"])
        if code == "0":
            raise ProviderRejected(
                NAME,
                method,
                f"LiveMinutes refused {method}: the AccountSid/AuthToken are wrong, or the "
                "meeting (or participant) does not exist there",
                key=RESULTCODE_ZERO,
            )
        if code != "1":
            raise ProviderProtocolError(NAME, method, f"answered an unknown resultcode {code!r}")
        return body

    # -- MeetingProvider ----------------------------------------------------------------------

    async def health(self) -> ProviderHealth:
        try:
            await self.get_meeting_status(HEALTH_PROBE_KEY)
        except ProviderRejected as error:
            if error.key != RESULTCODE_ZERO:
                raise
        except ProviderAuthError as error:
            return ProviderHealth(ok=False, detail=error.message)
        return ProviderHealth(
            ok=True, detail="reachable; credentials cannot be verified without a meeting"
        )

    async def create_room(self, spec: RoomSpec) -> Room:
        created = await self.create_meeting(
            spec.meeting_id,
            spec.host.user_id,
            title=spec.title,
            lang=spec.language,
            description=spec.description,
            time=spec.start,
            duration=spec.duration_minutes,
            host_nickname=spec.host.display_name,
            host_email=spec.host.email,
        )
        return Room(
            provider=NAME,
            room_id=created.meeting_key,
            title=spec.title,
            settings=spec.settings,
            host_id=spec.host.user_id,
            host_url=created.host_url,
            meeting_url=created.meeting_url,
            welcome=spec.welcome,
        )

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink:
        if participant.user_id == room.host_id and role is Role.MODERATOR and room.host_url:
            return JoinLink(room.host_url, Role.MODERATOR)
        try:
            url = await self.get_participant_url(room.room_id, participant.user_id)
        except ProviderRejected as error:
            if error.key != RESULTCODE_ZERO:
                raise
            # Not a participant yet: add them (the only way LiveMinutes mints a personal URL).
            url = await self.add_participant(
                room.room_id,
                participant.user_id,
                nickname=participant.display_name,
                email=participant.email,
            )
        note = (
            "LiveMinutes has one moderator, the host; you join as a participant"
            if role is Role.MODERATOR
            else None
        )
        return JoinLink(url, Role.ATTENDEE, note)

    async def end(self, room: Room) -> None:
        await self.cancel_meeting(room.room_id)

    async def delete_room(self, room: Room) -> None:
        await self.cancel_meeting(room.room_id)

    async def status(self, room: Room) -> RoomStatus:
        code = await self.get_meeting_status(room.room_id)
        state, words = _MEETING_STATES[code]
        meeting_url = room.meeting_url
        if state is not RoomState.ENDED:
            meeting_url = await self.get_meeting_url(room.room_id)
        return RoomStatus(state=state, detail=words, meeting_url=meeting_url)

    async def attendance(
        self,
        room: Room,
        *,
        session_id: str | None = None,
        participant_ids: Sequence[str] = (),
    ) -> list[Attendee]:
        gate = asyncio.Semaphore(10)

        async def one(puid: str) -> Attendee | None:
            async with gate:
                try:
                    code = await self.get_participant_status(room.room_id, puid)
                except ProviderRejected as error:
                    if error.key == RESULTCODE_ZERO:
                        return None  # never added (e.g. the host, who joins by host URL)
                    raise
            return Attendee(
                name=puid,
                user_id=puid,
                role=Role.MODERATOR if puid == room.host_id else Role.ATTENDEE,
                status=_PARTICIPANT_WORDS[code],
                present=code is ParticipantStatus.IN_PROGRESS,
            )

        found = await asyncio.gather(*(one(p) for p in dict.fromkeys(participant_ids)))
        return [attendee for attendee in found if attendee is not None]

    async def remove_participant(self, room: Room, participant_id: str) -> None:
        await self.cancel_participant(room.room_id, participant_id)


def _limited(field: str, value: str) -> str:
    if not value:
        raise ProviderInputError(NAME, field, f"{field} must not be empty")
    if len(value) > ID_LIMIT:
        raise ProviderInputError(
            NAME,
            field,
            f"{field} is {len(value)} characters; LiveMinutes allows at most {ID_LIMIT}",
        )
    return value


def _text(body: Mapping[str, Any], key: str, method: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise ProviderProtocolError(NAME, method, f"answered without {key}")
    return value


def _status(kind: type[_S], body: Mapping[str, Any], method: str) -> _S:
    raw = body.get("status")
    try:
        return kind(int(str(raw)))
    except ValueError:
        raise ProviderProtocolError(NAME, method, f"answered an unknown status {raw!r}") from None
