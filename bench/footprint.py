"""`meetbot run`'s footprint: time to ready and peak RSS, Slack-only and Discord-only.

Processes: the provider simulators (`bench/provider_sims.py`), the test suite's fake Slack or
fake Discord (`bench/fakes/chat.py`), and `meetbot run --config FILE` itself, started fresh
for each measurement, as an operator starts it.

- Slack-only: HTTP mode on its own port; ready = the first signed `/meet help` answered 200
  (polled every 5 ms from the spawn on).
- Discord-only: `sharded: true` (so discord.py asks the fake's REST API for its gateway);
  ready = the fake's gateway has the bot's IDENTIFY.
- Peak RSS: the bot's VmHWM (/proc) once it is ready and has settled for half a second.
- One more Slack-only run under `python -X importtime` tells whether discord was imported.
- `import bot.cli`: seconds, in a fresh interpreter (the median of the rounds).
- Before any of it, meetbot's modules are compiled to bytecode (`compile_bytecode`), as
  installing the wheel does: an editable install under PYTHONDONTWRITEBYTECODE (which some
  environments set) would otherwise compile them all from source at every start, some 0.2 s
  of CPU that an installed bot (the Dockerfile's too) never spends.

Target: a Slack-only `meetbot run` never imports discord and is ready in under 0.5 s.

    python bench/footprint.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from figures import emit, figure, load, machine
from slack_sdk.signature import SignatureVerifier

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SIGNING_SECRET = "bench-signing-secret"  # noqa: S105 - the fake's; not a real secret


class Child:
    """A process of this bench whose stdout lines are JSON; its stderr goes to a file (a
    pipe read only at the end could fill up and stall it)."""

    def __init__(self, *command: str) -> None:
        self.started = time.time()
        self.err = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(  # noqa: S603 - our own scripts
            list(command), stdout=subprocess.PIPE, stderr=self.err, text=True, cwd=HERE.parent
        )

    def line(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        text = self.popen.stdout.readline()
        if not text:
            raise RuntimeError(f"{self.popen.args!r} stopped")
        answer: dict[str, Any] = json.loads(text)
        return answer

    def stop(self) -> str:
        self.popen.terminate()
        try:
            self.popen.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.communicate()
        self.err.seek(0)
        err = self.err.read()
        self.err.close()
        return err


def compile_bytecode() -> None:
    """meetbot's four packages to `__pycache__`, as pip does when it installs the wheel (the
    interpreter checks each against its source, so an edited module is compiled anew)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "bot", "adapters", "commands", "providers"],
        check=True,
        cwd=HERE.parent,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: on a busy machine, nearer to what its start
    costs than the wall-clock time to ready."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def providers_yaml(sims: dict[str, Any], folder: Path) -> str:
    bbb = sims["urls"]["bigbluebutton"] + "/bigbluebutton/api"
    return (
        "providers:\n"
        f"  bigbluebutton: {{url: '{bbb}', secret: '{sims['bbb_secret']}'}}\n"
        f"storage: {{url: 'sqlite:///{folder / 'bench.db'}'}}\n"
    )


