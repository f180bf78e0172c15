"""The Slack app manifest for /meet: what an admin pastes at api.slack.com/apps."""

from __future__ import annotations

from typing import Any

# The least the bot needs: the command, posting (also in public channels it was not invited
# to), opening DMs, sending a moderator the attendance CSV they asked for (to their DM), and
# reading who is an admin or in which user group.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "files:write",
    "users:read",
    "usergroups:read",
)
USAGE_HINT = 'create "TITLE" [--start WHEN] | join [MEETING] | end [MEETING] | list | help'


def manifest(
    *,
    socket_mode: bool,
    request_url: str | None = None,
    command: str = "/meet",
    name: str = "meetbot",
) -> dict[str, Any]:
    """The manifest as a dict; HTTP mode needs the public URL of the events path."""
    if not socket_mode and not request_url:
        raise ValueError(
            "HTTP mode needs the public request URL, e.g. https://bot.example.org/slack/events"
        )
    slash: dict[str, Any] = {
        "command": command,
        "description": "Create, join and end video meetings",
        "usage_hint": USAGE_HINT,
        # Mentions arrive as <@U123|name>, which the parser reads as people.
        "should_escape": True,
    }
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        slash["url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "display_information": {
            "name": name,
            "description": "Video meetings from chat: BigBlueButton, VConnct, LiveMinutes",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [slash],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
