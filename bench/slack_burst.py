"""A class clicking Join at 09:00: 500 and 1,500 signed `/meet join` within one second to a real
`meetbot run` in Slack HTTP mode. Are they all acked in time, and when does the last DM arrive?

Separate processes, so that no figure is flattered by a shared event loop:
- the fake Slack Web API (`bench/fakes/slack_web_api.py`) with the class's people in it, which
  answers users.info, conversations.open, chat.postMessage (DMs too) and the commands'
  response_urls. It runs `--unlimited`: this bench measures the bot, not Slack's limits (those
  are `bench/fanout.py`'s). Slack's own per-workspace limit on posts ("several hundred a
  minute") would not let 1,500 DMs through in 3 s; the ephemeral "sent you a DM" goes through
  the response_url, which has no such limit;
- `meetbot run` (`python -m bot run --config ...`), exactly as an operator starts it, in HTTP
  mode against the fake (`slack.api_url`), on a SQLite file that holds one running
  BigBlueButton meeting; the BigBlueButton simulator (`meetbot simulate`) in a fourth process
  (a join link is signed locally; the client confirms the meeting is live once per 15 s);
- this one, which writes the store and the config, signs the requests ahead of time, sends
  request i at i/N s after the start (each on one of 256 kept-alive connections, as Slack's
  many senders would), and reads the bot's CPU time from /proc.

Every joiner is new to the bot (a cold join: their profile is not cached yet); 20 others join
first, so that what a running bot has done once (auth.test, its first users.info, the first
query of each kind) is not counted. Figures: ack p50/p99/max from each request's planned send
time, the last ack, the last DM after the last ack, errors (anything but a 200 ack, and any
joiner without a DM and an ephemeral answer), the bot's CPU per join.

    python bench/slack_burst.py [--sizes 500 1500] [--rounds 1] [--profile FILE --py-spy PATH]

The last line of stdout is the figures line (`{"figures": [...]}`) the bench driver reads.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from figures import emit, figure, load, machine  # bench/figures.py: run from this folder
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bot.simulated import DEMO_BBB_SECRET
from commands.model import Meeting, MeetingState, Platform, Tenant
from commands.store import MeetingStore, async_url
from commands.store.meetings import meeting_columns
from commands.store.schema import MeetingRow
from providers.base import Room

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fakes" / "slack_web_api.py"
SIGNING = "bench-only-signing"  # the bench's own; not a real secret
TOKEN = "xoxb-bench-only"  # noqa: S105 - the fake's; not a real token
TEAM = "T0000"
CHANNEL = "C00000000"
TITLE = "Algebra 101"
WARM = 20  # joins before the burst, by people not in it
CONNECTIONS = 256  # Slack's requests come from many senders
GIVE_UP = 60.0  # seconds after the last request: the bench stops whatever happened
# The targets, for 1,500 joins in one second.
ACKED_WITHIN = 3.0  # s after the first request: every ack
ACK_P99 = 0.250  # s
DM_AFTER_ACK = 3.0  # s: the last DM at most this long after the last ack
CPU_PER_JOIN = 2.0  # ms of the bot's CPU

CONFIG = """
providers:
  bigbluebutton:
    url: http://127.0.0.1:{bbb_port}/bigbluebutton/api
    secret: {bbb_secret}
slack:
  mode: http
  bot_token: {token}
  signing_secret: {signing}
  port: {port}
  api_url: {url}/api/
storage:
  url: sqlite:///{db}
