"""Delivering replies in Slack, and what to do when Slack says no.

- CHANNEL: a meeting card is updated in place where it was posted before (`chat.update`), else
  posted (`chat.postMessage`) and remembered. If the bot is not in the channel, the card goes
  through the command's `response_url` as an in-channel response instead, which works without
  membership.
- EPHEMERAL: `respond()` on the `response_url`: works in DMs and private channels too. A
  file that comes with it (an attendance CSV) cannot ride on an ephemeral message: it is
  uploaded (`files_upload_v2`) into the invoker's DM, and the ephemeral answer says so.
- DIRECT: `chat.postMessage` with the user's id as the channel: Slack posts it in the app's
  DM with them, so no `conversations.open` round trip and no DM id to keep. Only when Slack
  says it finds no such channel is the DM opened (`conversations.open`) and posted there. If
  the DM cannot be posted, the invoker's own link comes back ephemerally instead; someone
  else's invitation becomes a note to the invoker. A DIRECT reply never falls back to the
  channel. Invitations to others go last, ten at a time, each waiting out Slack's rate limit
  (a fan-out of 1,000 takes as long as the limit says, and loses none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import blocks_of, text_of
from adapters.slack.people import is_user_id, slack_error
from adapters.slack.webapi import Respond, SlackWebApi
from commands.model import ChatUser, Meeting, Platform, Tenant
from commands.replies import Reply, Visibility
from commands.store import MeetingStore
from commands.telemetry import NO_TELEMETRY, Telemetry

log = logging.getLogger("meetbot.slack")

FAN_OUT_AT_ONCE = 10  # invitation DMs in flight: enough to keep up with Slack's post rate
FAN_OUT_PATIENCE = 900.0  # seconds of 429s an invitation waits out before it is given up

__all__ = ["CardBook", "Respond", "SlackDelivery"]


class CardBook(Protocol):
    """Where posted meeting cards are remembered, to update them in place."""

    async def card_refs(self, tenant: Tenant, meeting_id: str) -> tuple[str, ...]: ...

    async def remember_card(self, tenant: Tenant, meeting_id: str, ref: str) -> None: ...


class SlackDelivery:
    def __init__(
        self,
        store: MeetingStore,
        cards: CardBook,
        clock: Callable[[], datetime],
        web: SlackWebApi,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store = store
        self.cards = cards
        self.clock = clock
        self.web = web
        self.telemetry = telemetry

    async def deliver(
        self,
        replies: list[Reply],
        *,
        client: AsyncWebClient,
        respond: Respond,
        invoker: ChatUser,
        channel_id: str,
    ) -> None:
        """Deliver each reply as its visibility says (`client`, Bolt's, uploads files)."""
        invitations = []
        for reply in replies:
            if reply.visibility is Visibility.CHANNEL:
                await self._channel(reply, respond, invoker, channel_id)
            elif reply.visibility is Visibility.DIRECT and reply.recipient != invoker:
                invitations.append(reply)  # last, together (below)
            elif reply.visibility is Visibility.DIRECT:
                await self._direct(reply, respond, invoker)
            elif reply.attachment is not None:
                await self._file(reply, client, respond, invoker)
            else:
                await respond(
                    text=text_of(reply), blocks=blocks_of(reply), response_type="ephemeral"
                )
        await self._fan_out(invitations, respond, invoker)

    async def _fan_out(self, replies: list[Reply], respond: Respond, invoker: ChatUser) -> None:
        """DMs to other people (invitations): several at once, each waiting out Slack's rate
        limit (429, Retry-After) for as long as `FAN_OUT_PATIENCE`. One after another, with
        Retry-After in whole seconds, a thousand would go out at one a second, whatever the
        limit; and one given up on after two 429s is a lost link."""
        slots = asyncio.Semaphore(FAN_OUT_AT_ONCE)

        async def send(reply: Reply) -> None:
            async with slots:
                await self._direct(reply, respond, invoker, patience=FAN_OUT_PATIENCE)

        await asyncio.gather(*(send(reply) for reply in replies))

    async def _file(
        self, reply: Reply, client: AsyncWebClient, respond: Respond, invoker: ChatUser
    ) -> None:
        """A private answer with a file: the file, with the answer as its comment, in the
        invoker's DM (only they see it); a word where they asked, either way."""
        attachment = reply.attachment
        assert attachment is not None
        try:
            channel = await self._dm_channel(invoker)
            if channel is None:
                raise SlackClientError("conversations.open gave no channel")
            await client.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.filename,
                initial_comment=text_of(reply),
            )
        except SlackClientError as error:  # SlackApiError too: a refusal, or a failed upload
            reason = slack_error(error) if isinstance(error, SlackApiError) else str(error)
            log.info("file %s to %s failed: %s", attachment.filename, invoker.key, reason)
            failed = Reply(
                f"{reply.text}\nI could not send you the {attachment.label} as a direct "
                "message (Slack refused the upload); please try again later."
            )
            await respond(text=text_of(failed), response_type="ephemeral")
            return
        note = Reply(
            f"I sent you the {attachment.label} ({attachment.filename}) in a direct message."
        )
        await respond(text=text_of(note), blocks=blocks_of(note), response_type="ephemeral")

    async def _channel(
        self,
        reply: Reply,
        respond: Respond,
        invoker: ChatUser,
        channel_id: str,
    ) -> None:
        text, blocks = text_of(reply), blocks_of(reply)
        meeting_id = reply.card.meeting_id if reply.card else None
        try:
            if meeting_id is not None:
                refs = await self.cards.card_refs(invoker.tenant, meeting_id)
                here = [ref for ref in refs if ref.startswith(channel_id + "/")]
                if here:
                    for ref in here:
                        await self.web.chat_update(
                            channel=channel_id, ts=ref.partition("/")[2], text=text, blocks=blocks
                        )
                    return
            posted = await self.web.chat_postMessage(channel=channel_id, text=text, blocks=blocks)
            if meeting_id is not None:
                ref = f"{channel_id}/{posted['ts']}"
                await self.cards.remember_card(invoker.tenant, meeting_id, ref)
        except SlackApiError as error:
            # Not in the channel (or it is private to us): the response_url still posts there.
            log.info(
                "posting to %s failed (%s); using response_url",
                channel_id,
                slack_error(error),
            )
            await respond(text=text, blocks=blocks, response_type="in_channel")

    def prepare(self, meeting: Meeting, reply: Reply) -> Callable[[], Awaitable[str | None]]:
        """`announce` with the message rendered and its request encoded now; the returned
        function posts it (a reminder made ready before its time)."""
        if reply.visibility is Visibility.DIRECT:
            return lambda: self.announce(meeting, reply)
        body = self.web.encode(
            {"channel": meeting.channel_id, "text": text_of(reply), "blocks": blocks_of(reply)}
        )

        async def post() -> str | None:
            posted = await self.web.call("chat.postMessage", body)
            return f"{meeting.channel_id}/{posted['ts']}"

        return post

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        """Post a reminder to the meeting's channel (a new message, so people are notified),
        and answer where its card is, for the caller to remember with its job's end (to follow
        the meeting's state). A DIRECT reply (an invitee's reminder) goes to its recipient's
        DM instead."""
        if reply.visibility is Visibility.DIRECT:
            assert reply.recipient is not None  # guaranteed by Reply
            await self._post_dm(reply.recipient, reply)
            return None
        posted = await self.web.chat_postMessage(
            channel=meeting.channel_id, text=text_of(reply), blocks=blocks_of(reply)
        )
        return f"{meeting.channel_id}/{posted['ts']}"

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        """Post `reply` in the thread of the meeting's first card in its channel (a card
        posted through a response_url is not known: then in the channel itself)."""
        refs = await self.store.card_refs(meeting.id)
        here = [ref for ref in refs if ref.startswith(meeting.channel_id + "/")]
        await self.web.chat_postMessage(
            channel=meeting.channel_id,
            text=text_of(reply),
            blocks=blocks_of(reply),
            thread_ts=here[0].partition("/")[2] if here else None,
        )

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """Show `reply` in place of every card of the meeting posted so far."""
        for ref in await self.store.card_refs(meeting.id):
            channel, _, ts = ref.partition("/")
            await self.web.chat_update(
                channel=channel, ts=ts, text=text_of(reply), blocks=blocks_of(reply)
            )

    async def _direct(
        self, reply: Reply, respond: Respond, invoker: ChatUser, *, patience: float = 0.0
    ) -> None:
        recipient = reply.recipient
        assert recipient is not None  # guaranteed by Reply
        try:
            if await self._post_dm(recipient, reply, patience=patience):
                return
            log.info("DM to %s failed: conversations.open gave no channel", recipient.key)
        except SlackApiError as error:
            log.info("DM to %s failed: %s", recipient.key, slack_error(error))
        self.telemetry.dm_fallback(Platform.SLACK)
        if recipient.key == invoker.key and reply.fallback_to_invoker:
            note = Reply(
                "I could not send you a direct message, so here it is, visible only to you.\n"
                + reply.text,
                Visibility.EPHEMERAL,
                card=reply.card,
                secret=reply.secret,
            )
            await respond(text=text_of(note), blocks=blocks_of(note), response_type="ephemeral")
        elif recipient.key != invoker.key:
            note = Reply(
                f"I could not send {recipient.display_name} a direct message; they can use "
                "the Join button or /meet join.",
                Visibility.EPHEMERAL,
            )
            await respond(text=text_of(note), response_type="ephemeral")

    async def _post_dm(self, user: ChatUser, reply: Reply, *, patience: float = 0.0) -> bool:
        """Post `reply` in `user`'s DM with the app; False when no DM could be opened."""
        text, blocks = text_of(reply), blocks_of(reply)
        # Only an id that is a user's is a DM when posted to: anything else (a channel's id)
        # would put a personal link where others read it, so it is opened as a DM instead.
        if is_user_id(user.user_id):
            try:
                await self.web.chat_postMessage(
                    channel=user.user_id, text=text, blocks=blocks, patience=patience
                )
                return True
            except SlackApiError as error:
                if slack_error(error) != "channel_not_found":
                    raise
        # Slack did not take the user id as a channel: open the DM and post there.
        channel = await self._dm_channel(user)
        if channel is None:
            return False
        await self.web.chat_postMessage(
            channel=channel, text=text, blocks=blocks, patience=patience
        )
        return True

    async def _dm_channel(self, user: ChatUser) -> str | None:
        """The id of the app's DM with `user` (conversations.open), None if Slack gives none:
        for what takes no user id as its channel (a file upload), or when Slack refused one."""
        opened = await self.web.conversations_open(users=user.user_id)
        return str((opened.get("channel") or {}).get("id") or "") or None
