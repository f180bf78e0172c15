"""`LiveMinutesClient`: the eight documented methods, and the neutral `MeetingProvider` on them.

Every call is a form-encoded POST to `<url>/<method>` with HTTP Basic auth (AccountSid,
AuthToken) through `ProviderHttp`, which keeps the AuthToken out of logs and errors. Lookups and
cancellations are retried when the server is unavailable; createMeeting and addParticipant are
not, because a lost answer may hide a meeting or participant that was made.

LiveMinutes has one moderator per meeting, the host, who enters by the host URL; everyone else
is a participant with a personal URL. It has no sessions, recordings or settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from providers._client import ProviderClient
from providers._http import RetryPolicy, Sleep, Transport
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
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.liveminutes.wire import (
    ID_LIMIT,
    NAME,
    RESULTCODE_ZERO,
    CreatedMeeting,
    MeetingStatus,
    ParticipantStatus,
    read_answer,
    required,
    status,
    text,
    wire_float,
    wire_time,
)
from providers.metering import NO_METER, CallMeter

DEFAULT_URL = "http://api.liveminutes.com"
HEALTH_PROBE_KEY = "meetbot-health-probe"
ATTENDANCE_CONCURRENCY = 10  # one request per person: quick for a class, polite to the server
MODERATOR_NOTE = "LiveMinutes has one moderator, the host; you join as a participant"

_MEETING_STATES = {
    MeetingStatus.START: (RoomState.WAITING, "started, nobody in it yet"),
    MeetingStatus.IN_PROGRESS: (RoomState.RUNNING, "in progress"),
    # The host stepped out (11, "host quited"): the meeting goes on, and the host may come back.
    # Only 12 (finish) is an end.
    MeetingStatus.HOST_QUIT: (RoomState.RUNNING, "the host stepped out"),
    MeetingStatus.FINISHED: (RoomState.ENDED, "finished"),
}
_PARTICIPANT_WORDS = {
    ParticipantStatus.ACCEPTED: "invited",
    ParticipantStatus.REFUSED: "refused",
    ParticipantStatus.IN_PROGRESS: "in the meeting",
    ParticipantStatus.QUIT: "left",
}


class LiveMinutesClient(ProviderClient):
    """Async LiveMinutes client on one pooled HTTP client; implements `MeetingProvider`."""

    name = NAME
    capabilities = frozenset(
        {
            Capability.STATUS,
            Capability.ATTENDANCE,
            Capability.PRESENCE,
            Capability.ATTENDANCE_AFTER_END,  # participant statuses outlive the meeting
            Capability.REMOVE_PARTICIPANT,
            Capability.DELETE,
        }
    )

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        account_sid: str,
        auth_token: str,
        transport: Transport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        super().__init__(
            transport=transport,
            timeout=timeout,
            retry=retry,
            secrets=[auth_token],
            sleep=sleep,
            meter=meter,
        )
        self._base = url.rstrip("/")
        self._auth = (account_sid, auth_token)

    def __repr__(self) -> str:
        # The AccountSid is an identifier, not a secret; the AuthToken never appears.
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
        """Create the meeting `meeting_key` hosted by `host_id` (at most 50 characters)."""
        method = "createMeeting"
        form = required(method, meetingKey=meeting_key, hostid=host_id)
        optional = {
            "title": title,
            "lang": lang,
            "description": description,
            "time": wire_time(time) if time is not None else None,
            "duration": wire_float(method, "duration", duration) if duration is not None else None,
            "hostnickname": host_nickname,
            "hostemail": host_email,
        }
        form.update({key: value for key, value in optional.items() if value})
        body = await self._call(method, form, idempotent=False)
        return CreatedMeeting(
            # The answer echoes the key; should the server ever differ, its key is the one to use.
            meeting_key=text(body, "meetingKey", method, default=meeting_key),
            meeting_url=text(body, "meetingUrl", method),
            host_url=text(body, "hostUrl", method),
        )

    async def add_participant(
        self, meeting_key: str, puid: str, *, nickname: str | None = None, email: str | None = None
    ) -> str:
        """Add `puid` to the meeting; returns their personal participant URL."""
        method = "addParticipant"
        form = required(method, meetingKey=meeting_key, puid=puid)
        if nickname:
            form["nickname"] = nickname
        if email:
            form["email"] = email
        body = await self._call(method, form, idempotent=False)
        return text(body, "participantUrl", method)

    async def get_participant_url(self, meeting_key: str, puid: str) -> str:
        method = "getParticipantUrl"
        form = required(method, meetingKey=meeting_key, puid=puid)
        body = await self._call(method, form, idempotent=True)
        return text(body, "participantUrl", method)

    async def get_meeting_url(self, meeting_key: str) -> str:
        method = "getMeetingUrl"
        body = await self._call(method, required(method, meetingKey=meeting_key), idempotent=True)
        return text(body, "meetingUrl", method)

    async def cancel_meeting(self, meeting_key: str) -> None:
        method = "cancelMeeting"
        await self._call(method, required(method, meetingKey=meeting_key), idempotent=True)

    async def cancel_participant(self, meeting_key: str, puid: str) -> None:
        method = "cancelParticipant"
        form = required(method, meetingKey=meeting_key, puid=puid)
        await self._call(method, form, idempotent=True)

    async def get_meeting_status(self, meeting_key: str) -> MeetingStatus:
        method = "getMeetingStatus"
        body = await self._call(method, required(method, meetingKey=meeting_key), idempotent=True)
        return status(MeetingStatus, body, method, self._http.redact)

    async def get_participant_status(self, meeting_key: str, puid: str) -> ParticipantStatus:
        method = "getParticipantStatus"
        form = required(method, meetingKey=meeting_key, puid=puid)
        body = await self._call(method, form, idempotent=True)
        return status(ParticipantStatus, body, method, self._http.redact)

    async def _call(
        self, method: str, form: Mapping[str, str], *, idempotent: bool
    ) -> dict[str, Any]:
        with self._http.measured(method):
            response = await self._http.send(
                "POST",
                f"{self._base}/{method}",
                operation=method,
                idempotent=idempotent,
                data=form,
                auth=self._auth,
            )
            return read_answer(response, method, self._http.redact)

    # -- MeetingProvider ----------------------------------------------------------------------

    async def health(self) -> ProviderHealth:
        """The API has no health method, so ask the status of a probe meeting: any resultcode
        proves the server speaks the API, but resultcode 0 hides whether the credentials work."""
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
        """Create the meeting under our own id as its meetingKey. If the answer is lost (the
        server may have made it: a timeout, a 5xx, garbage, a reset), the key tells whether it
        exists; one that does is cancelled, because its host URL went with the lost answer."""
        try:
            created = await self.create_meeting(
                spec.meeting_id,
                spec.host.user_id,
                title=spec.title,
                lang=spec.language,
                description=spec.description,
                time=spec.start,
                # The document gives `duration` no unit; minutes is what a meeting tool means.
                duration=spec.duration_minutes,
                host_nickname=spec.host.display_name,
                host_email=spec.host.email,
            )
        except (ProviderUnavailable, ProviderProtocolError) as error:
            raise await self._undo_lost_create(spec.meeting_id, error) from error
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

    async def _undo_lost_create(self, key: str, lost: ProviderError) -> ProviderError:
        """The error to raise once a lost createMeeting has been looked into (and undone)."""
        try:
            await self.get_meeting_status(key)
        except ProviderRejected as error:
            if error.key == RESULTCODE_ZERO:
                return lost  # no such meeting: nothing was made
            return self._unknown(key, lost)
        except ProviderError:
            return self._unknown(key, lost)
        try:
            await self.cancel_meeting(key)
        except ProviderError:
            return self._unknown(key, lost)
        return ProviderUnavailable(
            NAME,
            lost.operation,
            f"{lost.message}; the meeting it had made without telling us was cancelled",
        )

    @staticmethod
    def _unknown(key: str, lost: ProviderError) -> ProviderOutcomeUnknown:
        return ProviderOutcomeUnknown(
            NAME,
            lost.operation,
            f"{lost.message}; it may still have made the meeting {key}, which could not be "
            "checked or cancelled",
        )

    async def join_link(self, room: Room, participant: Participant, role: Role) -> JoinLink:
        if participant.user_id == room.host_id and role is Role.MODERATOR and room.host_url:
            return JoinLink(room.host_url, Role.MODERATOR)
        try:
            url = await self.get_participant_url(room.room_id, participant.user_id)
        except ProviderRejected as error:
            if error.key != RESULTCODE_ZERO:
                raise
            # Not a participant yet: adding them is the only way LiveMinutes mints their URL.
            # Were the credentials wrong instead, addParticipant fails the same way and says so.
            try:
                url = await self.add_participant(
                    room.room_id,
                    participant.user_id,
                    nickname=participant.display_name,
                    email=participant.email,
                )
            except (ProviderUnavailable, ProviderProtocolError):
                # The answer was lost, but the participant may have been added: their URL can
                # be asked for (idempotent); if they were not added, that says so.
                url = await self.get_participant_url(room.room_id, participant.user_id)
        note = MODERATOR_NOTE if role is Role.MODERATOR else None
        return JoinLink(url, Role.ATTENDEE, note)

    async def end(self, room: Room) -> None:
        await self.cancel_meeting(room.room_id)

    async def delete_room(self, room: Room) -> None:
        # LiveMinutes has no delete; cancelling is as close as it gets and retires the URLs.
        await self.cancel_meeting(room.room_id)

    async def status(self, room: Room) -> RoomStatus:
        code = await self.get_meeting_status(room.room_id)
        state, words = _MEETING_STATES[code]
        meeting_url = room.meeting_url
        # An ended meeting's page is gone; asking for its URL would only risk a resultcode 0.
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
        """Ask `getParticipantStatus` for each id; ids LiveMinutes does not know are left out."""
        gate = asyncio.Semaphore(ATTENDANCE_CONCURRENCY)

        async def one(puid: str) -> Attendee | None:
            if not puid or len(puid) > ID_LIMIT:
                return None  # addParticipant refuses such an id, so it was never added
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

        # return_exceptions, so that one failure does not leave the other requests running
        # unattended; the first failure is raised once all have finished.
        found = await asyncio.gather(
            *(one(puid) for puid in dict.fromkeys(participant_ids)), return_exceptions=True
        )
        for result in found:
            if isinstance(result, BaseException):
                raise result
        return [attendee for attendee in found if isinstance(attendee, Attendee)]

    async def remove_participant(self, room: Room, participant_id: str) -> None:
        await self.cancel_participant(room.room_id, participant_id)
