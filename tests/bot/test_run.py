"""`meetbot run` wiring: a config in, Slack (Socket Mode) answering /meet, a clean stop."""

from __future__ import annotations

import argparse
import asyncio
import socket
from pathlib import Path
from urllib.parse import urlencode

import discord
import httpx
import pytest
import yarl
from discord.gateway import DiscordWebSocket

from adapters.discord import DiscordAdapter
from bot import cli
from bot.config import ConfigError, parse_config
from bot.run import run
from bot.simulated import DEMO_BBB_SECRET, SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from tests.adapters.fake_discord import APP_ID, FakeDiscord, meet_command
from tests.adapters.fake_slack import FakeSlack
from tests.adapters.slack_rig import SECRET, signed_headers
from tests.commands.conftest import make_bench

GUILD, CHANNEL = "420000000000000042", "770000000000000077"


def providers_and_storage(sims: SimulatedProviders, folder: Path) -> str:
    """The config's head: the simulated BigBlueButton and a store in `folder`."""
    bbb = sims.providers_config().bigbluebutton
    assert bbb is not None
    return (
        "providers:\n"
        f"  bigbluebutton: {{url: '{bbb.url}', secret: '{DEMO_BBB_SECRET}'}}\n"
        f"storage: {{url: 'sqlite:///{folder / 'run.db'}'}}\n"
    )


def socket_mode(fake: FakeSlack) -> str:
    """A Slack section in Socket Mode against `fake`."""
    return (
        "slack:\n"
        "  mode: socket\n"
        "  bot_token: xoxb-run\n"
        "  app_token: xapp-run\n"
        f"  api_url: {fake.url}/api/\n"
    )


async def run_with(folder: Path, chat_section: str) -> int:
    """`meetbot run` on a config file of the simulated providers plus `chat_section`."""
    async with SimulatedProviders() as sims:
        config = folder / "c.yaml"
        config.write_text(providers_and_storage(sims, folder) + chat_section)
        return await cli.run(argparse.Namespace(config=str(config)))


async def test_run_serves_slack_until_stopped(tmp_path):
    fake = FakeSlack()
    await fake.start()
    async with SimulatedProviders() as sims:
        config = parse_config(providers_and_storage(sims, tmp_path) + socket_mode(fake), env={})
        stop = asyncio.Event()
        running = asyncio.create_task(run(config, stop))
        await fake.wait_until(lambda: bool(fake.of("apps.connections.open")))
        await fake.envelopes.put(
            {
                "envelope_id": "e1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/meet",
                    "text": "create Weekly",
                    "team_id": "T1",
                    "user_id": "U1",
                    "channel_id": "C1",
                    "response_url": f"{fake.url}/respond/U1",
                },
            }
        )
        await fake.wait_until(
            lambda: any(c.params.get("channel") == "DU1" for c in fake.of("chat.postMessage"))
        )
        stop.set()
        assert await asyncio.wait_for(running, 15) == 0
    await fake.stop()
    assert (tmp_path / "run.db").exists()


@pytest.mark.parametrize(
    ("sharding", "shard"),
    [
        ("  sharded: false\n", None),
        ("  sharded: true\n", [0, 1]),  # every shard here: as many as Discord says (one)
        ("  shard_ids: [1]\n  shard_count: 2\n", [1, 2]),  # this process's share of two
    ],
)
async def test_run_serves_discord_through_its_gateway_until_stopped(
    tmp_path, monkeypatch, sharding, shard
):
    # The whole Discord path as `meetbot run` starts it: login, command sync, the gateway
    # handshake, an interaction arriving over the gateway, the answers over REST.
    fake = FakeDiscord()
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    await fake.start()
    # discord.py connects to its built-in gateway address (only sharding asks REST for one).
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    async with SimulatedProviders() as sims:
        config = parse_config(
            providers_and_storage(sims, tmp_path) + "discord:\n"
            "  token: discord-run-token\n"
            f"  application_id: {APP_ID}\n"
            f"  guilds: [{GUILD}]\n"
            f"  api_url: {fake.url}\n"
            f"{sharding}",
            env={},
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run(config, stop))
        await fake.wait_until(lambda: bool(fake.find("GATEWAY", "IDENTIFY")))
        identify = fake.find("GATEWAY", "IDENTIFY")[0].body
        assert identify["token"] == "discord-run-token"
        assert identify.get("shard") == shard  # AutoShardedClient names its shard
        assert fake.find("PUT", f"/applications/{APP_ID}/guilds/{GUILD}/commands")
        await fake.dispatch(
            "INTERACTION_CREATE",
            meet_command(
                "610000000000000001",
                "create",
                {"title": "Weekly"},
                ("501", "alice"),
                GUILD,
                CHANNEL,
            ),
        )
        await fake.wait_until(lambda: bool(fake.messages_to(fake.dm_channel("501"))))
        assert fake.messages_to(CHANNEL)[0]["embeds"][0]["title"] == "Weekly"
        assert "role=MODERATOR" in fake.messages_to(fake.dm_channel("501"))[0]["content"]
        stop.set()
        assert await asyncio.wait_for(running, 15) == 0
    await fake.stop()


