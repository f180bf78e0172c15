"""One tenant can never see, join, end or read another's meetings: by id, by title, by a session
or recording id shown to the other tenant, or by a button payload naming the other's meeting."""

from __future__ import annotations

import re

import httpx
import pytest

from commands.model import Conversation, MeetingState
from commands.replies import ButtonAction, Visibility
from tests.commands.conftest import SLACK_T2, Bench, card_id, only, person, texts

ALICE = person("alice")  # moderates in T1
EVE = person("eve", tenant=SLACK_T2)  # moderates in T2
THEIRS = Conversation(SLACK_T2, "C9")


async def eves_meeting(bench: Bench, provider: str) -> str:
    """Eve's meeting in T2, with Eve really in it (and a recording, where there are any)."""
    created = await bench.router.dispatch(
        EVE, THEIRS, f'create "Board secrets" --provider {provider} --record'
    )
    link = only(created, Visibility.DIRECT)[0].card.link  # type: ignore[union-attr]
    assert link is not None
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        assert (await browser.get(link)).status_code == 200
    return card_id(created)


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_another_tenants_meeting_is_out_of_reach(bench: Bench, provider: str):
    theirs = await eves_meeting(bench, provider)
    ours = card_id(await bench.say(ALICE, f"create Maths --provider {provider}"))
    for command in (
        f"join {theirs}",
        "join Board secrets",
        f"end {theirs}",
        f"status {theirs}",
        "status Board secrets",
        f"attendance {theirs}",
        f"recordings {theirs}",
        f"settings {theirs}",
        f"history {theirs}",
        f"delete {theirs}",
        f"remove {theirs} --user @bob",
    ):
        answer = texts(await bench.say(ALICE, command))
        assert "No meeting called" in answer, (command, answer)
    listed = texts(await bench.say(ALICE, "list --all --ended"))
    assert "Board secrets" not in listed
    assert ours in listed
    for action in (ButtonAction.JOIN, ButtonAction.END):
        pressed = await bench.router.click(ALICE, bench.channel, action, theirs)
        assert "No meeting called" in texts(pressed)
        assert not only(pressed, Visibility.DIRECT)
    meeting = await bench.store.get_meeting(SLACK_T2, theirs)
    assert meeting is not None
    assert meeting.state is MeetingState.RUNNING, "nothing of Eve's changed"


async def test_a_session_id_of_another_meeting_is_refused_before_any_provider_call(bench: Bench):
    theirs = await eves_meeting(bench, "vconnct")
    history = texts(await bench.router.dispatch(EVE, THEIRS, f"history {theirs}"))
    found = re.search(r"^  (\S+): ", history, re.M)
    assert found is not None, history
    their_session = found.group(1)
    assert "eve" in texts(await bench.router.dispatch(EVE, THEIRS, f"attendance {theirs}"))

    await bench.say(ALICE, "create Maths --provider vconnct")
    asked = texts(await bench.say(ALICE, f"attendance Maths --session {their_session}"))
    assert "eve" not in asked
    assert f"Maths has no session {their_session!r}" in asked
    assert "/meet history" in asked


async def test_a_recording_id_of_another_meeting_is_refused(bench: Bench):
    theirs = await eves_meeting(bench, "bigbluebutton")
    await bench.router.dispatch(EVE, THEIRS, f"end {theirs}")
    listing = texts(await bench.router.dispatch(EVE, THEIRS, f"recordings {theirs}"))
    found = re.search(r"^  (\S+): http", listing, re.M)
    assert found is not None, listing
    record = found.group(1)
    await bench.say(ALICE, "create Maths --record")
    for action in ("publish", "unpublish", "delete"):
        answer = texts(await bench.say(ALICE, f"recordings Maths --{action} {record}"))
        assert f"Maths has no recording {record!r}" in answer
    assert record in texts(await bench.router.dispatch(EVE, THEIRS, f"recordings {theirs}"))
