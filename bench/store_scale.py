"""Does a join get slower as the store grows? `join`, `list` and `status` with 0, 10,000 and
100,000 other meetings in the store (a real SQLite file), through the real command layer.

The other meetings belong to 50 workspaces, 2% of them running (the watch's page reads), and
the meeting joined is in the busiest workspace (a tenant of 2,000 or 20,000 meetings), so a
lookup that reads its tenant instead of an index shows. The rows are written straight into the
file in bulk (the columns `add_meeting` writes); the joined meeting lives on the BigBlueButton
simulator in this process (a join link is signed locally; the client confirms the meeting is
live once per 15 s, so that is not what is timed). Each figure is the median of 200 calls, one
after another; `status` asks the simulator too (its share is the same at every size).

    python bench/store_scale.py [--sizes 0 10000 100000] [--calls 200]

The last line of stdout is the figures line (`{"figures": [...]}`) the bench driver reads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from figures import emit, figure, load, machine  # bench/figures.py: run from this folder
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_providers, build_service
from bot.config import RemindersConfig
from bot.simulated import SimulatedProviders
from commands.model import ChatUser, Conversation, Meeting, MeetingState, Platform, Tenant
from commands.policy import RolePolicy, RolePolicyConfig
from commands.router import CommandRouter
from commands.store import MeetingStore, async_url
from commands.store.meetings import meeting_columns
from commands.store.schema import MeetingRow
from providers.base import Room

TENANTS = 50
BUSIEST = Tenant(Platform.SLACK, "T0000")
ROOM = Conversation(BUSIEST, "C-class")
TARGET = 1.2  # join at 100,000 within 1.2x of join at 0


def filler(count: int, now: datetime) -> list[dict[str, Any]]:
    """`count` meetings: 40% in the busiest workspace, the rest spread over the others."""
    rows = []
    for index in range(count):
        team = 0 if index % 5 < 2 else 1 + index % (TENANTS - 1)
        tenant = Tenant(Platform.SLACK, f"T{team:04d}")
        state = MeetingState.RUNNING if index % 50 == 0 else MeetingState.ENDED
        meeting = Meeting(
            id=f"f{index:07d}",
            tenant=tenant,
            channel_id=f"C{index % 3000:05d}",
            title=f"Meeting {index}",
            provider="bigbluebutton",
            room=Room(provider="bigbluebutton", room_id=f"f{index:07d}", title="x"),
            creator_key=f"{tenant.key}:U{index:07d}",
            creator_name="Host",
            created_at=now - timedelta(seconds=index),
            state=state,
        )
        rows.append(meeting_columns(meeting))
    return rows


async def fill(db: Path, count: int) -> float:
    store = await MeetingStore.open(f"sqlite:///{db}")  # the tables and indexes
    await store.close()
    started = time.perf_counter()
    rows = filler(count, datetime.now(UTC))
    engine = create_async_engine(async_url(f"sqlite:///{db}"))
    try:
        async with engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                await connection.execute(insert(MeetingRow), rows[start : start + 5000])
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def timed(calls: int, call: Callable[[int], Awaitable[object]]) -> float:
    """The median milliseconds of `calls` calls, one after another (after 10 unmeasured)."""
    for number in range(10):
        await call(-1 - number)
    samples = []
    for number in range(calls):
        started = time.perf_counter()
        await call(number)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def measure(size: int, calls: int, sims: SimulatedProviders) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        took = await fill(db, size)
        store = await MeetingStore.open(f"sqlite:///{db}")
        providers = build_providers(sims.providers_config())
        service = build_service(
            providers,
            store,
            RolePolicy(RolePolicyConfig()),
            default_provider="bigbluebutton",
            reminders=RemindersConfig(),
            clock=lambda: datetime.now(UTC),
        )
        router = CommandRouter(service)
        teacher = ChatUser(BUSIEST, "UTEACHER", "Teacher")
        try:
            await router.dispatch(teacher, ROOM, 'create "Algebra 101"')

            async def join(number: int) -> object:
                student = ChatUser(BUSIEST, f"U{number + 100:07d}", f"Student {number}")
                return await router.dispatch(student, ROOM, "join Algebra 101")

            figures = {
                "join": await timed(calls, join),
                "list": await timed(calls, lambda _n: router.dispatch(teacher, ROOM, "list")),
                "status": await timed(
                    calls, lambda _n: router.dispatch(teacher, ROOM, "status Algebra 101")
                ),
            }
        finally:
            await store.close()
            for provider in providers.values():
                await provider.aclose()
    print(
        f"{size:>7} meetings (written in {took:.1f} s): join {figures['join']:.2f} ms, "
        f"list {figures['list']:.2f} ms, status {figures['status']:.2f} ms (medians); load "
        + " ".join(f"{value:.2f}" for value in os.getloadavg())
    )
    return figures


async def main(sizes: list[int], calls: int) -> None:
    print(f"store scale: join, list, status by store size; {os.cpu_count()} cores")
    results: dict[int, dict[str, float]] = {}
    async with SimulatedProviders() as sims:
        for size in sizes:
            results[size] = await measure(size, calls, sims)
    figures = [
        figure(f"store {size}: {what}", value, "ms")
        for size, found in results.items()
        for what, value in found.items()
    ]
    if 0 in results and max(sizes) > 0:
        ratio = results[max(sizes)]["join"] / results[0]["join"]
        entry = figure(f"store: join at {max(sizes)} / at 0", ratio, "x", f"<= {TARGET}")
        mark = "PASS" if entry["pass"] else "FALLS SHORT"
        print(f"{mark}: join at {max(sizes)} meetings is {ratio:.2f}x join at 0 (<= {TARGET}x)")
        figures.append(entry)
    emit(figures, load=load(), machine=machine())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10_000, 100_000])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="(the driver's; one round here)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.calls))
