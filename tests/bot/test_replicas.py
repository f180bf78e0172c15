"""Replicas: real `meetbot run` processes on one PostgreSQL, against a fake Slack (HTTP mode)
in this process, share the clock's work and do each job once.

Two replicas, 200 reminders due within the same minute: each is posted exactly once. Then the
fake Slack holds the posts of 20 more (unanswered, as a slow Slack would), one replica is
killed with SIGKILL while it holds their claims, and the other posts the dead one's reminders
once its lease (`scheduler.lease_seconds`, short here) has run out; the posts the dead one had
in flight never reached Slack. And four replicas started at once on an empty database all
come up (each migrates at its start, under the lock).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from commands.model import Meeting, Platform, Schedule, Tenant
from commands.schedule.planner import planned
from commands.store import JobKind
from commands.store.meetings import meeting_columns
from commands.store.schema import JobRow, MeetingRow, OccurrenceRow
from providers.base import Room
from tests.adapters.fake_slack import FakeSlack
from tests.postgres import PostgresServer

LEASE = 5.0  # seconds: `scheduler.lease_seconds` of the replicas
TENANT = Tenant(Platform.SLACK, "T1")

CONFIG = """
providers:
  bigbluebutton: {{url: 'http://127.0.0.1:9/bigbluebutton/api', secret: replica-test-secret}}
slack:
  mode: http
  port: 0
  bot_token: xoxb-replicas
  signing_secret: replica-test-signing
  api_url: {api}/api/
storage: {{url: '{url}'}}
reminders: {{check_seconds: 1}}
scheduler: {{lease_seconds: {lease}}}
"""


class Replicas:
    def __init__(self, folder: Path, url: str, fake: FakeSlack) -> None:
        self.config = folder / "replica.yaml"
        self.config.write_text(CONFIG.format(api=fake.url, url=url, lease=LEASE))
        self.fake = fake
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, count: int) -> None:
        """`count` replicas at once; back when each has started serving (asked Slack who it
        is, after its store was open)."""
        before = len(self.fake.of("auth.test"))
        self.processes += await asyncio.gather(
            *(
                asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "bot", "run", "--config", str(self.config)),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                for _ in range(count)
            )
        )
        try:
            await self.fake.wait_until(lambda: len(self.fake.of("auth.test")) >= before + count, 60)
        except TimeoutError:
            raise AssertionError(await self.stop()) from None

    async def stop(self) -> str:
        """SIGTERM to those alive; their stderr, together."""
        errors = []
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 30)
            errors.append(err.decode(errors="replace"))
        return "\n".join(errors)


@pytest.fixture
async def rig(tmp_path, postgres: PostgresServer) -> AsyncIterator[tuple[Replicas, AsyncEngine]]:
    url = await postgres.database()
    fake = FakeSlack()
    await fake.start()
    replicas = Replicas(tmp_path, url, fake)
    engine = create_async_engine(url)
    try:
        yield replicas, engine
    finally:
        fake.release()
        for process in replicas.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await engine.dispose()
        await fake.stop()


async def write_reminders(engine: AsyncEngine, first: int, count: int, due: list[datetime]) -> None:
    """Meetings `first`.. in channels of their own, each with its reminder due at `due[n]`:
    the rows `add_meeting` writes with the planner's jobs, in three statements."""
    now = datetime.now(UTC)
    meetings, occurrences, jobs = [], [], []
    for n in range(first, first + count):
        start = due[n - first] + timedelta(minutes=10)
        schedule = Schedule(start=start, reminder_minutes=10, timezone="UTC", first_start=start)
        meeting = Meeting(
            id=f"m{n:04d}",
            tenant=TENANT,
            channel_id=f"C{n:04d}",
            title=f"Standup {n}",
            provider="bigbluebutton",
            room=Room(provider="bigbluebutton", room_id=f"m{n:04d}", title="Standup"),
            creator_key=f"{TENANT.key}:U1",
            creator_name="Host",
            created_at=now - timedelta(hours=1),
            schedule=schedule,
        )
        meetings.append(meeting_columns(meeting))
        occurrences.append(
            {"id": n + 1, "meeting_id": meeting.id, "starts_at": start, "state": "scheduled"}
        )
        plan = planned(schedule, start, now - timedelta(hours=1))
        jobs += [
            {
                "kind": kind.value,
                "meeting_id": meeting.id,
                "occurrence_id": n + 1,
                "due_at": due[n - first] if kind is JobKind.REMIND else at,
                "attempts": 0,
            }
            for kind, at in plan.jobs
        ]
    async with engine.begin() as connection:
        await connection.execute(insert(MeetingRow), meetings)
        await connection.execute(insert(OccurrenceRow), occurrences)
        await connection.execute(insert(JobRow), jobs)


