"""A class of 300 clicking Join at 9:00: personal links minted concurrently, per provider.

Runs the real command layer (router, service, policy, SQLite store) against the three provider
simulators on loopback and prints latency percentiles and throughput. Not a test: it prints.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_providers, build_service
from bot.config import RemindersConfig
from bot.simulated import SimulatedProviders
from commands.model import ChatUser, Conversation, Platform, Tenant
from commands.policy import RolePolicy, RolePolicyConfig
from commands.replies import Visibility
from commands.router import CommandRouter
from commands.store import MeetingStore

CLASS_SIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 300
TENANT = Tenant(Platform.SLACK, "TBENCH")
ROOM = Conversation(TENANT, "C-class")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def burst(router: CommandRouter, provider: str) -> None:
    teacher = ChatUser(TENANT, "UTEACHER", "Teacher")
    await router.dispatch(teacher, ROOM, f'create "Class on {provider}" --provider {provider}')
    students = [ChatUser(TENANT, f"U{i:04d}", f"Student {i}") for i in range(CLASS_SIZE)]

    async def click(student: ChatUser) -> float:
        started = time.perf_counter()
        replies = await router.dispatch(student, ROOM, f"join Class on {provider}")
        elapsed = time.perf_counter() - started
        if not any(r.visibility is Visibility.DIRECT and r.secret for r in replies):
            raise RuntimeError(f"{student.display_name} got no link: {replies[0].text}")
        return elapsed

    wall = time.perf_counter()
    latencies = await asyncio.gather(*(click(s) for s in students))
    wall = time.perf_counter() - wall
    ms = [latency * 1000 for latency in latencies]
    print(
        f"{provider:<14} {CLASS_SIZE} joins in {wall:6.2f} s  "
        f"({CLASS_SIZE / wall:6.0f}/s)  p50 {statistics.median(ms):6.0f} ms  "
        f"p95 {percentile(ms, 0.95):6.0f} ms  max {max(ms):6.0f} ms"
    )


async def main() -> None:
    async with SimulatedProviders() as sims:
        providers = build_providers(sims.providers_config())
        with tempfile.TemporaryDirectory() as folder:
            store = await MeetingStore.open(f"sqlite:///{Path(folder) / 'bench.db'}")
            service = build_service(
                providers,
                store,
                RolePolicy(RolePolicyConfig()),
                default_provider="bigbluebutton",
                reminders=RemindersConfig(),
                clock=lambda: datetime.now(UTC),
            )
            router = CommandRouter(service)
            print(f"join burst: {CLASS_SIZE} students at once, simulators on loopback")
            try:
                for name in ("bigbluebutton", "vconnct", "liveminutes"):
                    await burst(router, name)
            finally:
                await store.close()
                for client in providers.values():
                    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
