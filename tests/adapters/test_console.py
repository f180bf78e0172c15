"""The terminal chat on the real command layer: audiences, user switching, buttons, bad input."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pytest

from adapters.console import ConsoleChat, ConsoleDirectory, clean
from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from commands.router import CommandRouter
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
    assert clean("a\x1b[31mb\u202ec\td") == "a [31mb c d"