"""


@dataclass
class Outcome:
    size: int
    acks: list[float]  # s from the planned send time, of the 200s
    errors: int
    last_ack: float  # s after the first planned send
    last_dm: float  # s after the first planned send
    dms: int
    answers: int  # response_url posts
    bot_cpu: float  # s, from just before the burst to the last DM
    ack_cpu: float  # s, from just before the burst to its last ack (the work waits for it)
    fake_cpu: float
    send_lag: float  # s: how late this process sent its latest request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def user_id(number: int) -> str:
    return f"U{number:08d}"


async def write_store(db: Path) -> None:
    """The store as `meetbot run` makes it, with one running meeting in the class's channel."""
    store = await MeetingStore.open(f"sqlite:///{db}")
    await store.close()
    now = datetime.now(UTC)
    tenant = Tenant(Platform.SLACK, TEAM)
    meeting = Meeting(
        id="algebra",
        tenant=tenant,
        channel_id=CHANNEL,
        title=TITLE,
        provider="bigbluebutton",
        room=Room(provider="bigbluebutton", room_id="algebra", title=TITLE),
        creator_key=f"{tenant.key}:UTEACHER",
        creator_name="Teacher",
        created_at=now,
        state=MeetingState.RUNNING,
        started_at=now,
    )
    engine = create_async_engine(async_url(f"sqlite:///{db}"))
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(MeetingRow), [meeting_columns(meeting)])
    finally:
        await engine.dispose()


def signed_join(fake_url: str, number: int) -> tuple[bytes, dict[str, str]]:
    who = user_id(number)
    body = urlencode(
        {
            "command": "/meet",
            "text": f"join {TITLE}",
            "team_id": TEAM,
            "user_id": who,
            "user_name": f"student{number}",
            "channel_id": CHANNEL,
            "trigger_id": f"{number}.1.2",
            "response_url": f"{fake_url}/_respond/{who}",
        }
    ).encode()
    return body, signed_headers(body)


def signed_headers(body: bytes) -> dict[str, str]:
    """The headers Slack signs a slash command's form body with, as of now."""
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def start(*command: str, ready: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start a process; returns it and the first line of its stdout that contains `ready`."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, cwd=HERE.parent
    )
    reader = process.stdout
    assert reader is not None
    said: list[str] = []
    while True:
        line = (await asyncio.wait_for(reader.readline(), 60)).decode()
        if not line:
            raise RuntimeError(f"{command[:4]} stopped before it was ready: {''.join(said)}")
        said.append(line)
        if ready in line:
            return process, line.strip()


async def sample(py_spy: str, pid: int, into: str) -> asyncio.subprocess.Process:
    """py-spy sampling process `pid` into `into` (raw collapsed stacks), once it is attached."""
    spy = await asyncio.create_subprocess_exec(
        *(py_spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"),
        *("--output", into),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)
    return spy


async def until_served(
    http: aiohttp.ClientSession, url: str, bot: asyncio.subprocess.Process
) -> None:
    """Until the bot answers on its endpoint (an unsigned request: 401)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        if bot.returncode is not None:
            raise RuntimeError(f"meetbot run stopped with {bot.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(url, data=b"") as answer:
                if answer.status == 401:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("meetbot run did not serve its endpoint within 60 s")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process `pid` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def counts(http: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
    async with http.get(f"{fake_url}/_fake/count") as answer:
        return dict(await answer.json())


async def launch_bot(
    folder: Path, *, fake_url: str, bbb_port: int
) -> tuple[asyncio.subprocess.Process, str, Path]:
    """`meetbot run` in HTTP mode against the fake Slack, on a new store in `folder`, as an
    operator starts it (its default log level, WARNING; its log kept apart): the process,
    its signed endpoint's URL and its log file."""
    db = folder / "bench.db"
    await write_store(db)  # the tables and the running meeting
    port = free_port()
    config = folder / "config.yaml"
    config.write_text(
        CONFIG.format(
            **{"bbb_port": bbb_port, "bbb_secret": DEMO_BBB_SECRET, "token": TOKEN},
            **{"signing": SIGNING, "port": port, "url": fake_url, "db": db},
        )
    )
    log = folder / "bot.log"
    with log.open("wb") as log_file:
        bot = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run", "--config", str(config)),
            cwd=HERE.parent,
            stderr=log_file,
        )
    return bot, f"http://127.0.0.1:{port}/slack/events", log


