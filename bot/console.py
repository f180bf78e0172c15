"""`meetbot console` and `meetbot demo`: the terminal chat wired to real providers and a store.

The demo starts the three simulators in-process with a built-in config and a throwaway SQLite
file, so it needs nothing but the checkout. Input is read off the event loop's thread, because
the simulators answer on that same loop.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import aiohttp
import yarl

from adapters.console import ConsoleChat, ConsoleDirectory
from bot.app import build_providers, build_service, recording_rules
from bot.config import AttendanceConfig, Config, ProvidersConfig, RemindersConfig, ServerConfig
from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.scheduler import JobLoop
from bot.server import InboundServer
from bot.simulated import SimulatedProviders
from commands.lifecycle.callbacks import ProviderCallbacks
from commands.lifecycle.urls import CallbackUrls
from commands.model import Platform
from commands.policy import RolePolicy, RolePolicyConfig
from commands.recordings.rules import RecordingRules
from commands.router import CommandRouter
from commands.schedule.jobs import JobHandlers
from commands.store import JobKind, MeetingStore
from commands.watch import MeetingWatch

SAMPLES = (JobKind.SAMPLE,)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def stdin_lines(stream: TextIO) -> AsyncIterator[str]:
    """Lines of `stream`, read in a worker thread so the event loop keeps serving."""
    while True:
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line


class SimulatedClock:
    """The console's clock under `--now`: it stands still until `/wait` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def run_console(
    providers_config: ProvidersConfig,
    storage_url: str,
    policy: RolePolicy,
    *,
    reminders: RemindersConfig,
    source: TextIO,
    out: TextIO,
    now: datetime | None = None,
    server: ServerConfig | None = None,
    before_close: Callable[[], Awaitable[object]] | None = None,
    recordings: RecordingRules | None = None,
    attendance: AttendanceConfig | None = None,
    exports: Path | None = None,
    metrics: Metrics | None = None,
) -> None:
    """The terminal chat against the configured providers, until the input ends. What the
    clock brings (reminders, openings, ends) is posted in the terminal's channel, as in a chat:
    on the real clock as it comes, or, with `now`, on a simulated clock that `/wait` moves.
    With a `server`, providers call back (a meeting ended inside, a recording ready), and
    what they say is posted too; it serves `/healthz`, `/readyz` and `/metrics` as `meetbot
    run` does (its address is said first). `before_close` runs once the input has ended."""
    metrics = metrics or Metrics()
    providers = build_providers(providers_config, metrics)
    store = await MeetingStore.open(storage_url)
    clock: Callable[[], datetime] = utc_now if now is None else SimulatedClock(now)
    serving = server is not None and server.port is not None
    inbound = InboundServer(metrics=metrics) if serving else None
    try:
        callbacks = None
        if inbound is not None and server is not None and server.port is not None:
            port = await inbound.start(server.host, server.port)
            local = f"http://{_reachable(server.host)}:{port}"
            public = server.public_url or local
            callbacks = CallbackUrls(public)
            inbound.readiness = Readiness(store)  # the terminal is always "connected"
            print(f"Health and metrics: {local}/healthz {local}/readyz {local}/metrics", file=out)
        service = build_service(
            providers,
            store,
            policy,
            default_provider=providers_config.default_name(),
            reminders=reminders,
            clock=clock,
            callbacks=callbacks,
            recordings=recordings,
            attendance=attendance,
        )
        directory = ConsoleDirectory()
        router = CommandRouter(service, directory=directory, telemetry=metrics)
        simulated = clock if isinstance(clock, SimulatedClock) else None
        chat = ConsoleChat(
            router.dispatch,
            router.click,
            out,
            directory=directory,
            clock=clock,
            exports=exports or exports_folder(storage_url),
        )
        loop = JobLoop(
            JobHandlers(service),
            {Platform.CONSOLE: chat},
            clock,
            interval=reminders.check_seconds,
            watch=MeetingWatch(service, policy),
            telemetry=metrics,
        )
        service.nudge = loop.nudge
        chat.browser = open_in_browser
        if inbound is not None:
            inbound.callbacks = ProviderCallbacks(service)
            inbound.announcers = {Platform.CONSOLE: chat}
        if simulated is not None:
            chat.waiter = TimeMachine(simulated, loop, store, chat)
            chat.after_command = loop.run_due  # what came due at once (a reminder in its lead)
            await chat.run(stdin_lines(source))
            if before_close is not None:
                await before_close()
            return
        stop = asyncio.Event()
        posting = asyncio.create_task(loop.run(stop))
        try:
            await chat.run(stdin_lines(source))
            # What the last lines made due (the first look for a recording after an end) is
            # shown before the chat closes, not lost with a piped input's end.
            await loop.run_due()
            if before_close is not None:
                await before_close()
        finally:
            stop.set()
            await posting
    finally:
        if inbound is not None:
            await inbound.close()
        await store.close()
        for provider in providers.values():
            await provider.aclose()


