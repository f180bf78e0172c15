"""A full command layer on real parts: the three simulators over loopback, a SQLite file,
the role policy, and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_providers
from bot.scheduler import JobLoop
from bot.simulated import SimulatedProviders
from commands.model import ChatUser, Conversation, Meeting, Platform, PlatformFacts, Tenant
from commands.policy import RolePolicy, RolePolicyConfig
from commands.replies import Reply, Visibility
from commands.router import CommandRouter
from commands.schedule.jobs import JobHandlers
from commands.service import MeetingService
from commands.store import MeetingStore
from providers.base import MeetingProvider

SLACK_T1 = Tenant(Platform.SLACK, "T1")
SLACK_T2 = Tenant(Platform.SLACK, "T2")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def person(name: str, tenant: Tenant = SLACK_T1, **facts: object) -> ChatUser:
    return ChatUser(
        tenant,
        f"U{name.upper()}",
        name,
        facts=PlatformFacts(**({"timezone": "UTC"} | facts)),  # type: ignore[arg-type]
    )


@dataclass
class Bench:
    sims: SimulatedProviders
    providers: dict[str, MeetingProvider]
    store: MeetingStore
    service: MeetingService
    router: CommandRouter
    clock: Clock
    db: Path
    channel: Conversation

    async def say(
        self, user: ChatUser, text: str, where: Conversation | None = None
    ) -> list[Reply]:
        return await self.router.dispatch(user, where or self.channel, text)


async def make_bench(tmp_path: Path, sims: SimulatedProviders, policy: RolePolicy) -> Bench:
    clock = Clock()
    providers = build_providers(sims.providers_config())
    db = tmp_path / "meetbot.db"
    store = await MeetingStore.open(f"sqlite:///{db}")
    service = MeetingService(
        providers=providers,
        store=store,
        policy=policy,
        default_provider="bigbluebutton",
        clock=clock,
    )
    return Bench(
        sims,
        providers,
        store,
        service,
        CommandRouter(service),
        clock,
        db,
        Conversation(SLACK_T1, "C1"),
    )


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    async with SimulatedProviders() as sims:
        b = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        try:
            yield b
        finally:
            await b.store.close()
            for provider in b.providers.values():
                await provider.aclose()


def only(replies: list[Reply], visibility: Visibility) -> list[Reply]:
    return [reply for reply in replies if reply.visibility is visibility]


def texts(replies: list[Reply]) -> str:
    """Every reply's text, one after another."""
    return "\n".join(r.text for r in replies)


def card_id(replies: list[Reply]) -> str:
    """The meeting id of the channel card among `replies`."""
    card = only(replies, Visibility.CHANNEL)[0].card
    assert card is not None
    assert card.meeting_id is not None
    return card.meeting_id


class Recorder:
    """An announcer that keeps what the scheduler posts: (refresh?, meeting, reply); replies
    under a meeting's card are in `posts` too, and also in `under`."""

    def __init__(self) -> None:
        self.posts: list[tuple[bool, Meeting, Reply]] = []
        self.under: list[tuple[Meeting, Reply]] = []

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        self.posts.append((False, meeting, reply))
        return None  # nowhere to update in place

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        self.posts.append((True, meeting, reply))

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        self.under.append((meeting, reply))
        self.posts.append((False, meeting, reply))

    def texts(self) -> list[str]:
        return [reply.text for _refresh, _meeting, reply in self.posts]

    def take(self) -> list[tuple[bool, Meeting, Reply]]:
        taken, self.posts = self.posts, []
        return taken


def bbb_on_the_bench_clock(bench: Bench, processing: timedelta) -> None:
    """The simulated BigBlueButton keeps the bench's time: a recording is processed once the
    bench's clock has moved `processing` past the end."""

    def seconds() -> float:
        return bench.clock.now.timestamp()

    sim = bench.sims.bigbluebutton
    sim.clock = seconds
    sim.processing_seconds = processing.total_seconds()


def scheduler(bench: Bench, recorder: Recorder, platform: Platform = Platform.SLACK) -> JobLoop:
    """The real job loop on the bench's service and clock, posting to `recorder`."""
    return JobLoop(JobHandlers(bench.service), {platform: recorder}, bench.clock)