async def burst(size: int, *, profile: str | None, py_spy: str) -> Outcome:
    people = WARM + size
    fake, fake_url = await start(
        *(sys.executable, str(FAKE), "--unlimited", "--workspaces=1", "--channels=1"),
        f"--users={people}",
        ready="http",
    )
    bot: asyncio.subprocess.Process | None = None
    spy: asyncio.subprocess.Process | None = None
    bbb_port = free_port()
    simulators, _ = await start(
        *(sys.executable, "-m", "bot", "simulate", f"--bbb-port={bbb_port}"),
        *(f"--vconnct-port={free_port()}", f"--liveminutes-port={free_port()}"),
        ready="Running",
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            bot, url, log = await launch_bot(Path(folder), fake_url=fake_url, bbb_port=bbb_port)
            connector = aiohttp.TCPConnector(limit=CONNECTIONS)
            async with aiohttp.ClientSession(connector=connector) as http:
                await until_served(http, url, bot)
                # The warm-up: people outside the burst, one after another.
                for number in range(size, people):
                    body, headers = signed_join(fake_url, number)
                    async with http.post(url, data=body, headers=headers) as answer:
                        await answer.read()
                await wait_for(http, fake_url, WARM, time.time() + 30)
                before = await counts(http, fake_url)
                requests = [signed_join(fake_url, number) for number in range(size)]
                if profile:
                    spy = await sample(py_spy, bot.pid, f"{profile}.{size}")
                cpu_before = cpu_seconds(bot.pid), cpu_seconds(fake.pid)
                first = time.time() + 0.2
                sent = await asyncio.gather(
                    *(
                        send(http, url, body, headers, first + index / size)
                        for index, (body, headers) in enumerate(requests)
                    )
                )
                cpu_acked = cpu_seconds(bot.pid)
                _, seen = await wait_for(http, fake_url, size, time.time() + GIVE_UP, before=before)
                cpu_after = cpu_seconds(bot.pid), cpu_seconds(fake.pid)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    await asyncio.wait_for(spy.wait(), 30)
                    spy = None
                dm_times = await dm_times_of(http, fake_url, size)
            if bot is not None:
                await stop(bot)
                bot = None
            logged = log.read_text(errors="replace").splitlines()
            if logged:
                print(f"  the bot logged {len(logged)} lines; the first: {logged[:3]}")
    finally:
        if spy is not None:
            spy.kill()
        if bot is not None:
            await stop(bot)
        await stop(fake)
        await stop(simulators)
    acks = [latency for status, latency, _done, _lag in sent if status == 200]
    done = [finished for status, _latency, finished, _lag in sent if status == 200]
    errors = sum(1 for status, *_rest in sent if status != 200)
    errors += max(0, size - seen["dms"]) + max(0, size - seen["responses"])
    return Outcome(
        size=size,
        acks=acks,
        errors=errors,
        last_ack=(max(done) - first) if done else math.inf,
        last_dm=(max(dm_times) - first) if dm_times else math.inf,
        dms=seen["dms"],
        answers=seen["responses"],
        bot_cpu=cpu_after[0] - cpu_before[0],
        ack_cpu=cpu_acked - cpu_before[0],
        fake_cpu=cpu_after[1] - cpu_before[1],
        send_lag=max(lag for *_rest, lag in sent),
    )


async def send(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], at: float
) -> tuple[int, float, float, float]:
    """(status, seconds from `at` to the answer, when it was answered, how late it left)."""
    await asyncio.sleep(max(0.0, at - time.time()))
    lag = time.time() - at
    try:
        async with http.post(url, data=body, headers=headers) as answer:
            await answer.read()
            status = answer.status
    except aiohttp.ClientError:
        status = 0
    finished = time.time()
    return status, finished - at, finished, lag


async def wait_for(
    http: aiohttp.ClientSession,
    fake_url: str,
    expected: int,
    until: float,
    before: dict[str, int] | None = None,
) -> tuple[float, dict[str, int]]:
    """Until `expected` more DMs and response_url posts arrived (or `until`)."""
    base = before or {"dms": 0, "responses": 0}
    seen = {"dms": 0, "responses": 0}
    while time.time() < until:
        now = await counts(http, fake_url)
        seen = {key: now[key] - base[key] for key in seen}
        if min(seen.values()) >= expected:
            break
        await asyncio.sleep(0.05)
    return time.time(), seen