class TimeMachine:
    """`/wait`: moves the simulated clock on, running every job that falls due in the span in
    due order, each at its own moment, so the chat shows what would have happened when."""

    def __init__(
        self, clock: SimulatedClock, loop: JobLoop, store: MeetingStore, chat: ConsoleChat
    ) -> None:
        self.clock = clock
        self.loop = loop
        self.store = store
        self.chat = chat

    async def wait(self, span: timedelta) -> None:
        target = self.clock.now + span
        # Attendance samples are not stepped through one by one (a day is 2880 of them): the
        # one due runs at each stop on the way and at the end, which is all a chat would show.
        while (due := await self.store.next_due(besides=SAMPLES)) is not None and due <= target:
            self.clock.now = max(self.clock.now, due)
            if not await self.loop.run_due():
                # Due, yet nothing could run (every job there failed and waits its backoff):
                # step past it rather than spin.
                self.clock.now += timedelta(seconds=1)
        self.clock.now = target
        await self.loop.tick()


async def open_in_browser(url: str) -> int:
    """What a person's browser does with their link: follow it to the meeting's page (the
    provider then counts them in). Returns the last status; a provider's error page (which
    BigBlueButton redirects to, with `errors=` in its query) counts as 400."""
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as browser,
            # As sent: a signed link's query must reach the server byte for byte.
            browser.get(yarl.URL(url, encoded=True), allow_redirects=True) as page,
        ):
            return 400 if "errors" in page.url.query else page.status
    except (aiohttp.ClientError, TimeoutError):
        return 599


def exports_folder(storage_url: str) -> Path:
    """Where the console writes files that come with a reply (an attendance CSV): the
    folder `meetbot-exports` beside a SQLite store, else in the system's temporary folder."""
    prefix = "sqlite:///"
    if storage_url.startswith(prefix) and storage_url != prefix + ":memory:":
        return Path(storage_url.removeprefix(prefix)).resolve().parent / "meetbot-exports"
    return Path(tempfile.gettempdir()) / "meetbot-exports"


def _reachable(host: str) -> str:
    """The address a local provider reaches a server listening on `host` at."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 - a comparison


async def console(
    config: Config,
    *,
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    now: datetime | None = None,
) -> int:
    await run_console(
        config.providers,
        config.storage.url,
        RolePolicy(config.roles, config.tenants),
        reminders=config.reminders,
        source=source,
        out=out,
        now=now,
        server=config.server,
        recordings=recording_rules(config.recordings, config.tenants),
        attendance=config.attendance,
    )
    return 0


async def demo(
    *, source: TextIO = sys.stdin, out: TextIO = sys.stdout, now: datetime | None = None
) -> int:
    """The console against in-process simulators, with a fresh database each time."""
    async with AsyncExitStack() as stack:
        sims = await stack.enter_async_context(SimulatedProviders())
        # A recording takes BigBlueButton a while to process; a second here, hours for real.
        sims.bigbluebutton.processing_seconds = 1.0
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meetbot-demo-")))
        print("meetbot demo: the three providers are simulated on this machine.", file=out)
        await run_console(
            sims.providers_config(),
            f"sqlite:///{folder / 'demo.db'}",
            RolePolicy(RolePolicyConfig()),
            reminders=RemindersConfig(),
            source=source,
            out=out,
            now=now,
            # The simulated BigBlueButton calls back as a real server does: a meeting ended
            # inside the room, a recording processed. The demo waits for those it started.
            server=ServerConfig(port=0, host="127.0.0.1"),
            before_close=sims.bigbluebutton.callbacks.settle,
            # The demo's store goes with it; what it exports stays for the newcomer to open.
            exports=Path(tempfile.gettempdir()) / "meetbot-demo-exports",
        )
    return 0
