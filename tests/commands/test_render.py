"""Escaping user text: hostile titles render literally and ping nobody on any platform."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.render import escape_discord, escape_slack, truncate

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "@everyone",
    "@here",
    "@channel",
    "<http://evil.example|click me>",
    "<@&1234567890>",
    "<#123>",
    "[x](http://evil)",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_slack_escape_leaves_no_control_sequence(title):
    escaped = escape_slack(title)
    assert "<" not in escaped
    assert ">" not in escaped
    assert not re.search(r"@(everyone|here|channel)\b", escaped)


@pytest.mark.parametrize("title", HOSTILE)
def test_discord_escape_leaves_no_mention(title):
    escaped = escape_discord(title)
    assert not re.search(r"<@[!&]?\d", escaped)
    assert not re.search(r"@(everyone|here)\b", escaped)
    assert "](" not in escaped


def test_slack_escape_keeps_ordinary_text_readable():
    assert escape_slack("Q&A: 1 < 2") == "Q&amp;A: 1 &lt; 2"
    assert escape_slack("Zoë's class") == "Zoë's class"


def test_discord_escape_marks_formatting_literal():
    assert escape_discord("*bold* _it_ `code`") == r"\*bold\* \_it\_ \`code\`"


@given(st.text(max_size=200))
def test_no_escape_output_can_ping_broadcast(text):
    for escaped in (escape_slack(text), escape_discord(text)):
        assert not re.search(
            r"(?<!\u200b)@(everyone|here|channel)\b", escaped.replace("@\u200b", "\u200b")
        )
    assert "<!" not in escape_slack(text)


def test_truncate():
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab\u2026"
    with pytest.raises(ValueError, match="positive"):
        truncate("x", 0)
