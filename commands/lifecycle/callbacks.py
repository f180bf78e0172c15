"""What a provider calls back: a meeting ended (from inside the room), a recording is ready.

Each callback names the meeting in its URL and proves itself: the end by the per-meeting token
its URL carries (compared in constant time), the recording by the provider's own signature
over its payload. Anything that does not prove itself is refused (`CallbackRefused`, 401) and
changes nothing; a meeting we do not have is 404. A valid callback becomes what the chat
should show (`Post`), for the server that received it to deliver.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import tzinfo

from commands import cards
from commands.lifecycle.urls import TOKEN_KEY
from commands.model import Meeting, MeetingState
from commands.recordings.posts import RecordingMessage, RecordingPoster, is_ready
from commands.schedule.jobs import Post
from commands.service import MeetingChanged, MeetingService
from commands.watch import INSIDE
from providers.base import ProviderAuthError, ProviderError

log = logging.getLogger("meetbot.callbacks")


class CallbackRefused(Exception):
    """The callback does not prove itself (401), or names nothing we have (404)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RecordingPost:
    post: Post
    message: RecordingMessage

    @property
    def recording_id(self) -> str:
        return self.message.recording_id


class ProviderCallbacks:
    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store
        self.poster = RecordingPoster(service)

    async def ended(self, provider: str, meeting_id: str, token: str) -> Post | None:
        """The provider says the meeting ended: end it here too (once); its card, updated."""
        meeting = await self._meeting(provider, meeting_id)
        expected = meeting.room.extra.get(TOKEN_KEY, "")
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise CallbackRefused(401, "the end callback's token is not this meeting's")
        if meeting.state is not MeetingState.RUNNING:
            return None  # ended here already (a command, the clock): nothing left to do
        try:
            ended = await self.service.end_meeting(meeting, ended_on_provider=True)
        except MeetingChanged:
            return None
        summary = await self.service.ended_summary(ended)
        headline = f"{ended.title} was ended from inside the meeting"
        reply = cards.ended_reply(ended, headline, self._zone(ended), summary, INSIDE)
        return Post(ended, reply, refresh=True)

    async def recording_ready(
        self, provider: str, meeting_id: str, signed: str
    ) -> RecordingPost | None:
        """The provider says a recording was processed: post it under the meeting's card,
        once however often it is said, and whoever else (a poll job) found it too. The
        recording is claimed here; the server that shows it says `posted` or `failed`.
        Where recordings are turned off, a valid callback is answered and nothing is done."""
        client = self.service.providers.get(provider)
        if client is None:
            raise CallbackRefused(404, f"no provider {provider!r} here")
        try:
            ready = client.read_recording_ready(signed)
        except ProviderAuthError as error:
            raise CallbackRefused(401, error.message) from None
        meeting = await self._meeting(provider, meeting_id)
        if ready.room_id != meeting.room.room_id:
            raise CallbackRefused(401, "the signed recording is of another meeting")
        if not self.service.recordings.enabled_for(meeting.tenant):
            log.info("recording of %s not posted: recordings are turned off", meeting.id)
            return None
        if await self.store.is_recording_posted(meeting.id, ready.recording_id):
            return None
        try:
            recordings = await client.recordings(meeting.room)
        except ProviderError as error:
            log.info("recording %s of %s not read yet: %s", ready.recording_id, meeting.id, error)
            raise CallbackRefused(503, "the recording cannot be read yet") from None
        found = next((r for r in recordings if r.recording_id == ready.recording_id), None)
        if found is None or not is_ready(found):
            raise CallbackRefused(404, "the provider lists no such recording yet")
        poster = f"callback-{secrets.token_hex(4)}"
        message = await self.poster.claim(meeting, found, poster)
        if message is None:
            return None  # posted meanwhile, or a poll is posting it right now
        return RecordingPost(Post(meeting, message.reply, under_card=True), message)

    async def posted(self, recording: RecordingPost) -> None:
        """The recording is out: a repeated callback or a poll posts nothing more."""
        await self.poster.posted(recording.message)

    async def failed(self, recording: RecordingPost) -> None:
        """The chat could not be told: let the next poll post it."""
        await self.poster.failed(recording.message)

    async def _meeting(self, provider: str, meeting_id: str) -> Meeting:
        meeting = await self.store.meeting_by_id(meeting_id)
        if meeting is None or meeting.provider != provider:
            raise CallbackRefused(404, "no such meeting here")
        return meeting

    def _zone(self, meeting: Meeting) -> tzinfo:
        return cards.channel_zone(meeting, self.service.policy)
