"""Making user text safe to show on each platform: no pings, no broken cards.

Replies carry plain text (see `commands.replies`). Every adapter passes all of it through the
escape function of its platform before sending, so a meeting titled `<!channel>`, `@everyone` or
`<@U123>` is displayed literally and notifies nobody. Adapters also switch mentions off in the
API call where the platform offers that (Discord `allowed_mentions`); this is the other layer.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"

_BROADCAST = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#|/)")
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")


def escape_slack(text: str) -> str:
    """Slack mrkdwn/plain text: `&`, `<` and `>` become entities, which Slack shows literally.

    That alone defuses `<!channel>`, `<!here>`, `<@U123>` and `<http://x|label>`; the broadcast
    words are broken too, for clients that would link them in plain text.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)


def escape_discord(text: str) -> str:
    """Discord markdown: mentions, broadcasts, masked links and formatting are shown literally."""
    text = _DISCORD_MARKDOWN.sub(r"\\\1", text)
    text = _DISCORD_MENTION.sub(lambda m: "<" + ZERO_WIDTH_SPACE + m.group(1), text)
    return _BROADCAST.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut (cards have hard field limits)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
