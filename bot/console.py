"""`meetbot console` and `meetbot demo`: the terminal chat wired to real providers and a store.

The demo starts the three simulators in-process with a built-in config and a throwaway SQLite
file, so it needs nothing but the checkout. Input is read off the event loop's thread, because
the simulators answer on that same loop.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from adapters.console import ConsoleChat, ConsoleDirectory
from bot.app import build_providers, build_service
from bot.config import Config, ProvidersConfig, RemindersConfig
from bot.scheduler import ReminderLoop
from bot.simulated import SimulatedProviders
from commands.model import Platform
from commands.policy import RolePolicy, RolePolicyConfig
from commands.reminders import ReminderDesk
from commands.router import CommandRouter
from commands.store import MeetingStore
from commands.watch import MeetingWatch


def utc_now() -> datetime:
    return datetime.now(UTC)


async def stdin_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of `stream`, read in a worker thread so the event loop keeps serving."""
    while True:
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line


async def run_console(
    providers_config: ProvidersConfig,
    storage_url: str,
    policy: RolePolicy,
    *,
    reminders: RemindersConfig,
    source: TextIO,
    out: TextIO,
) -> None:
    """The terminal chat against the configured providers, until the input ends. Reminders
    that fall due meanwhile are posted in the terminal's channel, as in a chat."""
    providers = build_providers(providers_config)
    store = await MeetingStore.open(storage_url)
    try:
        service = build_service(
            providers,
            store,
            policy,
            default_provider=providers_config.default_name(),
            reminders=reminders,
            clock=utc_now,
        )
        directory = ConsoleDirectory()
        router = CommandRouter(service, directory=directory)
        chat = ConsoleChat(router.dispatch, router.click, out, directory=directory)
        loop = ReminderLoop(
            ReminderDesk(store, policy),
            {Platform.CONSOLE: chat},
            utc_now,
            interval=reminders.check_seconds,
            watch=MeetingWatch(service, policy),
        )
        stop = asyncio.Event()
        posting = asyncio.create_task(loop.run(stop))
        try:
            await chat.run(stdin_lines(source))
        finally:
            stop.set()
            await posting
    finally:
        await store.close()
        for provider in providers.values():
            await provider.aclose()


async def console(config: Config, *, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    await run_console(
        config.providers,
        config.storage.url,
        RolePolicy(config.roles, config.tenants),
        reminders=config.reminders,
        source=source,
        out=out,
    )
    return 0


async def demo(*, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """The console against in-process simulators, with a fresh database each time."""
    async with AsyncExitStack() as stack:
        sims = await stack.enter_async_context(SimulatedProviders())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meetbot-demo-")))
        print("meetbot demo: the three providers are simulated on this machine.", file=out)
        await run_console(
            sims.providers_config(),
            f"sqlite:///{folder / 'demo.db'}",
            RolePolicy(RolePolicyConfig()),
            reminders=RemindersConfig(),
            source=source,
            out=out,
        )
    return 0
