"""Making user text safe to show on each platform: no pings, no broken cards.

Replies carry plain text (see `commands.replies`). Every adapter passes all of it through the
escape function of its platform before sending, so a meeting titled `<!channel>`, `@everyone` or
`<@U123>` is displayed literally and notifies nobody. Adapters also switch mentions off in the
API call where the platform offers that (Discord `allowed_mentions`); this is the other layer.
The terminal is a platform too: there, text must not move the cursor, recolour, retitle the
window or reorder what follows (bidi controls).
"""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH_SPACE = "\u200b"

_BROADCAST = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_DISCORD_MENTION = re.compile(r"<(@[!&]?|#|/)")
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")
# ECMA-48 escape sequences: CSI (ESC [ or 8-bit CSI) with parameters and final byte; strings
# (OSC, DCS, SOS, PM, APC) up to their terminator or the line's end; other ESC sequences
# (ESC c, ESC ( B, ESC 7).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)


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


def strip_escapes(text: str) -> str:
    """`text` without terminal escape sequences, each removed whole (`\\x1b[2J`, not just ESC)."""
    return _ESCAPE_SEQUENCE.sub("", text)


def escape_terminal(text: str) -> str:
    """Terminal text: no escape sequences, no control or format characters (bidi overrides and
    isolates, zero-width marks) except newlines; other whitespace becomes a space."""
    return "".join(_terminal_char(ch) for ch in strip_escapes(text))


def _terminal_char(ch: str) -> str:
    if ch in {"\n", " "}:
        return ch
    if ch.isspace():
        return " "
    # Cc: C0/C1 controls; Cf: bidi controls, zero-width and other format characters; Cs: lone
    # surrogates, which a terminal cannot even be sent.
    return "" if unicodedata.category(ch) in {"Cc", "Cf", "Cs"} else ch


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut (cards have hard field limits)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