async def test_a_shard_count_alone_runs_that_many_shards_here(tmp_path):
    # Not over the gateway: discord.py launches shards one after the other, and one stopped
    # while a later one still connects leaves that one's heartbeat thread behind.
    config = parse_config(
        "providers: {vconnct: {url: 'http://127.0.0.1:9', license: x}}\n"
        f"discord: {{token: t, application_id: {APP_ID}, shard_count: 3}}\n",
        env={},
    )
    assert config.discord is not None
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        try:
            adapter = DiscordAdapter(
                bench.router,
                store=bench.store,
                clock=bench.clock,
                sharded=config.discord.shards,
                shard_count=config.discord.shard_count,
            )
            assert isinstance(adapter.client, discord.AutoShardedClient)
            assert (adapter.client.shard_count, adapter.client.shard_ids) == (3, None)
        finally:
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()


async def test_run_without_a_chat_platform_says_what_to_do(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("providers:\n  vconnct: {url: 'http://127.0.0.1:9', license: x}\n")
    assert await cli.run(argparse.Namespace(config=str(config))) == 2
    assert "configure `slack`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("method", "said"),
    [
        ("auth.test", "Slack refused the bot token (invalid_auth); check slack.bot_token"),
        ("apps.connections.open", "Slack refused the app token (invalid_auth)"),
    ],
)
async def test_a_refused_slack_token_is_one_clear_line(tmp_path, capsys, method, said):
    fake = FakeSlack(errors={method: "invalid_auth"})
    await fake.start()
    try:
        section = (
            "slack: {mode: socket, bot_token: xoxb-bad, app_token: xapp-bad, "
            f"api_url: '{fake.url}/api/'}}\n"
        )
        assert await run_with(tmp_path, section) == 2
    finally:
        await fake.stop()
    err = capsys.readouterr().err
    assert said in err
    assert "xoxb-bad" not in err
    assert "xapp-bad" not in err
    assert "Traceback" not in err


async def test_an_unreachable_slack_api_is_one_clear_line(tmp_path, capsys):
    section = (
        "slack: {mode: socket, bot_token: xoxb-1, app_token: xapp-1, "
        "api_url: 'http://127.0.0.1:9/api/'}\n"  # nothing listens on port 9
    )
    assert await run_with(tmp_path, section) == 2
    err = capsys.readouterr().err
    assert "meetbot run: cannot reach the Slack API" in err
    assert "Traceback" not in err


async def test_a_refused_discord_token_is_one_clear_line(tmp_path, capsys, monkeypatch):
    fake = FakeDiscord(refuse_login=True)
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    await fake.start()
    try:
        section = (
            f"discord: {{token: discord-bad-token, application_id: {APP_ID}, "
            f"api_url: '{fake.url}'}}\n"
        )
        assert await run_with(tmp_path, section) == 2
    finally:
        await fake.stop()
    err = capsys.readouterr().err
    assert "meetbot run: Discord refused the bot token; check discord.token" in err
    assert "discord-bad-token" not in err
    assert "Traceback" not in err


