"""A provider that acted but whose answer was lost leaves no orphan and no lie.

Each provider sits behind a fault proxy that forwards `/meet create`'s calls (so the provider
really acts) and then loses the answer: HTTP 500, garbage, a connection reset mid-body, or a
drip past the timeout. Afterwards what we recorded and what the provider holds must agree: a
meeting recorded here is live there and no other was left behind; a meeting not recorded here
was not left live there either; and the reply says which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_providers
from commands.model import Conversation, MeetingState
from commands.policy import RolePolicy, RolePolicyConfig
from commands.replies import Reply, Visibility
from commands.router import CommandRouter
from commands.service import MeetingService
from commands.store import MeetingStore
from providers.base import MeetingProvider
from providers.simulators.liveminutes import FINISHED
from tests.commands.conftest import SLACK_T1, person
from tests.reliability.fault_proxy import Fault, FaultKind, ProxiedProviders

ALICE = person("alice")
CHANNEL = Conversation(SLACK_T1, "C1")
CREATE_PATH = {
    "bigbluebutton": "/create",
    "vconnct": "create_meeting",
    "liveminutes": "createMeeting",
}
KINDS: tuple[FaultKind, ...] = ("status500", "garbage", "reset", "drip")


class Rig:
    def __init__(self, proxied: ProxiedProviders, store: MeetingStore) -> None:
        self.proxied = proxied
        self.store = store
        self.providers: dict[str, MeetingProvider] = build_providers(
            proxied.providers_config(timeout=0.5)
        )
        service = MeetingService(
            providers=self.providers,
            store=store,
            policy=RolePolicy(RolePolicyConfig()),
            default_provider="bigbluebutton",
            clock=lambda: datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        )
        self.router = CommandRouter(service)

    def live_rooms(self, provider: str) -> set[str]:
        """The rooms the provider holds that are still usable."""
        sims = self.proxied.simulators
        if provider == "liveminutes":
            return {k for k, m in sims.liveminutes.meetings.items() if m.status != FINISHED}
        if provider == "vconnct":
            return set(sims.vconnct.meetings)
        return {k for k, m in sims.bigbluebutton.meetings.items() if not m.ended}


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with ProxiedProviders() as proxied:
        store = await MeetingStore.open(f"sqlite:///{tmp_path / 'meetbot.db'}")
        the_rig = Rig(proxied, store)
        try:
            yield the_rig
        finally:
            await store.close()
            for provider in the_rig.providers.values():
                await provider.aclose()


def texts(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_a_create_whose_answer_was_lost_leaves_no_orphan(
    rig: Rig, provider: str, kind: FaultKind
):
    proxy = rig.proxied.proxy(provider)  # type: ignore[arg-type]
    proxy.add(Fault(kind, "after", path=CREATE_PATH[provider], interval=0.05, duration=2.0))
    replies = await rig.router.dispatch(ALICE, CHANNEL, f"create Lost --provider {provider}")
    said = texts(replies)
    assert "went wrong" not in said, said
    assert proxy.requests(CREATE_PATH[provider], forwarded=True), "the provider really acted"

    recorded = await rig.store.find_meetings(SLACK_T1)
    live = rig.live_rooms(provider)
    if recorded:
        [meeting] = recorded
        assert live == {meeting.room.room_id}, "the recorded room is the one live there"
        assert meeting.state is MeetingState.RUNNING
        assert only_direct(replies), "the creator got their link"
    else:
        assert live == set(), f"an orphan was left on {provider}: {live}"
        assert "Nothing was changed" in said or "cancelled" in said, said


def only_direct(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r.visibility is Visibility.DIRECT]


@pytest.mark.parametrize("provider", ["vconnct", "liveminutes"])
async def test_when_the_provider_cannot_be_asked_afterwards_the_reply_says_so(
    rig: Rig, provider: str
):
    proxy = rig.proxied.proxy(provider)  # type: ignore[arg-type]
    # The create's answer is lost, and every look afterwards fails too.
    proxy.add(Fault("status500", "after", path=CREATE_PATH[provider]))
    proxy.add(*(Fault("status500", "before") for _ in range(10)))
    said = texts(await rig.router.dispatch(ALICE, CHANNEL, f"create Lost --provider {provider}"))
    assert "Nothing was changed" not in said
    assert "may still have made" in said
    assert await rig.store.find_meetings(SLACK_T1) == []


async def test_a_lost_vconnct_session_start_is_adopted_not_left_stuck(rig: Rig):
    proxy = rig.proxied.proxy("vconnct")
    proxy.add(Fault("status500", "after", path="start_meeting", method="POST"))
    replies = await rig.router.dispatch(ALICE, CHANNEL, "create Seminar --provider vconnct")
    [meeting] = await rig.store.find_meetings(SLACK_T1)
    assert meeting.state is MeetingState.RUNNING, texts(replies)
    bob = person("bob")
    joined = await rig.router.dispatch(bob, CHANNEL, "join Seminar")
    assert only_direct(joined), texts(joined)


async def test_a_lost_liveminutes_participant_add_still_gives_the_link(rig: Rig):
    await rig.router.dispatch(ALICE, CHANNEL, "create Chat --provider liveminutes")
    rig.proxied.proxy("liveminutes").add(Fault("reset", "after", path="addParticipant"))
    joined = await rig.router.dispatch(person("bob"), CHANNEL, "join Chat")
    assert only_direct(joined), texts(joined)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_lost_vconnct_end_or_delete_answer_still_ends_and_deletes(
    rig: Rig, kind: FaultKind
):
    await rig.router.dispatch(ALICE, CHANNEL, "create Temp --provider vconnct")
    proxy = rig.proxied.proxy("vconnct")
    proxy.add(Fault(kind, "after", path="end_meeting", interval=0.05, duration=2.0))
    ended = await rig.router.dispatch(ALICE, CHANNEL, "end Temp")
    assert "alice ended Temp" in texts(ended)
    proxy.add(Fault(kind, "after", path="delete_scheduled_meeting", interval=0.05, duration=2.0))
    deleted = await rig.router.dispatch(ALICE, CHANNEL, "delete Temp")
    assert "alice deleted Temp" in texts(deleted)
    assert await rig.store.find_meetings(SLACK_T1) == []
    assert rig.live_rooms("vconnct") == set()
