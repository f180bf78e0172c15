"""`meetbot check` and `meetbot healthcheck`: what `meetbot run` would refuse, found first.

`check` asks every configured part once, all at the same time, and says a line for each: the
store opens (as `run` opens it: a missing folder or a store of a newer layout is refused), each
provider answers with working credentials, Slack accepts the bot token (`auth.test`) and, in
Socket Mode, the app token, and Discord lets the bot log in with `discord.application_id` as
its application. Each part has `PART_SECONDS` to answer.

`healthcheck` is the container's probe: with `server.port` it asks the running bot's own
`/healthz` on loopback; without a server (Socket Mode, Discord alone) there is no port to ask,
so it checks that the store opens, which is what a running bot depends on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

import aiohttp

from adapters.discord import use_api_base
from adapters.discord.preflight import DiscordSetupError, check_login
from adapters.slack.preflight import SlackSetupError, check_tokens
from bot.app import build_providers
from bot.config import Config, DiscordConfig, ServerConfig, SlackConfig
from commands.store import MeetingStore, StoreError
from providers.base import MeetingProvider, ProviderError

PART_SECONDS = 30.0  # a provider's own calls are bounded by its `timeout` (3 tries)
PROBE_SECONDS = 5.0


@dataclass(frozen=True)
class Finding:
    """One part's answer, as one line of `meetbot check`."""

    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{self.name:<14} {'ok' if self.ok else 'FAILED':<7} {self.detail}".rstrip()


async def check_store(url: str) -> Finding:
    try:
        store = await MeetingStore.open(url)
    except StoreError as error:
        return Finding("store", ok=False, detail=str(error))
    await store.close()
    return Finding("store", ok=True, detail="opens")


async def check_provider(name: str, provider: MeetingProvider) -> Finding:
    try:
        health = await provider.health()
    except ProviderError as error:
        return Finding(name, ok=False, detail=f"{type(error).__name__}: {error.message}")
    version = f"version {health.version}" if health.version else ""
    detail = "; ".join(part for part in (version, health.detail or "") if part)
    return Finding(name, ok=health.ok, detail=detail)


async def check_slack(config: SlackConfig) -> Finding:
    app_token = config.app_token if config.mode == "socket" else None
    try:
        who = await check_tokens(
            config.bot_token.get_secret_value(),
            app_token.get_secret_value() if app_token is not None else None,
            config.api_url,
        )
    except SlackSetupError as error:
        return Finding("slack", ok=False, detail=str(error))
    return Finding("slack", ok=True, detail=f"{who}; {config.mode} mode")


async def check_discord(config: DiscordConfig) -> Finding:
    if config.api_url:
        use_api_base(config.api_url)
    try:
        who = await check_login(config.token.get_secret_value(), config.application_id)
    except DiscordSetupError as error:
        return Finding("discord", ok=False, detail=str(error))
    return Finding("discord", ok=True, detail=who)


async def _bounded(name: str, check: Awaitable[Finding]) -> Finding:
    try:
        async with asyncio.timeout(PART_SECONDS):
            return await check
    except TimeoutError:
        return Finding(name, ok=False, detail=f"no answer within {PART_SECONDS:g} s")


async def check_all(config: Config) -> list[Finding]:
    """Every part's finding, in a fixed order: store, providers, Slack, Discord."""
    providers = build_providers(config.providers)
    checks = [_bounded("store", check_store(config.storage.url))]
    checks += [_bounded(name, check_provider(name, p)) for name, p in providers.items()]
    if config.slack is not None:
        checks.append(_bounded("slack", check_slack(config.slack)))
    if config.discord is not None:
        checks.append(_bounded("discord", check_discord(config.discord)))
    try:
        return list(await asyncio.gather(*checks))
    finally:
        for provider in providers.values():
            await provider.aclose()


async def probe(config: Config) -> Finding:
    """The running bot's /healthz when it serves one, else whether the store opens."""
    if config.server.port is None:
        return await _bounded("store", check_store(config.storage.url))
    url = f"http://{_loopback(config.server)}:{config.server.port}/healthz"
    try:
        timeout = aiohttp.ClientTimeout(total=PROBE_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as answer:
            ok = answer.status == 200
            return Finding("healthz", ok=ok, detail=f"{url}: HTTP {answer.status}")
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        return Finding("healthz", ok=False, detail=f"{url}: {type(error).__name__}")


def _loopback(server: ServerConfig) -> str:
    # The probe runs beside the bot (in its container): a wildcard address is reached on
    # loopback; a specific one is asked as it is.
    if server.host in ("", "0.0.0.0", "::"):  # noqa: S104 - compared, not bound
        return "127.0.0.1"
    return f"[{server.host}]" if ":" in server.host else server.host
