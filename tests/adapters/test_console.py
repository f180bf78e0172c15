"""The terminal chat on the real command layer: audiences, user switching, buttons, bad input."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import AsyncIterator

import pytest

from adapters.console import ConsoleChat, ConsoleDirectory, clean
from bot.scheduler import JobLoop
from bot.simulated import SimulatedProviders
from commands.model import Platform
from commands.policy import RolePolicy, RolePolicyConfig
from commands.router import CommandRouter
from commands.schedule.jobs import JobHandlers
from commands.schedule.planner import Timing
from tests.commands.conftest import make_bench


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item + "\n"


@pytest.fixture
async def chat(tmp_path):
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        directory = ConsoleDirectory()
        router = CommandRouter(bench.service, directory=directory)
        out = io.StringIO()
        try:
            yield ConsoleChat(router.dispatch, router.click, out, directory=directory), out
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()


async def test_transcript_shows_who_sees_what(chat):
    console, out = chat
    await console.run(
        lines(
            "/meet create Standup --provider liveminutes --invite @bob",
            "/as bob",
            "/meet join",
            "/meet nonsense",
        )
    )
    text = out.getvalue()
    assert "#general > alice started Standup" in text
    assert "DM to alice > Your personal link to Standup" in text
    assert "DM to bob > alice invites you to Standup now" in text
    assert "only bob sees > I sent you a direct message" in text
    assert "only bob sees > there is no /meet nonsense" in text


async def test_press_buttons_and_switch_users(chat):
    console, out = chat
    await console.run(lines("/meet create Lab"))
    meeting_id = re.search(r"Id: (\w+)", out.getvalue()).group(1)  # type: ignore[union-attr]
    await console.run(
        lines(
            "/as carol",
            f"/press join {meeting_id}",
            f"/press end {meeting_id}",
            "/press fly x",
            "/as bad name!",
            "/whatever",
            "# quiet",
            "",
        )
    )
    text = out.getvalue()
    assert "DM to carol > Your personal link to Lab" in text
    assert "only carol sees > Only moderators can end Lab" in text
    assert "usage: /press join|end MEETING_ID" in text
    assert "/as takes a name" in text
    assert "Console commands:" in text
    assert "# quiet" not in text


def test_clean_strips_terminal_escapes():
    assert clean("a\x1b[31mb\u202ec\td") == "abc d"
    assert clean("x\x1b]0;owned\x07y\x1b(Bz\x9b2Jw\n2") == "xyzw\n2"


HOSTILE = [
    "\u202e",  # right-to-left override
    *"\u2066\u2067\u2068\u2069",  # bidi isolates
    "\u061c",  # Arabic letter mark
    "\u200f\u200b\ufeff\u00ad",  # marks, zero width space, BOM, soft hyphen (all Cf)
    "\x1b[2J",  # clear screen
    "\x1b[31m",
    "\x1b]0;title\x07",  # set the window title
    "\x9b2J",  # 8-bit CSI
    "\x00\x07\x08\x7f\x85",
]


def terminal_safe(text: str) -> bool:
    unsafe = [ch for ch in text if ch != "\n" and unicodedata.category(ch) in {"Cc", "Cf"}]
    return not unsafe and "[2J" not in text and "]0;" not in text and "[31m" not in text


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_no_echo_carries_controls_or_escapes(chat, hostile):
    console, out = chat
    title = f"Evil{hostile}Title"
    await console.run(
        lines(f"/meet create {title}", f"/meet status {title}", f"/meet frobnicate {hostile}")
    )
    shown = out.getvalue()
    assert terminal_safe(shown), repr(shown)
    assert re.search(r"\[alice\] /meet create Evil ?Title", shown)


async def test_a_due_reminder_is_posted_in_the_terminal_channel(tmp_path):
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        bench.service.timing = Timing(default_remind_minutes=10)
        directory = ConsoleDirectory()
        router = CommandRouter(bench.service, directory=directory)
        out = io.StringIO()
        console = ConsoleChat(router.dispatch, router.click, out, directory=directory)
        loop = JobLoop(JobHandlers(bench.service), {Platform.CONSOLE: console}, bench.clock)
        try:
            await console.run(lines('/meet create "Office hours" --start "in 1h"'))
            assert "I will remind this channel 10 min before it starts" in out.getvalue()
            assert await loop.tick() == 0
            bench.clock.advance(minutes=52)
            assert await loop.tick() == 1
            shown = out.getvalue()
            assert "[meetbot] posts about Office hours" in shown
            assert "#general > Reminder: Office hours starts in 8 min" in shown
            assert await loop.tick() == 0, "posted once"
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()


def test_a_comment_after_a_command_is_a_comment():
    from adapters.console import without_comment

    assert without_comment("/meet end Algebra 101   # refused: bob is an attendee") == (
        "/meet end Algebra 101   "
    )
    assert without_comment("# a whole line") == ""
    assert without_comment('/meet create "Room #4" --welcome C#') == (
        '/meet create "Room #4" --welcome C#'
    )
    assert without_comment("/meet create \u201cRoom #4\u201d") == "/meet create \u201cRoom #4\u201d"