async def dm_times_of(http: aiohttp.ClientSession, fake_url: str, size: int) -> list[float]:
    """When each DM of the burst's people (U00000000 up to `size`) arrived."""
    async with http.get(f"{fake_url}/_fake/stats") as answer:
        stats: dict[str, Any] = await answer.json()
    burst_people = {user_id(number) for number in range(size)}
    return [float(at) for who, at in stats["dms"] if who in burst_people]


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return math.inf
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def show(outcome: Outcome) -> list[dict[str, Any]]:
    size, acks = outcome.size, outcome.acks
    p50, p99 = statistics.median(acks) if acks else math.inf, percentile(acks, 0.99)
    top = max(acks) if acks else math.inf
    after_ack = outcome.last_dm - outcome.last_ack
    cpu_ms = 1000 * outcome.bot_cpu / size
    print(
        f"{size} joins in 1 s: acked {len(acks)}, ack p50 {1000 * p50:.0f} ms, p99 "
        f"{1000 * p99:.0f} ms, max {1000 * top:.0f} ms; last ack +{outcome.last_ack:.2f} s; "
        f"last DM +{outcome.last_dm:.2f} s (+{after_ack:.2f} s after the last ack); DMs "
        f"{outcome.dms}, ephemeral answers {outcome.answers}; errors {outcome.errors}"
    )
    print(
        f"  CPU from the burst to its last DM: bot {outcome.bot_cpu:.2f} s ({cpu_ms:.2f} ms a "
        f"join; {1000 * outcome.ack_cpu / size:.2f} ms a join until the last ack), fake Slack "
        f"{outcome.fake_cpu:.2f} s; this process sent its latest request "
        f"{1000 * outcome.send_lag:.0f} ms late; load {load()}"
    )
    strict = size >= 1500  # the targets are for 1,500 in one second
    return [
        figure(f"slack burst {size}: all acked within", outcome.last_ack, "s",
               f"<= {ACKED_WITHIN}" if strict else None),
        figure(f"slack burst {size}: ack p50", 1000 * p50, "ms"),
        figure(f"slack burst {size}: ack p99", 1000 * p99, "ms",
               f"<= {1000 * ACK_P99:.0f}" if strict else None),
        figure(f"slack burst {size}: ack max", 1000 * top, "ms"),
        figure(f"slack burst {size}: last DM after the last ack", after_ack, "s",
               f"<= {DM_AFTER_ACK}" if strict else None),
        figure(f"slack burst {size}: errors", outcome.errors, "", "<= 0"),
        figure(f"slack burst {size}: bot CPU per cold join", cpu_ms, "ms",
               f"<= {CPU_PER_JOIN}" if strict else None),
    ]  # fmt: skip


def median_outcome(runs: list[Outcome]) -> Outcome:
    """The run with the median last DM (rounds of one size)."""
    return sorted(runs, key=lambda run: run.last_dm)[len(runs) // 2]


async def main(sizes: list[int], rounds: int, profile: str | None, py_spy: str) -> None:
    print(f"slack burst: signed /meet join to meetbot run (HTTP mode); machine: {machine()}")
    print(f"load before: {load()}")
    figures: list[dict[str, Any]] = []
    for size in sizes:
        runs = []
        for _round in range(rounds):
            runs.append(await burst(size, profile=profile, py_spy=py_spy))
            if rounds > 1:
                show(runs[-1])
        if rounds > 1:
            print(f"median of {rounds} rounds:")
        figures += show(median_outcome(runs))
    for entry in figures:
        if entry["pass"] is not None:
            mark = "PASS" if entry["pass"] else "FALLS SHORT"
            print(f"{mark}: {entry['name']} {entry['value']} {entry['unit']} "
                  f"(target {entry['target']})")  # fmt: skip
    emit(figures, load=load(), machine=machine())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1500])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE", help="py-spy the bot into FILE.<size>")
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy to sample with")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.rounds, arguments.profile, arguments.py_spy))
