"""`meetbot run`: the configured chat adapters on one event loop, until SIGINT/SIGTERM.

Everything is built here from config (the one place that knows the concrete classes) and torn
down in reverse: adapters stop taking requests and finish acknowledged ones, then the store
and the provider clients close. A platform's adapter (and its library: slack_bolt, discord.py)
is imported only when that platform is configured, so a Slack-only bot never loads discord.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.app import build_providers, build_service, recording_rules
from bot.config import Config, DiscordConfig, ServerConfig, SlackConfig
from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.scheduler import LOOKAHEAD, Announcer, JobLoop
from bot.server import InboundServer
from commands.lifecycle.callbacks import ProviderCallbacks
from commands.lifecycle.urls import CallbackUrls
from commands.model import Platform
from commands.policy import RolePolicy
from commands.router import CommandRouter
from commands.schedule.jobs import JobHandlers
from commands.service import MeetingService
from commands.store import MeetingStore
from commands.watch import MeetingWatch

if TYPE_CHECKING:
    from adapters.discord import DiscordAdapter
    from adapters.slack import SlackAdapter

log = logging.getLogger("meetbot")


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """Who holds a job this process claimed, as the store shows it: host and process id (to
    tell replicas apart) and a random part (two containers may both be process 1)."""
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(3)}"


async def _finish(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await task


async def start_slack(
    config: SlackConfig,
    router: CommandRouter,
    service: MeetingService,
    store: MeetingStore,
    inbound: InboundServer | None = None,
) -> SlackAdapter:
    from adapters.slack import SlackAdapter  # noqa: PLC0415 - only when Slack is configured

    adapter = SlackAdapter(
        router,
        store=store,
        cards=service,
        bot_token=config.bot_token.get_secret_value(),
        # Socket Mode skips signature checks (the socket is authenticated by the app token).
        signing_secret=config.signing_secret.get_secret_value() if config.signing_secret else "",
        app_token=config.app_token.get_secret_value() if config.app_token else None,
        api_url=config.api_url,
        command=config.command,
        clock=utc_now,
    )
    try:
        await adapter.verify()
        if config.mode == "http" and inbound is not None:
            inbound.slack = await adapter.shared_http()
            log.info("slack: HTTP mode on the inbound server's port at %s", config.path)
        elif config.mode == "http":
            port = await adapter.serve_http("0.0.0.0", config.port, config.path)  # noqa: S104 - behind the operator's proxy
            log.info("slack: HTTP mode on port %d at %s", port, config.path)
        else:
            await adapter.connect_socket_mode()
            log.info("slack: Socket Mode connected")
    except BaseException:
        await adapter.close()  # its HTTP session, and whatever had started
        raise
    return adapter


async def start_discord(
    config: DiscordConfig, router: CommandRouter, store: MeetingStore
) -> tuple[DiscordAdapter, asyncio.Task[None]]:
    from adapters.discord import DiscordAdapter, use_api_base  # noqa: PLC0415 - when configured

    if config.api_url:
        use_api_base(config.api_url)
    adapter = DiscordAdapter(
        router,
        store=store,
        clock=utc_now,
        guilds=tuple(config.guilds),
        sharded=config.shards,
        shard_ids=tuple(config.shard_ids) if config.shard_ids is not None else None,
        shard_count=config.shard_count,
    )
    adapter.client._application_id = config.application_id  # type: ignore[attr-defined]
    try:
        task = await adapter.start(config.token.get_secret_value())
    except ValueError:
        await adapter.close()
        raise
    return adapter, task


async def start_server(
    config: ServerConfig, slack_path: str | None = None, metrics: Metrics | None = None
) -> tuple[InboundServer | None, CallbackUrls | None]:
    """The inbound server, when `server.port` is set (serving Slack's endpoint at
    `slack_path` too, if given, and `metrics` at /metrics); callback URLs when providers can
    reach it (`server.public_url`)."""
    if config.port is None:
        return None, None
    inbound = InboundServer(slack_path=slack_path, metrics=metrics)
    port = await inbound.start(config.host, config.port)
    log.info("inbound server on port %d%s", port, "" if config.public_url else " (no public_url)")
    urls = CallbackUrls(config.public_url) if config.public_url else None
    return inbound, urls


async def run(config: Config, stop: asyncio.Event) -> int:
    if config.slack is None and config.discord is None:
        raise ValueError(
            "nothing to run: configure `slack` or `discord` (or try `meetbot console`)"
        )
    async with AsyncExitStack() as stack:
        metrics = Metrics()
        providers = build_providers(config.providers, metrics)
        for provider in providers.values():
            stack.push_async_callback(provider.aclose)
        store = await MeetingStore.open(config.storage.url)
        stack.push_async_callback(store.close)
        # Slack in HTTP mode is served on the inbound server's port when there is one.
        http = config.slack is not None and config.slack.mode == "http"
        shared = config.slack.path if config.slack is not None and http else None
        inbound, callbacks = await start_server(config.server, shared, metrics)
        # Each configured platform is "not started" on /readyz until its adapter is up.
        platforms = [name for name in ("slack", "discord") if getattr(config, name) is not None]
        readiness = Readiness(store, expected=platforms)
        if inbound is not None:
            stack.push_async_callback(inbound.close)
            inbound.readiness = readiness
        service = build_service(
            providers,
            store,
            RolePolicy(config.roles, config.tenants),
            default_provider=config.providers.default_name(),
            reminders=config.reminders,
            clock=utc_now,
            callbacks=callbacks,
            recordings=recording_rules(config.recordings, config.tenants),
            attendance=config.attendance,
        )
        router = CommandRouter(service, telemetry=metrics)
        announcers: dict[Platform, Announcer] = {}
        if config.slack is not None:
            slack = await start_slack(config.slack, router, service, store, inbound)
            stack.push_async_callback(slack.close)
            announcers[Platform.SLACK] = slack
            readiness.attach("slack", slack.not_ready)
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
        if config.discord is not None:
            discord_adapter, gateway = await start_discord(config.discord, router, store)
            stack.push_async_callback(discord_adapter.close)
            announcers[Platform.DISCORD] = discord_adapter
            readiness.attach("discord", discord_adapter.not_ready)
            waiters.append(gateway)  # type: ignore[arg-type]
            if config.discord_events_anywhere():
                from adapters.discord import EventMirror  # noqa: PLC0415 - as start_discord

                mirror = EventMirror(
                    discord_adapter.client,
                    store,
                    utc_now,
                    enabled=lambda tenant: config.discord_events(tenant.key),
                )
                service.observers.add(mirror)
        scheduler = JobLoop(
            JobHandlers(service),
            announcers,
            utc_now,
            interval=config.reminders.check_seconds,
            watch=MeetingWatch(service, service.policy),
            lookahead=LOOKAHEAD,  # the real clock: reminders are prepared before their time
            telemetry=metrics,
            worker=worker_name(),
            lease=timedelta(seconds=config.scheduler.lease_seconds),
        )
        service.nudge = scheduler.nudge
        if inbound is not None:
            inbound.callbacks = ProviderCallbacks(service)
            inbound.announcers = announcers
        loop_task = asyncio.create_task(scheduler.run(stop))
        stack.push_async_callback(_finish, loop_task, stop)
        log.info("meetbot is running; providers: %s", ", ".join(providers))
        done, _pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            if finished is not waiters[0] and finished.exception() is not None:
                log.error("discord stopped: %s", finished.exception())
                return 1
        log.info("stopping")
    return 0
