"""The Discord app: `/meet` as a native command group, persistent Join/End buttons, DMed links.

Every interaction is deferred at once (ephemeral and "thinking": the answer is private unless
posted to the channel), then answered with followups. Channel cards are embeds with persistent
buttons whose custom ids carry the meeting and guild, so they keep working after a restart and
in DMs. Nothing the bot sends can mention anyone: the client's default `allowed_mentions` is
none, and user text is escaped besides. Each interaction is served under a request id of its
own (`commands.requestid`), and its defer is timed for the metrics.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from re import Match
from typing import Any

import discord
from discord import app_commands

from adapters._inflight import InFlight
from adapters.discord.directory import DiscordDirectory
from adapters.discord.group import build_group
from adapters.discord.preflight import log_in
from commands.model import ChatUser, Conversation, Meeting, Platform, PlatformFacts, Tenant
from commands.policy import DISCORD_PERMISSIONS
from commands.render import escape_discord, truncate
from commands.replies import ButtonAction, Card, Reply, Visibility
from commands.requestid import request_scope
from commands.router import CommandRouter
from commands.store import MeetingStore

log = logging.getLogger("meetbot.discord")

CLOSED_DM_CODES = {50007, 50278}  # cannot send to this user / no mutual guilds
# Every 403 counts toward Discord's invalid-request ban, so a closed DM is remembered a while.
CLOSED_DM_MEMORY_SECONDS = 3600.0
NO_MENTIONS = discord.AllowedMentions.none()
# /meet typed in a DM (possible when it is registered globally) names no server: only help is
# answered there. Buttons in DMs carry their server in the custom id and work (see _button).
ANSWERED_IN_DMS = frozenset({"help"})
NO_SERVER = Tenant(Platform.DISCORD, "direct-message")  # never a guild id: those are digits
NOT_IN_A_DM = (
    "/meet works in a server's channels; in a direct message I cannot tell which server's "
    "meetings you mean. Type it in a channel of the server (an invitation's Join button "
    "works here too)."
)

# meetbot never joins voice channels: discord.py's start-up warnings about missing voice
# libraries would only worry operators.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class MeetButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"meet:(?P<action>join|end):(?P<meeting>[0-9a-zA-Z]{1,32}):(?P<guild>\d{1,20})",
):
    """A Join or End button that outlives restarts: everything it needs is in its custom id."""

    def __init__(self, action: str, meeting_id: str, guild_id: int) -> None:
        label, style = (
            ("Join", discord.ButtonStyle.primary)
            if action == "join"
            else ("End", discord.ButtonStyle.danger)
        )
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"meet:{action}:{meeting_id}:{guild_id}"
            )
        )
        self.action = action
        self.meeting_id = meeting_id
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match[str]
    ) -> MeetButton:
        return cls(match["action"], match["meeting"], int(match["guild"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if isinstance(adapter, DiscordAdapter):
            await adapter.on_button(interaction, self.action, self.meeting_id, self.guild_id)


RECORDING_BUTTONS = {
    "publish": (ButtonAction.PUBLISH_RECORDING, "Publish", discord.ButtonStyle.secondary),
    "unpublish": (ButtonAction.UNPUBLISH_RECORDING, "Unpublish", discord.ButtonStyle.secondary),
    "delete": (ButtonAction.DELETE_RECORDING, "Delete", discord.ButtonStyle.danger),
}
RECORDING_WORDS = {action: word for word, (action, _l, _s) in RECORDING_BUTTONS.items()}


class RecordingButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=(
        r"meet:rec-(?P<action>publish|unpublish|delete):(?P<meeting>[0-9a-zA-Z]{1,32})"
        r":(?P<post>\d{1,12}):(?P<guild>\d{1,20})"
    ),
):
    """Publish, Unpublish or Delete on a recording's message; its custom id names the meeting
    and the posted recording by its number (a recording id may be too long for the 100
    characters Discord allows)."""

    def __init__(self, action: str, meeting_id: str, post: str, guild_id: int) -> None:
        _kind, label, style = RECORDING_BUTTONS[action]
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"meet:rec-{action}:{meeting_id}:{post}:{guild_id}",
            )
        )
        self.action = action
        self.meeting_id = meeting_id
        self.post = post
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Match[str]
    ) -> RecordingButton:
        return cls(match["action"], match["meeting"], match["post"], int(match["guild"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if isinstance(adapter, DiscordAdapter):
            await adapter.on_button(
                interaction, self.action, self.meeting_id, self.guild_id, value=self.post
            )


class _MeetClientMixin:
    adapter: DiscordAdapter
    tree: app_commands.CommandTree[Any]

    async def setup_hook(self) -> None:
        self.add_dynamic_items(MeetButton, RecordingButton)  # type: ignore[attr-defined]
        await self.adapter.sync(self.tree)


class MeetClient(_MeetClientMixin, discord.Client):
    pass


class ShardedMeetClient(_MeetClientMixin, discord.AutoShardedClient):
    pass


class DiscordAdapter:
    """/meet in Discord; `client` is the discord.py client to `start(token)`."""

    def __init__(
        self,
        router: CommandRouter,
        *,
        store: MeetingStore,
        clock: Callable[[], datetime],
        guilds: tuple[int, ...] = (),
        sharded: bool = False,
        shard_ids: tuple[int, ...] | None = None,
        shard_count: int | None = None,
    ) -> None:
        self.router = router
        self.store = store
        self.clock = clock
        self.guilds = guilds
        options: dict[str, Any] = {"intents": discord.Intents.default()}
        options["allowed_mentions"] = NO_MENTIONS
        if sharded:
            # No count: Discord's recommended one, every shard here; with ids: this process's
            # share of `shard_count` (the others run the rest).
            if shard_count is not None:
                options["shard_count"] = shard_count
            if shard_ids is not None:
                options["shard_ids"] = list(shard_ids)
        kind = ShardedMeetClient if sharded else MeetClient
        self.client: discord.Client = kind(**options)
        self.client.adapter = self
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self.client)
        self.client.tree = self.tree
        self.tree.add_command(build_group(self.on_command, self.autocomplete_meeting))
        self.inflight = InFlight()
        self._closed_dms: dict[str, float] = {}  # user id -> monotonic time it was seen closed
        self.monotonic = time.monotonic

    async def start(self, token: str) -> asyncio.Task[None]:
        """Log in now (a refused token is one clear error here), then stay connected to the
        gateway in the returned task."""
        await log_in(self.client, token)
        return asyncio.create_task(self.client.connect())

    async def not_ready(self) -> str | None:
        """None when the gateway is ready (for `/readyz`), else what is missing."""
        if self.client.is_closed():
            return "gateway closed"
        return None if self.client.is_ready() else "gateway not ready"

    async def close(self, grace_seconds: float = 10.0) -> None:
        """Disconnect, then let acknowledged interactions finish (bounded)."""
        await self.client.close()
        await self.inflight.drain(grace_seconds)

    # -- commands and buttons -----------------------------------------------------------------

    async def on_command(
        self, interaction: discord.Interaction, name: str, options: dict[str, object]
    ) -> None:
        with request_scope():
            await self._command(interaction, name, options)

    async def _defer(self, interaction: discord.Interaction) -> None:
        """Acknowledge at once, before any I/O (Discord allows 3 seconds), and time it."""
        started = time.monotonic()
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.router.telemetry.acked(Platform.DISCORD, time.monotonic() - started)

    async def _command(
        self, interaction: discord.Interaction, name: str, options: dict[str, object]
    ) -> None:
        await self._defer(interaction)
        async with self.inflight.track():
            if interaction.guild_id is None and name not in ANSWERED_IN_DMS:
                # A DM names no server, so there is no tenant to look meetings up in; refusing
                # here means no provider call and no store write happen for it.
                await interaction.followup.send(
                    NOT_IN_A_DM, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
                return
            user, where = self.context(interaction)
            directory = DiscordDirectory(interaction, members_only=name != "remove")
            router = self.router.with_directory(directory)
            replies = await router.dispatch_options(user, where, name, options)
            await self.deliver(interaction, replies, user)

    async def on_button(
        self,
        interaction: discord.Interaction,
        action: str,
        meeting_id: str,
        guild_id: int,
        *,
        value: str | None = None,
    ) -> None:
        with request_scope():
            await self._defer(interaction)
            async with self.inflight.track():
                await self._button(interaction, action, meeting_id, guild_id, value)

    async def _button(
        self,
        interaction: discord.Interaction,
        action: str,
        meeting_id: str,
        guild_id: int,
        value: str | None = None,
    ) -> None:
        if interaction.guild_id is None:
            # A button in a DM (an invitation): check the presser belongs to that server.
            user = await self.member_of(guild_id, interaction.user)
            if user is None:
                await interaction.followup.send(
                    "You are not a member of the server this meeting belongs to.", ephemeral=True
                )
                return
            where = Conversation(user.tenant, str(interaction.channel_id), is_direct=True)
        else:
            user, where = self.context(interaction)
            if int(user.tenant.id) != guild_id:
                await interaction.followup.send(
                    "That button is not for this server.", ephemeral=True
                )
                return
        if action in RECORDING_BUTTONS:
            kind = RECORDING_BUTTONS[action][0]
        else:
            kind = ButtonAction.JOIN if action == "join" else ButtonAction.END
        replies = await self.router.click(user, where, kind, meeting_id, value)
        await self.deliver(interaction, replies, user)

    async def autocomplete_meeting(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        _user, where = self.context(interaction)
        meetings = await self.router.suggest(where, current)
        return [
            app_commands.Choice(name=truncate(f"{m.title} ({m.state})", 100), value=m.id)
            for m in meetings
        ]

    # -- who and where ------------------------------------------------------------------------

    def context(self, interaction: discord.Interaction) -> tuple[ChatUser, Conversation]:
        """Who and where; an interaction from a DM gets `NO_SERVER`, a tenant that holds no
        meetings (only `ANSWERED_IN_DMS` subcommands are run there)."""
        guild_id = interaction.guild_id
        tenant = NO_SERVER if guild_id is None else Tenant(Platform.DISCORD, str(guild_id))
        member = interaction.user
        permissions = interaction.permissions
        roles = frozenset(r.name for r in getattr(member, "roles", []) if not r.is_default())
        guild = interaction.guild
        facts = PlatformFacts(
            is_admin=permissions.administrator,
            is_owner=guild is not None and guild.owner_id == member.id,
            roles=roles,
            permissions=frozenset(p for p in DISCORD_PERMISSIONS if getattr(permissions, p, False)),
        )
        user = ChatUser(tenant, str(member.id), member.display_name, facts=facts)
        return user, Conversation(tenant, str(interaction.channel_id))

    async def member_of(self, guild_id: int, who: discord.abc.User) -> ChatUser | None:
        try:
            guild = self.client.get_guild(guild_id) or await self.client.fetch_guild(guild_id)
            member = await guild.fetch_member(who.id)
        except (discord.NotFound, discord.Forbidden):
            return None
        permissions = member.guild_permissions
        facts = PlatformFacts(
            is_admin=permissions.administrator,
            is_owner=guild.owner_id == member.id,
            roles=frozenset(r.name for r in member.roles if not r.is_default()),
            permissions=frozenset(p for p in DISCORD_PERMISSIONS if getattr(permissions, p, False)),
        )
        tenant = Tenant(Platform.DISCORD, str(guild_id))
        return ChatUser(tenant, str(member.id), member.display_name, facts=facts)

    # -- delivery -----------------------------------------------------------------------------

    async def deliver(
        self, interaction: discord.Interaction, replies: list[Reply], invoker: ChatUser
    ) -> None:
        answered = False
        for reply in replies:
            if reply.visibility is Visibility.CHANNEL:
                await self._channel(interaction, reply, invoker)
            elif reply.visibility is Visibility.DIRECT:
                answered |= await self._direct(interaction, reply, invoker)
            else:
                await interaction.followup.send(
                    ephemeral=True, **self.message(reply, invoker.tenant)
                )
                answered = True
        if not answered:
            # Nothing private to say: remove the "thinking…" placeholder.
            await interaction.delete_original_response()

    def message(self, reply: Reply, tenant: Tenant) -> dict[str, Any]:
        """send() arguments for a reply: escaped text, an embed card, and its buttons; a file
        that comes with it (an attendance CSV) as an attachment of the same message (a
        private followup shows it to the invoker alone)."""
        kwargs: dict[str, Any] = {
            "content": truncate(escape_discord(reply.text), 2000),
            "allowed_mentions": NO_MENTIONS,
        }
        if reply.attachment is not None:
            attachment = reply.attachment
            kwargs["file"] = discord.File(io.BytesIO(attachment.content), attachment.filename)
        if reply.card is not None:
            kwargs["embed"] = _embed(reply.card)
            view = self._view(reply.card, int(tenant.id))
            if view is not None:
                kwargs["view"] = view
        return kwargs

    def edit_arguments(self, reply: Reply, tenant: Tenant) -> dict[str, Any]:
        """edit() arguments: as for send(), and a card without buttons removes the old ones
        (an edit without `view` would keep Join and End on an ended meeting's card). Cards
        that are edited carry no file (only private answers do)."""
        sent = self.message(reply, tenant)
        sent.pop("file", None)
        return {"view": None} | sent

    def _view(self, card: Card, guild_id: int) -> discord.ui.View | None:
        if not card.buttons:
            return None
        view = discord.ui.View(timeout=None)
        for button in card.buttons:
            if button.action is ButtonAction.OPEN and button.url:
                view.add_item(discord.ui.Button(label=button.label, url=button.url))
            elif button.action in RECORDING_WORDS and button.meeting_id and button.value:
                word = RECORDING_WORDS[button.action]
                view.add_item(RecordingButton(word, button.meeting_id, button.value, guild_id))
            elif button.meeting_id:
                action = "join" if button.action is ButtonAction.JOIN else "end"
                view.add_item(MeetButton(action, button.meeting_id, guild_id))
        return view

    async def _channel(
        self, interaction: discord.Interaction, reply: Reply, invoker: ChatUser
    ) -> None:
        kwargs = self.message(reply, invoker.tenant)
        channel_id = str(interaction.channel_id)
        meeting_id = reply.card.meeting_id if reply.card else None
        service = self.router.service
        try:
            if meeting_id is not None:
                refs = await service.card_refs(invoker.tenant, meeting_id)
                here = [r for r in refs if r.startswith(channel_id + "/")]
                if here:
                    channel = self.client.get_partial_messageable(int(channel_id))
                    for ref in here:
                        message = channel.get_partial_message(int(ref.partition("/")[2]))
                        await message.edit(**self.edit_arguments(reply, invoker.tenant))
                    return
            target = self.client.get_partial_messageable(int(channel_id))
            posted = await target.send(**kwargs)
            if meeting_id is not None:
                await service.remember_card(invoker.tenant, meeting_id, f"{channel_id}/{posted.id}")
        except discord.HTTPException as error:
            log.info("posting in %s failed (%s); answering privately", channel_id, error.code)
            await interaction.followup.send(
                "I cannot post in this channel (check my Send Messages and Embed Links "
                "permissions); here is what I would have posted.",
                ephemeral=True,
                **{k: v for k, v in kwargs.items() if k != "view"},
            )

    async def _direct(
        self, interaction: discord.Interaction, reply: Reply, invoker: ChatUser
    ) -> bool:
        """Send a DM; returns True when it ended in a private followup to the invoker."""
        recipient = reply.recipient
        assert recipient is not None
        closed_at = self._closed_dms.get(recipient.user_id)
        if closed_at is None or self.monotonic() - closed_at > CLOSED_DM_MEMORY_SECONDS:
            try:
                channel = await self.client.create_dm(discord.Object(id=int(recipient.user_id)))
                await channel.send(**self.message(reply, invoker.tenant))
                self._closed_dms.pop(recipient.user_id, None)
                return False
            except discord.HTTPException as error:
                if error.code in CLOSED_DM_CODES:
                    # Final for now: retrying only counts toward the invalid-request ban.
                    self._closed_dms[recipient.user_id] = self.monotonic()
                else:
                    log.warning("DM to %s failed: %s", recipient.key, error.code)
        self.router.telemetry.dm_fallback(Platform.DISCORD)
        if recipient.key == invoker.key and reply.fallback_to_invoker:
            note = Reply(
                "I could not send you a direct message, so here it is, visible only to you.\n"
                + reply.text,
                Visibility.EPHEMERAL,
                card=reply.card,
                secret=reply.secret,
            )
            await interaction.followup.send(ephemeral=True, **self.message(note, invoker.tenant))
            return True
        if recipient.key != invoker.key:
            await interaction.followup.send(
                f"I could not send {escape_discord(recipient.display_name)} a direct message; "
                "they can use the Join button or /meet join.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return True
        return False

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        """Post a reminder (or any channel reply) for `meeting` without an interaction, and
        answer where the card is (for the caller to remember); a DIRECT reply (an invitee's
        reminder) goes to its recipient's DM instead."""
        if reply.visibility is Visibility.DIRECT:
            assert reply.recipient is not None  # guaranteed by Reply
            user_id = reply.recipient.user_id
            closed_at = self._closed_dms.get(user_id)
            if closed_at is not None and self.monotonic() - closed_at <= CLOSED_DM_MEMORY_SECONDS:
                return None
            try:
                dm = await self.client.create_dm(discord.Object(id=int(user_id)))
                await dm.send(**self.message(reply, meeting.tenant))
            except discord.HTTPException as error:
                if error.code in CLOSED_DM_CODES:
                    self._closed_dms[user_id] = self.monotonic()
                raise
            return None
        channel = self.client.get_partial_messageable(int(meeting.channel_id))
        posted = await channel.send(**self.message(reply, meeting.tenant))
        return f"{meeting.channel_id}/{posted.id}"

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        """Post `reply` in the meeting's channel as a reply to its first card there (Discord
        shows it with the card quoted above); a plain post when the card is not known."""
        refs = await self.router.service.card_refs(meeting.tenant, meeting.id)
        here = [ref for ref in refs if ref.startswith(meeting.channel_id + "/")]
        message = self.message(reply, meeting.tenant)
        if here:
            message["reference"] = discord.MessageReference(
                message_id=int(here[0].partition("/")[2]),
                channel_id=int(meeting.channel_id),
                fail_if_not_exists=False,  # a card deleted since: posted all the same
            )
        channel = self.client.get_partial_messageable(int(meeting.channel_id))
        await channel.send(**message)

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """Update the meeting's cards in place (it ended without a command)."""
        message = self.edit_arguments(reply, meeting.tenant)
        for ref in await self.router.service.store.card_refs(meeting.id):
            channel_id, _, message_id = ref.partition("/")
            channel = self.client.get_partial_messageable(int(channel_id))
            await channel.get_partial_message(int(message_id)).edit(**message)

    # -- command sync -------------------------------------------------------------------------

    def commands_json(self) -> list[dict[str, Any]]:
        return [command.to_dict(self.tree) for command in self.tree.get_commands()]

    async def sync(self, tree: app_commands.CommandTree[Any]) -> None:
        """Sync the commands where configured, only when they changed since the last sync
        (Discord allows 200 command creates a day per guild)."""
        digest = hashlib.sha256(
            json.dumps(self.commands_json(), sort_keys=True).encode()
        ).hexdigest()
        application = self.client.application_id
        targets: list[discord.Object | None] = [discord.Object(id=g) for g in self.guilds] or [None]
        for guild in targets:
            key = f"discord.commands.{application}.{guild.id if guild else 'global'}"
            if await self.store.get_value(key) == digest:
                continue
            if guild is not None:
                tree.copy_global_to(guild=guild)
            await tree.sync(guild=guild)
            await self.store.set_value(key, digest)
            log.info("synced /meet to %s", f"guild {guild.id}" if guild else "all guilds")


def _embed(card: Card) -> discord.Embed:
    # Titles render markdown and mention syntax like any message text: escaped the same way.
    embed = discord.Embed(title=truncate(escape_discord(card.title), 256))
    for field in card.fields[:25]:
        value = truncate(escape_discord(field.value), 1024) or "-"
        if field.moment is not None:
            # Discord shows a timestamp token in each reader's own time zone.
            epoch = int(field.moment.timestamp())
            value = f"<t:{epoch}:F> (<t:{epoch}:R>)"
        embed.add_field(name=truncate(escape_discord(field.name), 256), value=value, inline=True)
    if card.link:
        embed.url = card.link
    return embed


def invite_url(application_id: int, *, events: bool = False) -> str:
    """OAuth2 URL that adds the bot with `bot` + `applications.commands` and the least it needs;
    with `events` (a server mirrors meetings as scheduled events), also Create Events (which
    the API asks for to make one) and Manage Events (which discord.py documents for editing)."""
    permissions = discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True, read_message_history=True
    )
    if events:
        permissions.update(create_events=True, manage_events=True)
    return discord.utils.oauth_url(
        application_id, permissions=permissions, scopes=("bot", "applications.commands")
    )


def use_api_base(url: str) -> None:
    """Point discord.py's REST calls elsewhere (a proxy, or a test fake). discord.py keeps the
    base on the `Route` class, so this applies to the whole process."""
    discord.http.Route.BASE = url.rstrip("/")
