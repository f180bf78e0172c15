"""Changing a meeting after it was made: its title and settings, who is in it, and deleting it.

Each change is a moderator's, checked like every other; the provider is asked first and our
records follow. A removed person gets no new link; what the provider cannot take back (a link
already handed out) is reported, not hidden.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from commands.errors import CommandError
from commands.model import ChatUser, Conversation, Meeting, MeetingState
from commands.service import MeetingService
from providers.base import Capability, ProviderNotFound, RoomUpdate

log = logging.getLogger("meetbot.commands")


@dataclass(frozen=True)
class Removal:
    """Who was taken out of a meeting, who of them had a link, and whose link was revoked."""

    meeting: Meeting
    removed: tuple[ChatUser, ...]
    with_links: tuple[ChatUser, ...]
    revoked: tuple[ChatUser, ...]
    creator_kept: tuple[ChatUser, ...] = ()


class MeetingChanges:
    """The changing use cases, on the service's lookups and checks."""

    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store

    async def remove(
        self, user: ChatUser, where: Conversation, reference: str | None, removed: list[ChatUser]
    ) -> Removal:
        """Take people out of a meeting: no new link for them from now on; their link already
        handed out is revoked where the provider can (LiveMinutes), and said to keep working
        where it cannot."""
        meeting = await self.service.find(where, reference, include_ended=False)
        self.service.require_moderator(user, meeting, "remove people from")
        provider = self.service.provider_for(meeting)
        kept = tuple(person for person in removed if person.key == meeting.creator_key)
        out = [person for person in removed if person.key != meeting.creator_key]
        linked = {e.user_key for e in await self.store.join_log(meeting.tenant, meeting.id)}
        revoked = []
        if Capability.REMOVE_PARTICIPANT in provider.capabilities:
            for person in out:
                if person.key in linked:
                    # Not (or no longer) a participant there: nothing left to revoke.
                    with contextlib.suppress(ProviderNotFound):
                        await provider.remove_participant(meeting.room, person.key)
                    revoked.append(person)
        await self.store.remove_people(
            meeting.id, [p.key for p in out], by=user.key, at=self.service.clock()
        )
        gone = {person.key for person in out}
        meeting = meeting.evolve(invitees=tuple(k for k in meeting.invitees if k not in gone))
        await self.store.update_meeting(meeting)
        return Removal(
            meeting,
            removed=tuple(out),
            with_links=tuple(p for p in out if p.key in linked),
            revoked=tuple(revoked),
            creator_kept=kept,
        )

    # -- delete --------------------------------------------------------------------------------

    async def delete(self, user: ChatUser, where: Conversation, reference: str | None) -> Meeting:
        meeting = await self.service.find(where, reference)
        self.service.require_moderator(user, meeting, "delete")
        if meeting.state is MeetingState.RUNNING:
            raise CommandError(f"{meeting.title} is running; end it first with /meet end.")
        provider = self.service.provider_for(meeting)
        if Capability.DELETE in provider.capabilities:
            try:
                await provider.delete_room(meeting.room)
            except ProviderNotFound:
                # Gone there already (removed out of band, or our earlier delete's answer was
                # lost): our record must not outlive it.
                log.info("meeting %s was already gone on %s", meeting.id, meeting.provider)
        await self.store.delete_meeting(meeting.tenant, meeting.id)
        await self.service.observers.deleted(meeting)
        return meeting

    async def update(
        self, user: ChatUser, where: Conversation, reference: str | None, update: RoomUpdate
    ) -> Meeting:
        meeting = await self.service.find(where, reference, include_ended=False)
        self.service.require_moderator(user, meeting, "change")
        provider = self.service.provider_for(meeting)
        self.service.require(provider, Capability.UPDATE)
        room = await provider.update_room(meeting.room, update)
        meeting = meeting.evolve(room=room, title=update.title or meeting.title)
        await self.store.update_meeting(meeting)
        await self.service.observers.changed(meeting)
        return meeting
