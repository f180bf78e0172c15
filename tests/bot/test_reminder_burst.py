"""Many reminders due at once (see bench/reminder_burst.py for the timed figures): each posted
exactly once even when Slack answers 429 for some, at its due time rather than at the next
poll, over a shared HTTP connection; and a loop asked to stop claims no further batch."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from slack_sdk.http_retry import builtin_async_handlers

from adapters.slack.app import SlackAdapter
from bot.scheduler import JobLoop
from commands.model import Meeting, Platform, Schedule
from commands.replies import Reply, Visibility
from commands.schedule.jobs import JobHandlers
from commands.schedule.planner import planned
from commands.store import JobKind
from providers.base import Room
from tests.adapters.fake_slack import FakeSlack, slack_bench
from tests.commands.conftest import SLACK_T1, Bench, Recorder


class NoJitter:
    """slack_sdk waits Retry-After plus random() seconds; the fake says 0, so: no wait."""

    @staticmethod
    def random() -> float:
        return 0.0


@pytest.fixture
async def setup(tmp_path, monkeypatch) -> AsyncIterator[tuple[Bench, FakeSlack, SlackAdapter]]:
    monkeypatch.setattr(builtin_async_handlers, "random", NoJitter)
    async with slack_bench(tmp_path) as rig:
        yield rig


async def reminders_due(bench: Bench, count: int, due: datetime) -> list[str]:
    """`count` meetings, one a channel, each reminder due at `due`; returns the channels."""
    start = due + timedelta(minutes=10)
    schedule = Schedule(start=start, reminder_minutes=10, timezone="UTC", first_start=start)
    channels = [f"C{index:03d}" for index in range(count)]
    for index, channel in enumerate(channels):
        meeting = Meeting(
            id=f"m{index:03d}",
            tenant=SLACK_T1,
            channel_id=channel,
            title=f"Standup {index}",
            provider="bigbluebutton",
            room=Room(provider="bigbluebutton", room_id=f"m{index:03d}", title="Standup"),
            creator_key=f"{SLACK_T1.key}:UHOST",
            creator_name="host",
            created_at=bench.clock(),
            schedule=schedule,
        )
        plan = planned(schedule, start, bench.clock())
        assert plan.jobs[0] == (JobKind.REMIND, due)
        await bench.store.add_meeting(meeting, plan)
    return channels


def real_paced(bench: Bench) -> tuple[Callable[[], datetime], float]:
    """The bench's clock going on at the pace of real time (for the loop's own sleeping),
    and the monotonic time it set off."""
    started, base = time.monotonic(), bench.clock.now
    assert isinstance(base, datetime)

    def moving() -> datetime:
        return base + timedelta(seconds=time.monotonic() - started)

    return moving, started


def posts_per_channel(fake: FakeSlack) -> Counter[str]:
    return Counter(str(call.params["channel"]) for call in fake.of("chat.postMessage"))


async def test_reminders_rate_limited_by_slack_are_each_posted_exactly_once(setup):
    bench, fake, adapter = setup
    channels = await reminders_due(bench, 60, bench.clock() + timedelta(minutes=5))
    refused_long, refused_once = channels[:10], channels[10:20]
    for channel in refused_long:
        fake.rate_limit_channels[channel] = 3  # more than the adapter retries: the job retries
    for channel in refused_once:
        fake.rate_limit_channels[channel] = 1  # the adapter's own retry after Retry-After
    loop = JobLoop(JobHandlers(bench.service), {Platform.SLACK: adapter}, bench.clock, batch=25)
    bench.clock.advance(minutes=5)
    assert await loop.run_due() == 50
    posted = posts_per_channel(fake)
    assert [posted[channel] for channel in refused_long] == [3] * 10, "each tried 3 times"
    assert await loop.run_due() == 0, "the refused ones wait for their backoff"
    bench.clock.advance(seconds=16)
    assert await loop.run_due() == 10
    assert fake.limited == 10 * 3 + 10
    tries = posts_per_channel(fake)
    refused = dict.fromkeys(refused_long, 3) | dict.fromkeys(refused_once, 1)
    assert {channel: tries[channel] - refused.get(channel, 0) for channel in channels} == (
        dict.fromkeys(channels, 1)
    ), "every reminder accepted once, none twice"
    for index in range(60):
        pending = await bench.store.pending_jobs(f"m{index:03d}")
        assert [kind for kind, *_ in pending] == [JobKind.OPEN], "only the opening is left"


async def test_the_loop_wakes_at_a_due_time_rather_than_at_its_next_poll(setup):
    bench, _fake, _adapter = setup
    moving, started = real_paced(bench)

    recorder = Recorder()
    await reminders_due(bench, 1, moving() + timedelta(seconds=0.3))
    loop = JobLoop(JobHandlers(bench.service), {Platform.SLACK: recorder}, moving, interval=30)
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    try:
        for _ in range(100):
            if recorder.posts:
                break
            await asyncio.sleep(0.05)
        assert recorder.texts(), "nothing posted"
        assert recorder.texts()[0].startswith("Reminder: Standup 0")
        assert time.monotonic() - started < 5, "posted at its time, not 30 s later"
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)


async def test_posts_go_over_one_kept_alive_connection(setup):
    bench, fake, adapter = setup
    await reminders_due(bench, 8, bench.clock() + timedelta(minutes=1))
    for index in range(8):
        meeting = await bench.store.meeting_by_id(f"m{index:03d}")
        assert meeting is not None
        await adapter.announce(meeting, Reply(f"Reminder {index}", Visibility.CHANNEL))
    posts = fake.of("chat.postMessage")
    assert [call.params["channel"] for call in posts] == [f"C{i:03d}" for i in range(8)]
    assert len({call.peer for call in posts}) == 1, "one after the other, on one connection"


async def test_a_stopped_loop_claims_no_further_batch(setup):
    bench, _fake, _adapter = setup
    recorder = Recorder()
    await reminders_due(bench, 30, bench.clock() + timedelta(minutes=1))
    bench.clock.advance(minutes=1)
    loop = JobLoop(JobHandlers(bench.service), {Platform.SLACK: recorder}, bench.clock, batch=5)
    stop = asyncio.Event()
    stop.set()
    assert await loop.run_due(stop) == 0, "stopped before the first claim"
    assert await loop.run_due() == 30


async def test_reminders_prepared_ahead_are_posted_at_their_time_once_with_their_cards(setup):
    # With a lookahead (as `meetbot run` has), reminders are claimed and rendered before
    # they are due, then posted at their time: not before it, each once, its card kept.
    bench, fake, adapter = setup
    moving, started = real_paced(bench)

    channels = await reminders_due(bench, 20, moving() + timedelta(seconds=0.5))
    loop = JobLoop(
        JobHandlers(bench.service),
        {Platform.SLACK: adapter},
        moving,
        interval=30,
        lookahead=timedelta(seconds=30),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    try:
        await fake.wait_until(lambda: len(fake.of("chat.postMessage")) >= 20, 10)
        posted_at = time.monotonic() - started
        await asyncio.sleep(0.2)  # any second post would come now
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
    assert posted_at >= 0.5, "not before its time"
    assert posts_per_channel(fake) == Counter({channel: 1 for channel in channels})
    for index, channel in enumerate(channels):
        [card] = await bench.store.card_refs(f"m{index:03d}")
        assert card.startswith(channel + "/")
        pending = await bench.store.pending_jobs(f"m{index:03d}")
        assert JobKind.REMIND not in [kind for kind, *_ in pending], "done"


async def test_a_loop_stopped_while_reminders_wait_leaves_them_to_the_next_start(setup):
    bench, fake, adapter = setup
    base = bench.clock.now
    await reminders_due(bench, 3, base + timedelta(seconds=20))
    loop = JobLoop(
        JobHandlers(bench.service),
        {Platform.SLACK: adapter},
        bench.clock,
        interval=30,
        lookahead=timedelta(seconds=30),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))
    for _ in range(100):  # until they are claimed and waiting
        if loop._early:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert fake.of("chat.postMessage") == []
    # After the lease a new process (no lookahead) takes them at their time.
    bench.clock.advance(seconds=20 + 150)
    again = JobLoop(JobHandlers(bench.service), {Platform.SLACK: adapter}, bench.clock)
    assert await again.tick() == 3
    assert len(fake.of("chat.postMessage")) == 3
