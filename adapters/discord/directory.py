"""Who a mention in a typed option is: a member of the interaction's server, or a refusal.

Discord does not resolve mentions inside string options (`invite`, `user`), so each one is
checked here, from the member cache or one REST fetch.
"""

from __future__ import annotations

import logging
import re

import discord

from commands.errors import CommandError
from commands.model import ChatUser, Tenant
from commands.parsing import Mention

log = logging.getLogger("meetbot.discord")

_SNOWFLAKE = re.compile(r"^\d{1,20}$")
_PICK_MEMBERS = "Mention people by picking them from the list Discord shows as you type @."


class DiscordDirectory:
    """Mentions in typed options (`<@123>`) as ChatUsers of the interaction's guild.

    One that names no user (`@everyone`, a Slack-style `<@U1>`) or nobody of this server is a
    clear refusal. `members_only=False` (for /meet remove) accepts people who have left the
    server, since taking back their access is exactly what is wanted then.
    """

    def __init__(self, interaction: discord.Interaction, *, members_only: bool = True) -> None:
        self.interaction = interaction
        self.members_only = members_only

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser:
        if not _SNOWFLAKE.match(mention.user_id) or int(mention.user_id) >= 1 << 64:
            raise CommandError(
                f"@{mention.label or mention.user_id} is not a member of this server. "
                f"{_PICK_MEMBERS}"
            )
        user_id = int(mention.user_id)
        member = await self._member(user_id)
        if member is not None:
            return ChatUser(tenant, mention.user_id, member.display_name)
        if self.members_only:
            raise CommandError(f"<@{user_id}> is not a member of this server. {_PICK_MEMBERS}")
        return ChatUser(tenant, mention.user_id, mention.label or "a former member")

    async def _member(self, user_id: int) -> discord.Member | None:
        guild = self.interaction.guild
        if guild is None:
            return None
        cached = guild.get_member(user_id)
        if cached is not None:
            return cached
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        except discord.HTTPException as error:
            log.warning("looking up member %s failed: %s", user_id, error.status)
            raise CommandError(
                "Discord did not tell me who that is right now; please try again in a minute."
            ) from None
