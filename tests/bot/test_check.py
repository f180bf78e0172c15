"""`meetbot check` finds what `meetbot run` would refuse; `meetbot healthcheck` probes a bot.

Real parts: the provider simulators, a SQLite file, the Slack and Discord fakes on loopback,
the inbound server's own /healthz.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import discord
import pytest

from bot import cli
from bot.server import InboundServer
from bot.simulated import DEMO_BBB_SECRET, SimulatedProviders
from tests.adapters.fake_discord import APP_ID, FakeDiscord
from tests.adapters.fake_slack import FakeSlack


def head(sims: SimulatedProviders, store: Path) -> str:
    bbb = sims.providers_config().bigbluebutton
    assert bbb is not None
    return (
        "providers:\n"
        f"  bigbluebutton: {{url: '{bbb.url}', secret: '{DEMO_BBB_SECRET}'}}\n"
        f"storage: {{url: 'sqlite:///{store}'}}\n"
    )


def chat(slack: FakeSlack, fake_discord: FakeDiscord, application_id: str = APP_ID) -> str:
    return (
        f"slack: {{mode: socket, bot_token: xoxb-check, app_token: xapp-check, "
        f"api_url: '{slack.url}/api/'}}\n"
        f"discord: {{token: discord-check-token, application_id: {application_id}, "
        f"api_url: '{fake_discord.url}'}}\n"
    )


@pytest.fixture
async def fakes(monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)  # restored after
    slack, fake_discord = FakeSlack(), FakeDiscord()
    await slack.start()
    await fake_discord.start()
    yield slack, fake_discord
    await slack.stop()
    await fake_discord.stop()


async def check(config: Path) -> int:
    return await cli.check(argparse.Namespace(config=str(config), secrets_dir=None))


async def test_check_asks_every_part_and_passes_when_all_accept(tmp_path, capsys, fakes):
    slack, fake_discord = fakes
    async with SimulatedProviders() as sims:
        config = tmp_path / "c.yaml"
        config.write_text(head(sims, tmp_path / "m.db") + chat(slack, fake_discord))
        assert await check(config) == 0
    out = capsys.readouterr().out
    assert re.search(r"^store\s+ok\s+opens$", out, re.MULTILINE)
    assert re.search(r"^bigbluebutton\s+ok\s+version 3.0-sim", out, re.MULTILINE)
    assert re.search(r"^slack\s+ok\s+bot @meetbot in team T1; socket mode$", out, re.MULTILINE)
    assert re.search(rf"^discord\s+ok\s+bot meetbot of application {APP_ID}$", out, re.MULTILINE)
    assert [call.method for call in slack.calls] == ["auth.test", "apps.connections.open"]
    assert fake_discord.find("GET", "/users/@me")
    assert not fake_discord.find("GATEWAY", "IDENTIFY")  # a login, not a connection


async def test_check_fails_on_everything_run_would_refuse_and_tells_each(tmp_path, capsys, fakes):
    # `meetbot check` used to ask the providers only: this config passed it, and `meetbot run`
    # then stopped on the store's missing folder (and would have on either token).
    slack, fake_discord = fakes
    slack.errors["auth.test"] = "invalid_auth"
    fake_discord.refuse_login = True
    async with SimulatedProviders() as sims:
        config = tmp_path / "c.yaml"
        config.write_text(head(sims, tmp_path / "missing" / "m.db") + chat(slack, fake_discord))
        assert await check(config) == 1
        assert await cli.run(argparse.Namespace(config=str(config))) == 2  # as run refuses it
    out = capsys.readouterr().out
    assert re.search(r"^store\s+FAILED\s+cannot open the store .* does not exist", out, re.M)
    assert re.search(r"^bigbluebutton\s+ok", out, re.MULTILINE)
    assert re.search(r"^slack\s+FAILED\s+Slack refused the bot token \(invalid_auth\)", out, re.M)
    assert re.search(r"^discord\s+FAILED\s+Discord refused the bot token", out, re.MULTILINE)
    for secret in ("xoxb-check", "xapp-check", "discord-check-token"):
        assert secret not in out


async def test_check_refuses_a_wrong_app_token_and_a_foreign_application(tmp_path, capsys, fakes):
    slack, fake_discord = fakes
    slack.errors["apps.connections.open"] = "invalid_auth"
    async with SimulatedProviders() as sims:
        config = tmp_path / "c.yaml"
        config.write_text(head(sims, tmp_path / "m.db") + chat(slack, fake_discord, "1234"))
        assert await check(config) == 1
    out = capsys.readouterr().out
    assert re.search(r"^slack\s+FAILED\s+Slack refused the app token \(invalid_auth\)", out, re.M)
    assert re.search(
        rf"^discord\s+FAILED\s+discord.application_id is 1234, but the token is the bot of "
        rf"application {APP_ID}$",
        out,
        re.MULTILINE,
    )


async def test_check_tells_unreachable_chat_apis(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers:\n  vconnct: {url: 'http://127.0.0.1:9', license: x, timeout: 1}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'm.db'}'}}\n"
        "slack: {mode: socket, bot_token: x, app_token: y, api_url: 'http://127.0.0.1:9/api/'}\n"
    )
    assert await check(config) == 1
    out = capsys.readouterr().out
    assert re.search(r"^slack\s+FAILED\s+cannot reach the Slack API", out, re.MULTILINE)
    assert re.search(r"^vconnct\s+FAILED\s+ProviderUnavailable", out, re.MULTILINE)
    assert "Traceback" not in out


def test_check_tells_every_unset_variable_at_once(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers:\n"
        "  bigbluebutton: {url: 'https://b.example.org/bigbluebutton/api', secret: '${BBB_S}'}\n"
        "  vconnct: {url: 'https://v.example.org', license: '${VC_L}'}\n"
        "slack: {mode: socket, bot_token: '${SLACK_B}', app_token: '${SLACK_A}'}\n"
    )
    assert cli.main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    for line in (
        "providers.bigbluebutton.secret: environment variable BBB_S is not set",
        "providers.vconnct.license: environment variable VC_L is not set",
        "slack.bot_token: environment variable SLACK_B is not set",
        "slack.app_token: environment variable SLACK_A is not set",
    ):
        assert line in err


def test_check_runs_on_the_environment_alone(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MEETBOT_PROVIDERS__VCONNCT__URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MEETBOT_PROVIDERS__VCONNCT__LICENSE", "license-from-env")
    monkeypatch.setenv("MEETBOT_PROVIDERS__VCONNCT__TIMEOUT", "1")
    monkeypatch.setenv("MEETBOT_STORAGE__URL", f"sqlite:///{tmp_path / 'm.db'}")
    monkeypatch.setenv("MEETBOT_SLAK__BOT_TOKEN", "typo")
    monkeypatch.delenv("MEETBOT_CONFIG", raising=False)
    assert cli.main(["check", "--secrets-dir", str(tmp_path)]) == 1  # vconnct is not there
    captured = capsys.readouterr()
    assert re.search(r"^store\s+ok", captured.out, re.MULTILINE)
    assert re.search(r"^vconnct\s+FAILED\s+ProviderUnavailable", captured.out, re.MULTILINE)
    assert "neither slack nor discord is configured" in captured.out
    assert "MEETBOT_SLAK__BOT_TOKEN names no config key; ignored" in captured.err
    assert "license-from-env" not in captured.out + captured.err


def test_without_a_file_or_variables_the_error_says_how_to_configure(capsys, monkeypatch):
    monkeypatch.delenv("MEETBOT_CONFIG", raising=False)
    monkeypatch.setenv("MEETBOT_SECRETS_DIR", "/nonexistent-secrets")
    assert cli.main(["check"]) == 2
    assert "the secrets directory /nonexistent-secrets does not exist" in capsys.readouterr().err
    monkeypatch.delenv("MEETBOT_SECRETS_DIR")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "meetbot run: no configuration: give --config FILE, or say everything in" in err


async def test_healthcheck_asks_the_running_servers_healthz(tmp_path, capsys):
    server = InboundServer()
    port = await server.start("127.0.0.1", 0)
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers:\n  vconnct: {url: 'http://127.0.0.1:9', license: x}\n"
        f"server: {{port: {port}}}\n"
    )
    args = argparse.Namespace(config=str(config), secrets_dir=None)
    try:
        assert await cli.healthcheck(args) == 0
        assert re.search(
            rf"healthz\s+ok\s+http://127.0.0.1:{port}/healthz: HTTP 200",
            str(capsys.readouterr().out),
        )
    finally:
        await server.close()
    assert await cli.healthcheck(args) == 1  # nobody listens any more
    assert "FAILED" in capsys.readouterr().out


async def test_healthcheck_without_a_server_checks_the_store(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    store = "providers:\n  vconnct: {url: 'http://127.0.0.1:9', license: x}\nstorage: {url: '%s'}\n"
    config.write_text(store % f"sqlite:///{tmp_path / 'm.db'}")
    args = argparse.Namespace(config=str(config), secrets_dir=None)
    assert await cli.healthcheck(args) == 0
    config.write_text(store % f"sqlite:///{tmp_path / 'gone' / 'm.db'}")
    assert await cli.healthcheck(args) == 1
    assert re.search(r"store\s+FAILED\s+cannot open the store", capsys.readouterr().out)


def test_healthcheck_says_unhealthy_for_an_unusable_config(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("providers: {}\n")
    # Docker reads 1 as unhealthy and reserves 2; a config error is unhealthy too.
    assert cli.main(["healthcheck", "--config", str(config)]) == 1
    assert "at least one provider" in capsys.readouterr().err