def posts(fake: FakeSlack) -> Counter[str]:
    return Counter(str(call.params.get("channel")) for call in fake.of("chat.postMessage"))


async def reminders(engine: AsyncEngine, first: int, count: int) -> list[JobRow]:
    wanted = [f"m{n:04d}" for n in range(first, first + count)]
    query = select(JobRow).where(JobRow.kind == "remind", JobRow.meeting_id.in_(wanted))
    async with engine.connect() as connection:
        return list((await connection.execute(query)).all())  # type: ignore[arg-type]


def pid_of(worker: str | None) -> int:
    assert worker is not None
    return int(worker.rsplit("-", 2)[1])  # host-pid-random (`bot.run.worker_name`)


async def test_two_replicas_post_each_reminder_once_and_outlive_a_kill_9(rig):
    replicas, engine = rig
    fake = replicas.fake
    await replicas.start(2)

    # 200 reminders due within the same minute (over three seconds from now).
    now = datetime.now(UTC)
    await write_reminders(engine, 0, 200, [now + timedelta(seconds=1 + n % 3) for n in range(200)])
    await fake.wait_until(lambda: len(posts(fake)) >= 200, 40)
    await asyncio.sleep(1.0)  # a second post of any of them would be on its way by now
    first_round = posts(fake)
    assert len(first_round) == 200
    assert set(first_round.values()) == {1}, "each reminder posted exactly once"
    done = await reminders(engine, 0, 200)
    assert all(job.done_at is not None for job in done)

    # 20 more, due now; Slack holds their posts while the replicas hold their claims.
    fake.hold()
    await write_reminders(engine, 200, 20, [datetime.now(UTC) - timedelta(seconds=1)] * 20)
    await fake.wait_until(lambda: fake.held == 20, 20)
    claimed = await reminders(engine, 200, 20)
    holders = Counter(pid_of(job.claimed_by) for job in claimed)
    victim = next(p for p in replicas.processes if p.pid in holders)
    survivor = next(p for p in replicas.processes if p is not victim)
    victims_jobs = {job.meeting_id for job in claimed if pid_of(job.claimed_by) == victim.pid}
    lease_ends = max(
        job.claimed_until
        for job in claimed
        if job.meeting_id in victims_jobs and job.claimed_until is not None
    )
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    fake.release()

    await fake.wait_until(lambda: len(posts(fake)) >= 220, LEASE + 20)
    finished = time.time()
    await asyncio.sleep(1.0)
    everything = posts(fake)
    assert len(everything) == 220
    assert set(everything.values()) == {1}, "each reminder posted exactly once, kill or not"
    assert finished >= lease_ends.replace(tzinfo=UTC).timestamp() - 0.5, "not before the lease"
    after = await reminders(engine, 200, 20)
    assert all(job.done_at is not None for job in after)
    taken_over = {job.meeting_id for job in after if pid_of(job.claimed_by) == survivor.pid}
    assert victims_jobs <= taken_over
    errors = await replicas.stop()
    assert survivor.returncode == 0, errors
    assert "Traceback" not in errors


async def test_four_replicas_starting_at_once_on_an_empty_database_all_come_up(rig):
    replicas, engine = rig
    await replicas.start(4)
    await asyncio.sleep(0.5)
    assert all(process.returncode is None for process in replicas.processes)
    errors = await replicas.stop()
    assert [process.returncode for process in replicas.processes] == [0, 0, 0, 0], errors
    assert "Traceback" not in errors
    async with engine.connect() as connection:
        assert (
            await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
        ).scalar()
