"""The message that posts a recording under its meeting's card, exactly once.

Whoever finds a recording ready (the provider's callback, a poll job) claims it in the store
before posting (`commands.store.recordings`); only the holder of the claim posts, and marks it
posted once the chat has it, or releases it when the post failed. The message carries Watch,
and, where the provider lets recordings be managed, Publish, Unpublish and Delete buttons for
moderators (checked when pressed, like End).
"""

from __future__ import annotations

from dataclasses import dataclass

from commands import cards
from commands.model import Meeting
from commands.replies import Button, ButtonAction, Card, CardField, Reply, Visibility
from commands.service import MeetingService
from providers.base import Capability, Recording

# A recording in these states has nothing to watch yet (or any more).
NOT_READY = frozenset({"processing", "processed", "deleted"})


def is_ready(recording: Recording) -> bool:
    return bool(recording.url) and recording.state not in NOT_READY


@dataclass(frozen=True)
class RecordingMessage:
    """A claimed recording and the message that posts it."""

    meeting: Meeting
    reply: Reply
    recording_id: str
    claim: int  # the store's number for it, which the buttons carry
    poster: str  # who holds the claim


class RecordingPoster:
    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store

    async def claim(
        self, meeting: Meeting, recording: Recording, poster: str
    ) -> RecordingMessage | None:
        """The message for `recording`, if `poster` may post it now (None: it is posted, or
        another poster is posting it)."""
        claim = await self.store.claim_recording(
            meeting.id, recording.recording_id, poster, self.service.clock()
        )
        if claim is None:
            return None
        reply = self.reply(meeting, recording, claim)
        return RecordingMessage(meeting, reply, recording.recording_id, claim, poster)

    async def posted(self, message: RecordingMessage) -> None:
        await self.store.recording_posted(message.claim, message.poster, self.service.clock())

    async def failed(self, message: RecordingMessage) -> None:
        await self.store.release_recording(message.claim, message.poster)

    def reply(self, meeting: Meeting, recording: Recording, claim: int) -> Reply:
        zone = cards.channel_zone(meeting, self.service.policy)
        started = recording.started_at
        fields = [
            CardField("Recorded", cards.when(started, zone), moment=started)
            if started
            else CardField("Recorded", "-"),
            CardField("Id", recording.recording_id),
        ]
        if recording.published is False:
            fields.append(CardField("State", "unpublished"))
        buttons = [Button("Watch", ButtonAction.OPEN, url=recording.url)]
        provider = self.service.providers.get(meeting.provider)
        if provider is not None and Capability.MANAGE_RECORDINGS in provider.capabilities:
            buttons += [
                Button(label, action, meeting_id=meeting.id, value=str(claim), danger=danger)
                for label, action, danger in (
                    ("Publish", ButtonAction.PUBLISH_RECORDING, False),
                    ("Unpublish", ButtonAction.UNPUBLISH_RECORDING, False),
                    ("Delete", ButtonAction.DELETE_RECORDING, True),
                )
            ]
        card = Card(
            f"Recording of {meeting.title}",
            tuple(fields),
            tuple(buttons),
            meeting_id=None,  # not the meeting's card: a message of its own, under it
        )
        return Reply(f"The recording of {meeting.title} is ready.", Visibility.CHANNEL, card=card)
