"""What every provider client shares: its HTTP plumbing, closing it, and saying "unsupported".

A client subclasses `ProviderClient`, sets `name` and `capabilities`, and overrides the optional
operations it supports; the others answer `ProviderUnsupported` naming the capability, as the
`MeetingProvider` protocol asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from providers._http import ProviderHttp, RetryPolicy, Sleep, Transport, build_transport
from providers.base import (
    Attendee,
    Capability,
    MeetingSettings,
    Participant,
    Recording,
    RecordingReady,
    Room,
    RoomStatus,
    RoomSummary,
    RoomUpdate,
    SessionRecord,
    SessionStart,
)
from providers.errors import ProviderUnsupported
from providers.metering import NO_METER, CallMeter


class ProviderClient:
    """Base of the three clients. `transport=None` builds (and later closes) a pooled one."""

    name: str
    capabilities: frozenset[Capability] = frozenset()

    def __init__(
        self,
        *,
        transport: Transport | None,
        timeout: float,
        retry: RetryPolicy | None,
        secrets: Iterable[str],
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        self._owns_transport = transport is None
        self._http = ProviderHttp(
            self.name,
            transport or build_transport(),
            timeout=timeout,
            retry=retry,
            secrets=secrets,
            sleep=sleep,
            meter=meter,
        )

    async def aclose(self) -> None:
        """Close the pooled transport if this client built it (an injected one is the
        caller's to close)."""
        if self._owns_transport:
            await self._http.transport.aclose()

    def _unsupported(self, operation: str, capability: Capability) -> ProviderUnsupported:
        return ProviderUnsupported(self.name, operation, capability.value)

    # -- optional operations: unsupported unless a client overrides them ----------------------

    async def start_session(self, room: Room, moderator: Participant) -> SessionStart:
        raise self._unsupported("start_session", Capability.START_SESSION)

    async def status(self, room: Room) -> RoomStatus:
        raise self._unsupported("status", Capability.STATUS)

    async def attendance(
        self,
        room: Room,
        *,
        session_id: str | None = None,
        participant_ids: Sequence[str] = (),
    ) -> list[Attendee]:
        raise self._unsupported("attendance", Capability.ATTENDANCE)

    async def sessions(self, room: Room) -> list[SessionRecord]:
        raise self._unsupported("sessions", Capability.SESSIONS)

    async def recordings(self, room: Room) -> list[Recording]:
        raise self._unsupported("recordings", Capability.RECORDINGS)

    async def publish_recording(self, room: Room, recording_id: str, publish: bool) -> None:
        raise self._unsupported("publish_recording", Capability.MANAGE_RECORDINGS)

    async def delete_recording(self, room: Room, recording_id: str) -> None:
        raise self._unsupported("delete_recording", Capability.MANAGE_RECORDINGS)

    async def settings(self, room: Room) -> MeetingSettings:
        raise self._unsupported("settings", Capability.SETTINGS)

    async def default_settings(self) -> MeetingSettings:
        raise self._unsupported("default_settings", Capability.DEFAULT_SETTINGS)

    async def update_room(self, room: Room, update: RoomUpdate) -> Room:
        raise self._unsupported("update_room", Capability.UPDATE)

    async def remove_participant(self, room: Room, participant_id: str) -> None:
        raise self._unsupported("remove_participant", Capability.REMOVE_PARTICIPANT)

    async def delete_room(self, room: Room) -> None:
        raise self._unsupported("delete_room", Capability.DELETE)

    async def list_rooms(self) -> list[RoomSummary]:
        raise self._unsupported("list_rooms", Capability.LIST_ROOMS)

    def read_recording_ready(self, signed: str) -> RecordingReady:
        raise self._unsupported("read_recording_ready", Capability.CALLBACKS)
