"""Discord: /meet as a native app command group, persistent buttons, DMed links."""

from adapters.discord.bot import DiscordAdapter, invite_url, use_api_base

__all__ = ["DiscordAdapter", "invite_url", "use_api_base"]
