"""Discord: /meet as a native app command group, persistent buttons, DMed links."""

from adapters.discord.bot import DiscordAdapter, invite_url, use_api_base
from adapters.discord.events import EventMirror

__all__ = ["DiscordAdapter", "EventMirror", "invite_url", "use_api_base"]