async def test_slack_manifest_modes(tmp_path, capsys):
    assert await cli.slack_manifest(argparse.Namespace(config=None, url=None)) == 0
    socket = capsys.readouterr().out
    assert "socket_mode_enabled: true" in socket
    assert "url:" not in socket
    http = tmp_path / "http.yaml"
    http.write_text(
        "providers:\n  vconnct: {url: 'http://x', license: y}\n"
        "slack: {mode: http, bot_token: b, signing_secret: s}\n"
    )
    assert await cli.slack_manifest(argparse.Namespace(config=str(http), url=None)) == 2
    assert "pass --url" in capsys.readouterr().err
    assert (
        await cli.slack_manifest(
            argparse.Namespace(config=str(http), url="https://bot.example.org/")
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "url: https://bot.example.org/slack/events" in out
    assert "socket_mode_enabled: false" in out
    assert "chat:write" in out


async def test_discord_invite(tmp_path, capsys):
    assert await cli.discord_invite(argparse.Namespace(config=None, application_id=None)) == 2
    assert "give --application-id" in capsys.readouterr().err
    assert await cli.discord_invite(argparse.Namespace(config=None, application_id=42)) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=42")
    assert "applications.commands" in url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_serves_healthz_on_the_configured_port(tmp_path):
    port = free_port()
    fake = FakeSlack()
    await fake.start()
    async with SimulatedProviders() as sims:
        config = parse_config(
            providers_and_storage(sims, tmp_path)
            + f"server: {{port: {port}, host: 127.0.0.1, public_url: 'http://127.0.0.1:{port}'}}\n"
            + socket_mode(fake),
            env={},
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run(config, stop))
        await fake.wait_until(lambda: bool(fake.of("apps.connections.open")))
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/healthz")
        stop.set()
        assert await asyncio.wait_for(running, 15) == 0
    await fake.stop()
    assert (answer.status_code, answer.text) == (200, "ok")


async def test_slack_http_mode_shares_the_inbound_servers_port(tmp_path):
    port = free_port()
    fake = FakeSlack()
    await fake.start()
    async with SimulatedProviders() as sims:
        config = parse_config(
            providers_and_storage(sims, tmp_path)
            + f"server: {{port: {port}, host: 127.0.0.1}}\n"
            + "slack:\n"
            + "  mode: http\n"
            + "  bot_token: xoxb-run\n"
            + f"  signing_secret: {SECRET}\n"
            + f"  api_url: {fake.url}/api/\n",
            env={},
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run(config, stop))
        body = urlencode(
            {
                "command": "/meet",
                "text": "help",
                "team_id": "T1",
                "channel_id": "C1",
                "user_id": "UALICE",
                "response_url": f"{fake.url}/respond/1",
            }
        )
        async with httpx.AsyncClient() as http:
            for _ in range(100):  # until it listens
                try:
                    health = await http.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            for _ in range(100):  # until Slack's endpoint is on (503 before)
                answer = await http.post(
                    f"http://127.0.0.1:{port}/slack/events",
                    content=body,
                    headers=signed_headers(body),
                )
                if answer.status_code != 503:
                    break
                await asyncio.sleep(0.05)
            forged = await http.post(
                f"http://127.0.0.1:{port}/slack/events",
                content=body,
                headers=signed_headers(body, secret="not-the-secret"),
            )
        await fake.wait_until(lambda: bool(fake.of("response_url")))
        stop.set()
        assert await asyncio.wait_for(running, 15) == 0
    await fake.stop()
    assert health.status_code == 200
    assert answer.status_code == 200, "acked on the shared port"
    assert forged.status_code == 401, "with the same checks as on its own port"
    assert "/meet runs video meetings" in str(fake.of("response_url")[0].params)


def test_a_slack_port_apart_from_the_servers_is_refused():
    with pytest.raises(ConfigError, match=r"served on server\.port; remove slack\.port"):
        parse_config(
            "providers: {bigbluebutton: {url: 'http://127.0.0.1:1/bigbluebutton/api', secret: s}}\n"
            "server: {port: 8080}\n"
            "slack: {mode: http, bot_token: b, signing_secret: s, port: 3000}\n",
            env={},
        )


async def test_an_unreachable_discord_api_is_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    section = (  # nothing listens on port 9
        f"discord: {{token: discord-token, application_id: {APP_ID}, "
        "api_url: 'http://127.0.0.1:9/api/v10'}\n"
    )
    assert await run_with(tmp_path, section) == 2
    err = capsys.readouterr().err
    assert "meetbot run: cannot reach the Discord API (ClientConnectorError)" in err
    assert "Traceback" not in err
