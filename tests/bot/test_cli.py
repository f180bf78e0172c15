"""The `meetbot` command line as an operator uses it: simulate, check, demo through a pipe."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import re
import signal
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import httpx
import pytest

from bot import cli
from bot.logs import configure_logging
from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_ACCOUNT_SID,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
    SimulatedProviders,
)

DEMO_SCRIPT = """\
# a comment line is ignored
/meet create "Algebra 101" --provider {provider} --record
/as bob
/meet join Algebra 101
/meet end Algebra 101
/as alice
/meet end Algebra 101
"""


async def run_meetbot(
    *args: str, stdin: str = "", seconds: float = 60, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=None if env is None else os.environ | env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), seconds)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_demo_through_a_pipe_shows_the_whole_lifecycle(provider):
    code, out, err = await run_meetbot("demo", stdin=DEMO_SCRIPT.format(provider=provider))
    assert code == 0, err
    assert "#general > alice started Algebra 101" in out
    assert re.search(r"DM to alice > Your personal link to Algebra 101: http", out)
    assert "You join as moderator (creator of the meeting)" in out
    assert re.search(r"DM to bob > Your personal link to Algebra 101: http", out)
    assert "You join as attendee" in out
    assert "only bob sees > Only moderators can end Algebra 101" in out
    assert "#general > alice ended Algebra 101; 2 links handed out." in out
    assert "Traceback" not in out + err
    # A link is never shown to the channel.
    for line in out.splitlines():
        if "#general >" in line:
            assert "http" not in line


async def test_debug_log_of_a_whole_demo_carries_no_secret():
    script = DEMO_SCRIPT.format(provider="bigbluebutton")
    code, out, err = await run_meetbot("--log-level", "DEBUG", "demo", stdin=script)
    assert code == 0, err
    assert "meetbot.providers" in err  # the log is on; our own request lines are in it
    for secret in ("checksum=", "password=", DEMO_BBB_SECRET, DEMO_VCONNCT_LICENSE):
        assert secret not in err
    links = re.findall(r"https?://\S+", out)
    assert links
    for link in links:  # each personal link is shown to its owner only, never logged
        assert link not in err


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--log-level", "DEBUG", "demo"], {}, ("DEBUG", "text")),
        (["demo", "--log-level", "info", "--log-format", "json"], {}, ("INFO", "json")),
        (["--log-format", "json", "check", "--config", "c.yaml"], {}, ("WARNING", "json")),
        (["demo"], {"MEETBOT_LOG_LEVEL": "debug"}, ("DEBUG", "text")),
        (["demo", "--log-level", "ERROR"], {"MEETBOT_LOG_LEVEL": "DEBUG"}, ("ERROR", "text")),
        (["demo"], {"MEETBOT_LOG_FORMAT": "json"}, ("WARNING", "json")),
        (["demo"], {}, ("WARNING", "text")),
    ],
)
def test_log_options_stand_before_or_after_the_subcommand_or_in_the_environment(
    argv, env, expected, monkeypatch
):
    for name in ("MEETBOT_LOG_LEVEL", "MEETBOT_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parser = cli.build_parser()
    assert cli.log_options(parser.parse_args(argv), parser) == expected


async def test_a_wrong_log_level_in_the_environment_is_refused_at_once():
    code, out, err = await run_meetbot("demo", env={"MEETBOT_LOG_LEVEL": "LOUD"})
    assert code == 2
    assert "MEETBOT_LOG_LEVEL='LOUD' is not one of DEBUG, INFO, WARNING, ERROR" in err
    assert out == ""


async def test_the_environments_log_level_turns_the_debug_log_on():
    script = "/meet create Demo\n"
    code, _out, err = await run_meetbot("demo", stdin=script, env={"MEETBOT_LOG_LEVEL": "DEBUG"})
    assert code == 0, err
    assert " DEBUG " in err
    assert "meetbot.providers [" in err  # with the console line's request id


def test_chat_library_debug_logs_stay_off_at_debug_level():
    # Their DEBUG lines carry request bodies (a DM body may be a moderator link).
    names = ("httpx", "httpcore", "slack_sdk", "slack_bolt", "discord")
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        configure_logging("DEBUG")
        for name in ("slack_sdk.web.async_base_client", "slack_bolt.App", "discord.http"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def test_simulate_serves_the_seed_documents_to_a_curl_user():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "simulate",
        "--bbb-port",
        "0",
        "--vconnct-port",
        "0",
        "--liveminutes-port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    banner = ""
    while "Running" not in banner:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "simulate ended before it was ready"
        banner += line.decode()
    try:
        bbb = re.search(r"BigBlueButton\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        vconnct = re.search(r"VConnct\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
        lm = re.search(r"LiveMinutes\s+(\S+)", banner).group(1).rstrip("/")  # type: ignore[union-attr]
        async with httpx.AsyncClient() as curl:
            digest = hashlib.sha1(f"getMeetings{DEMO_BBB_SECRET}".encode()).hexdigest()
            answer = await curl.get(f"{bbb}/getMeetings?checksum={digest}")
            assert "<returncode>SUCCESS</returncode>" in answer.text
            answer = await curl.get(
                f"{vconnct}list_general_meeting_setting/", headers={"license": DEMO_VCONNCT_LICENSE}
            )
            assert answer.json()["status"] is True
            answer = await curl.post(
                f"{lm}/createMeeting",
                data={"meetingKey": "k", "hostid": "h"},
                auth=(DEMO_LM_ACCOUNT_SID, DEMO_LM_AUTH_TOKEN),
            )
            assert answer.json()["resultcode"] == 1
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "Stopped." in rest.decode()


async def test_check_reports_each_provider(tmp_path, capsys):
    async with SimulatedProviders() as sims:
        config = sims.providers_config()
        assert config.bigbluebutton is not None
        assert config.vconnct is not None
        assert config.liveminutes is not None
        good = tmp_path / "good.yaml"
        good.write_text(
            "providers:\n"
            f"  bigbluebutton: {{url: '{config.bigbluebutton.url}', secret: '{DEMO_BBB_SECRET}'}}\n"
            f"  vconnct: {{url: '{config.vconnct.url}', license: '{DEMO_VCONNCT_LICENSE}'}}\n"
            f"  liveminutes: {{url: '{config.liveminutes.url}', account_sid: "
            f"'{DEMO_LM_ACCOUNT_SID}', auth_token: '{DEMO_LM_AUTH_TOKEN}'}}\n"
        )
        assert await cli.check(argparse.Namespace(config=str(good))) == 0
        out = capsys.readouterr().out
        assert re.search(r"bigbluebutton\s+ok\s+version 3.0-sim", out)
        assert re.search(r"vconnct\s+ok", out)
        assert re.search(r"liveminutes\s+ok", out)

        bad = tmp_path / "bad.yaml"
        bad.write_text(good.read_text().replace(DEMO_BBB_SECRET, "wrong-secret-value"))
        assert await cli.check(argparse.Namespace(config=str(bad))) == 1
        out = capsys.readouterr().out
        assert re.search(r"bigbluebutton\s+FAILED", out)
        assert "wrong-secret-value" not in out

    broken = tmp_path / "broken.yaml"
    broken.write_text("providers:\n  bigbluebutton: {url: 'ftp://x'}\n")
    assert await cli.check(argparse.Namespace(config=str(broken))) == 2
    err = capsys.readouterr().err
    assert "providers.bigbluebutton.url" in err
    assert "providers.bigbluebutton.secret" in err


async def test_check_against_a_provider_that_is_down(tmp_path, capsys):
    config = tmp_path / "down.yaml"
    config.write_text(
        "providers:\n  vconnct: {url: 'http://127.0.0.1:9', license: 'x', timeout: 1}\n"
    )
    assert await cli.check(argparse.Namespace(config=str(config))) == 1
    assert "ProviderUnavailable: could not reach the server" in capsys.readouterr().out


def test_unknown_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["nonsense"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["console", "run"])
def test_a_store_that_cannot_open_is_one_clear_line(tmp_path, capsys, command):
    config = tmp_path / "c.yaml"
    config.write_text(
        "providers:\n"
        "  bigbluebutton: {url: 'http://127.0.0.1:9/bigbluebutton/api', secret: s3cret-s3cret}\n"
        f"storage: {{url: 'sqlite:///{tmp_path / 'missing' / 'meetbot.db'}'}}\n"
        "slack: {mode: socket, bot_token: xoxb-1, app_token: xapp-1, api_url: 'http://127.0.0.1:9/'}\n"
    )
    assert cli.main([command, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"meetbot {command}: cannot open the store" in err
    assert "does not exist" in err
    assert "Traceback" not in err


async def test_the_readmes_demo_lines_run_as_written():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("## Try it in a terminal", 1)[1].split("```text\n", 1)[1]
    script = block.split("```", 1)[0]
    code, out, err = await run_meetbot("demo", stdin=script)
    assert code == 0, err
    assert "only bob sees > Only moderators can end Algebra 101" in out
    assert "alice ended Algebra 101" in out
    assert "There is no" not in out
    # VConnct calls nobody back: its recording is asked for once the session ended (no
    # account, no public URL), and posted under the card, once.
    assert out.count("replies under the card of Algebra 101") == 1
    assert out.count("#general > The recording of Algebra 101 is ready.") == 1


async def test_a_reader_that_stops_early_gets_no_traceback():
    process = await asyncio.create_subprocess_shell(
        f"printf '/meet help\\n/meet help\\n' | {sys.executable} -m bot demo | head -3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert len(out.decode().splitlines()) == 3
    assert "Traceback" not in err.decode()
    assert "BrokenPipeError" not in err.decode()


async def test_the_demo_on_a_simulated_clock_shows_a_series_across_the_change_to_summer_time():
    script = (
        "/as alice\n/tz Europe/Berlin\n"
        '/meet create Weekly --start "monday 09:00" --duration 30m --repeat weekly --remind 15\n'
        "/wait 13d\n"
    )
    code, out, err = await run_meetbot("demo", "--now", "2027-03-17T08:00Z", stdin=script)
    assert code == 0, err
    stamps = re.findall(r"^\[(\w{3} \d\d \w{3} \d{4} \d\d:\d\d \w+)\] meetbot posts", out, re.M)
    posts = re.findall(r"meetbot posts about Weekly\n  #general > (\w+)", out)
    assert list(zip(stamps, posts, strict=True)) == [
        ("Mon 22 Mar 2027 08:45 CET", "Reminder"),
        ("Mon 22 Mar 2027 09:00 CET", "Weekly"),
        ("Mon 29 Mar 2027 08:45 CEST", "Reminder"),
        ("Mon 29 Mar 2027 09:00 CEST", "Weekly"),
    ]
    assert out.count("is open now") == 2
    assert out.rstrip().endswith("clock: Tue 30 Mar 2027 10:00 CEST")


async def test_wait_without_a_simulated_clock_says_how_to_get_one():
    code, out, _err = await run_meetbot("demo", stdin="/wait 5m\n")
    assert code == 0
    assert "/wait needs a simulated clock: start with --now" in out


def test_now_must_be_an_iso_moment(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--now", "next tuesday"])
    assert "is not an ISO date and time" in capsys.readouterr().err


@pytest.mark.parametrize("events", [False, True])
async def test_discord_invite_asks_for_events_only_when_a_server_mirrors_them(
    tmp_path, capsys, events
):
    config = tmp_path / "discord.yaml"
    config.write_text(
        "providers:\n"
        "  bigbluebutton: {url: 'https://b.example/bigbluebutton/api', secret: s}\n"
        "discord: {token: t, application_id: 42}\n"
        + (f'tenants:\n  "discord:7": {{discord_events: {str(events).lower()}}}\n')
    )
    args = argparse.Namespace(config=str(config), application_id=None)
    assert await cli.discord_invite(args) == 0
    url = capsys.readouterr().out.strip()
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == ["42"]
    permissions = discord.Permissions(int(query["permissions"][0]))
    assert permissions.manage_events is events
    assert permissions.create_events is events


async def test_the_demo_shows_a_recording_once_bigbluebutton_has_processed_it():
    script = (
        "/open\n"
        "/meet create Lecture --record\n/as bob\n/meet join Lecture\n/open\n"
        "/as alice\n/meet end Lecture\n"
    )
    code, out, err = await run_meetbot("demo", stdin=script)
    assert code == 0, err
    assert "You have no personal link yet" in out
    assert "(bob opened their link: you are in the meeting)" in out
    assert out.count("#general > The recording of Lecture is ready.") == 1
    assert "[Watch: http://127.0.0.1:" in out
    assert out.index("alice ended Lecture") < out.index("The recording of Lecture is ready")


async def test_a_newcomer_sees_the_ended_card_with_how_long_it_ran_and_who_came():
    script = (
        "/meet create Demo\n/open\n/as bob\n/meet join Demo\n/open\n/as carol\n/meet join Demo\n"
        "/as alice\n/meet end Demo\n"
    )
    code, out, err = await run_meetbot("demo", stdin=script)
    assert code == 0, err
    assert "#general > alice ended Demo; 3 links handed out. Attended: alice, bob (2)." in out
    assert "│ Lasted: under 1 min" in out
    assert "│ Attendees: alice, bob (2)" in out
    assert "│ Links handed out: 3" in out
    assert "│ Ended by: alice" in out


async def test_waiting_days_on_the_simulated_clock_does_not_step_through_every_sample():
    # A running meeting is sampled every 30 s: three days are 8640 samples, which /wait
    # does not replay one by one (it took minutes); the one due runs when the wait ends.
    script = "/meet create Demo\n/open\n/wait 3d\n/meet status Demo\n"
    code, out, err = await run_meetbot("demo", "--now", "2027-03-17T08:00Z", stdin=script)
    assert code == 0, err
    assert "clock: Sat 20 Mar 2027 08:00 UTC" in out
    assert "In it now: alice (1), as seen at 08:00:00" in out
