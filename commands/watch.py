"""Keeping running meetings in step with their provider.

A meeting its provider reports ended (a moderator ended it from inside the meeting) is ended
here too, and comes back as the updated channel card for the adapter to show in place. Every
running meeting is looked at, page by page (no cap), and a provider is asked at most every
`status_every` seconds per meeting, so a busy server is not polled on every tick. Ends by the
clock (`--duration`) are jobs (`commands.schedule`), not this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from commands import cards
from commands.model import Meeting
from commands.policy import RolePolicy
from commands.replies import Reply
from commands.service import MeetingChanged, MeetingService
from providers.base import Capability, ProviderError, RoomState

log = logging.getLogger("meetbot.watch")

PAGE = 500
INSIDE = "from inside the meeting"  # who ended it, as the ended card says


@dataclass(frozen=True)
class CardUpdate:
    """A meeting whose state changed without a command, and its card as it should look now."""

    meeting: Meeting
    reply: Reply


class MeetingWatch:
    def __init__(
        self,
        service: MeetingService,
        policy: RolePolicy | None = None,
        *,
        status_every: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.policy = policy
        self.status_every = status_every
        self.monotonic = monotonic
        self._asked: dict[str, float] = {}  # meeting id -> when its provider was last asked

    async def sweep(self, now: datetime) -> list[CardUpdate]:
        updates = []
        alive: set[str] = set()
        after: str | None = None
        while page := await self.service.store.running_meetings(after=after, limit=PAGE):
            after = page[-1].id
            for meeting in page:
                alive.add(meeting.id)
                try:
                    update = await self._check(meeting)
                except ProviderError as error:
                    # The provider is down or confused: the meeting stays as it is for now.
                    log.info("could not check meeting %s: %s", meeting.id, error)
                    continue
                except MeetingChanged:
                    continue  # a command ended it meanwhile, and updated its card itself
                if update is not None:
                    updates.append(update)
        # Forget meetings that stopped running since the last sweep.
        self._asked = {key: at for key, at in self._asked.items() if key in alive}
        return updates

    async def _check(self, meeting: Meeting) -> CardUpdate | None:
        provider = self.service.provider_for(meeting)
        if Capability.STATUS not in provider.capabilities or not self._due(meeting.id):
            return None
        status = await provider.status(meeting.room)
        if status.state is not RoomState.ENDED:
            return None
        ended = await self.service.end_meeting(meeting, ended_on_provider=True)
        return await self._card(ended, f"{ended.title} was ended from inside the meeting")

    async def _card(self, meeting: Meeting, headline: str) -> CardUpdate:
        summary = await self.service.ended_summary(meeting)
        reply = cards.ended_reply(meeting, headline, self._zone(meeting), summary, INSIDE)
        return CardUpdate(meeting, reply)

    def _due(self, meeting_id: str) -> bool:
        now = self.monotonic()
        last = self._asked.get(meeting_id)
        if last is not None and now - last < self.status_every:
            return False
        self._asked[meeting_id] = now
        return True

    def _zone(self, meeting: Meeting) -> tzinfo:
        return cards.channel_zone(meeting, self.policy or self.service.policy)