def signed_help(url: str) -> bool:
    """POST a signed `/meet help`; True once it is answered 200."""
    body = urllib.parse.urlencode(
        {
            "command": "/meet",
            "text": "help",
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "response_url": "http://127.0.0.1:9/respond",
        }
    ).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    request = urllib.request.Request(  # noqa: S310 - loopback http
        url,
        data=body,
        headers={
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


def slack_run(sims: dict[str, Any], folder: Path, *, importtime: bool = False) -> dict[str, Any]:
    fake = Child(sys.executable, str(HERE / "fakes" / "chat.py"), "slack")
    url = fake.line()["url"]
    port = free_port()
    config = folder / "slack-only.yaml"
    config.write_text(
        providers_yaml(sims, folder) + "slack:\n  mode: http\n  bot_token: xoxb-bench\n"
        f"  signing_secret: {SIGNING_SECRET}\n  port: {port}\n  api_url: {url}/api/\n"
    )
    command = [str(BIN / "meetbot"), "run", "--config", str(config)]
    if importtime:
        command = [sys.executable, "-X", "importtime", "-m", "bot", "run", "--config", str(config)]
    bot = Child(*command)
    try:
        while not signed_help(f"http://127.0.0.1:{port}/slack/events"):
            if bot.popen.poll() is not None:
                raise RuntimeError(f"meetbot run stopped: {bot.stop()}")
            time.sleep(0.005)
        ready = time.time() - bot.started
        cpu = cpu_seconds(bot.popen.pid)
        time.sleep(0.5)
        rss = peak_rss_mib(bot.popen.pid)
    finally:
        err = bot.stop()
        fake.stop()
    discord = "| discord" in err if importtime else None
    return {"ready": ready, "cpu": cpu, "rss": rss, "discord": discord}


def discord_run(sims: dict[str, Any], folder: Path) -> dict[str, Any]:
    fake = Child(sys.executable, str(HERE / "fakes" / "chat.py"), "discord")
    url = fake.line()["url"]
    config = folder / "discord-only.yaml"
    config.write_text(
        providers_yaml(sims, folder) + "discord:\n  token: discord-bench-token\n"
        "  application_id: 111111111111111111\n  guilds: [420000000000000042]\n"
        f"  api_url: {url}\n  sharded: true\n"
    )
    bot = Child(str(BIN / "meetbot"), "run", "--config", str(config))
    try:
        identified = fake.line()["identified"]
        ready = identified - bot.started
        cpu = cpu_seconds(bot.popen.pid)
        time.sleep(0.5)
        rss = peak_rss_mib(bot.popen.pid)
    finally:
        bot.stop()
        fake.stop()
    return {"ready": ready, "cpu": cpu, "rss": rss}


def import_cli_seconds() -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); import bot.cli; print(time.perf_counter() - t)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    compile_bytecode()
    loads = [load()]
    print(f"machine: {machine()}; load at start {loads[0]}", flush=True)
    sims_process = Child(sys.executable, str(HERE / "provider_sims.py"))
    sims = sims_process.line()
    slack: list[dict[str, Any]] = []
    discord: list[dict[str, Any]] = []
    imports: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for number in range(rounds):
                imports.append(import_cli_seconds())
                slack.append(slack_run(sims, Path(folder)))
                discord.append(discord_run(sims, Path(folder)))
                loads.append(load())
                print(
                    f"round {number + 1}/{rounds}: slack ready {slack[-1]['ready']:.3f} s "
                    f"{slack[-1]['rss']:.0f} MiB; discord ready {discord[-1]['ready']:.3f} s "
                    f"{discord[-1]['rss']:.0f} MiB; import bot.cli {imports[-1]:.3f} s; "
                    f"load {loads[-1]}",
                    flush=True,
                )
            traced = slack_run(sims, Path(folder), importtime=True)
    finally:
        sims_process.stop()

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(run[key] for run in runs))

    emit(
        [
            figure("slack-only run: time to ready", median(slack, "ready"), "s", "<= 0.5"),
            figure(
                "slack-only run: imports discord (1 = yes)", float(traced["discord"]), "", "<= 0"
            ),
            figure("slack-only run: CPU to ready", median(slack, "cpu"), "s"),
            figure("slack-only run: peak RSS", median(slack, "rss"), "MiB"),
            figure("discord-only run: time to ready", median(discord, "ready"), "s"),
            figure("discord-only run: CPU to ready", median(discord, "cpu"), "s"),
            figure("discord-only run: peak RSS", median(discord, "rss"), "MiB"),
            figure("import bot.cli", statistics.median(imports), "s"),
        ],
        machine=machine(),
        load=loads,
        rounds=rounds,
    )


if __name__ == "__main__":
    main()
