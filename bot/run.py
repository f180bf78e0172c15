"""`meetbot run`: the configured chat adapters on one event loop, until SIGINT/SIGTERM.

Everything is built here from config (the one place that knows the concrete classes) and torn
down in reverse: adapters stop taking requests and finish acknowledged ones, then the store
and the provider clients close.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from adapters.slack import SlackAdapter
from bot.app import build_providers
from bot.config import Config, SlackConfig
from commands.policy import RolePolicy
from commands.router import CommandRouter
from commands.service import MeetingService
from commands.store import MeetingStore

log = logging.getLogger("meetbot")


def utc_now() -> datetime:
    return datetime.now(UTC)


async def start_slack(
    config: SlackConfig, router: CommandRouter, service: MeetingService, store: MeetingStore
) -> SlackAdapter:
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
    if config.mode == "http":
        port = await adapter.serve_http("0.0.0.0", config.port, config.path)  # noqa: S104 - behind the operator's proxy
        log.info("slack: HTTP mode on port %d at %s", port, config.path)
    else:
        await adapter.connect_socket_mode()
        log.info("slack: Socket Mode connected")
    return adapter


async def run(config: Config, stop: asyncio.Event) -> int:
    if config.slack is None:
        raise ValueError("nothing to run: configure `slack` (or try `meetbot console`)")
    async with AsyncExitStack() as stack:
        providers = build_providers(config.providers)
        for provider in providers.values():
            stack.push_async_callback(provider.aclose)
        store = await MeetingStore.open(config.storage.url)
        stack.push_async_callback(store.close)
        service = MeetingService(
            providers=providers,
            store=store,
            policy=RolePolicy(config.roles, config.tenants),
            default_provider=config.providers.default_name(),
            clock=utc_now,
        )
        router = CommandRouter(service)
        slack = await start_slack(config.slack, router, service, store)
        stack.push_async_callback(slack.close)
        log.info("meetbot is running; providers: %s", ", ".join(providers))
        await stop.wait()
        log.info("stopping")
    return 0
