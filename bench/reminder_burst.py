"""10,000 reminders due in the same minute, in 10,000 channels: are they all posted, once each,
the last within 5 s of its due time, against a Slack that keeps its published rate limits?

Three processes, so that no figure is flattered by a shared event loop:
- the fake Slack Web API (`bench/fakes/slack_web_api.py`), which keeps chat.postMessage's
  published limits: "1 message per second to a specific channel", "short bursts >1 allowed",
  and per workspace "several hundred messages per minute" with "generous burst behavior"
  (https://docs.slack.dev/reference/methods/chat.postMessage, section Rate limiting;
  https://docs.slack.dev/apis/web-api/rate-limits, Special tier / Posting messages). Slack gives
  no burst sizes; the fake's are 3 per channel and 50 per workspace at 300/min. Past a limit it
  answers 429 with Retry-After, as Slack does;
- the bot: the real `JobLoop` (interval and grace as `meetbot run` has them by default) with
  the real `SlackAdapter` pointed at the fake through `api_url`, on a real SQLite file;
- this one, which writes the store, starts the two, waits for the posts (bounded: it gives up
  60 s after the due time) and prints the figures.

The meetings are written straight into the store file (the rows `add_meeting` writes, with
the planner's jobs), not by 10,000 provider creates. Slack's limit is per workspace: at 300 a
minute, one workspace could not take 10,000 posts in under half an hour, whatever the bot
does. So the channels are spread over workspaces (an org-wide install on Enterprise Grid, one
bot token), 250 of 40 by default, a layout in which Slack's limits allow all of them at
once; the bench prints the floor the limits set for its layout. Not a test: it prints.

    python bench/reminder_burst.py [--meetings 10000] [--workspaces 250] [--profile FILE]

`--profile` samples the bot with py-spy (installed apart: it is no dependency) into FILE, in
py-spy's raw (collapsed stacks) format, from just before the due time on. Figures of past runs
are in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from figures import emit, figure, load, machine  # bench/figures.py: run from this folder
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.slack import SlackAdapter
from bot.app import build_providers, build_service
from bot.config import parse_config
from bot.logs import configure_logging
from bot.scheduler import LOOKAHEAD, JobLoop
from commands.model import Meeting, Platform, Schedule, Tenant
from commands.policy import RolePolicy
from commands.router import CommandRouter
from commands.schedule.jobs import JobHandlers
from commands.schedule.planner import planned
from commands.store import JobKind, MeetingStore, async_url
from commands.store.meetings import meeting_columns
from commands.store.schema import JobRow, MeetingRow, OccurrenceRow
from commands.watch import MeetingWatch
from providers.base import Room

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fakes" / "slack_web_api.py"
TARGET = 5.0  # seconds: the last reminder at most this long after its due time
# Seconds from the bot's start to the due time: long enough for its start and a whole
# lookahead (LOOKAHEAD), as for a bot that is running when its reminders come due.
LEAD = 40.0
GIVE_UP = 60.0  # seconds after the due time: the bench stops whatever happened
FAKE_LIMITS = {"workspace_per_minute": 300.0, "workspace_burst": 50.0}
TOKEN = "xoxb-bench-only"  # noqa: S105 - the fake's; not a real token

# The bot's configuration: `meetbot run`'s defaults for everything the bench does not name.
# The BigBlueButton server is never asked anything by a reminder.
CONFIG = """
providers:
  bigbluebutton:
    url: http://127.0.0.1:9/bigbluebutton/api
    secret: bench-only-not-a-secret
slack:
  mode: http
  bot_token: {token}
  signing_secret: bench-only
  api_url: {url}/api/
storage:
  url: sqlite:///{db}
"""


# -- the bot process ----------------------------------------------------------------------------


async def run_bot(url: str, db: str) -> None:
    """The scheduler side of `meetbot run`: the loop and the Slack adapter, until SIGTERM.
    Prints `ready`, then at the end one JSON line with its peak RSS."""
    configure_logging("WARNING")  # as `meetbot run` does by default (quiet libraries too)
    config = parse_config(CONFIG.format(token=TOKEN, url=url, db=db), env={})
    assert config.slack is not None
    providers = build_providers(config.providers)
    store = await MeetingStore.open(config.storage.url)
    service = build_service(
        providers,
        store,
        RolePolicy(config.roles, config.tenants),
        default_provider=config.providers.default_name(),
        reminders=config.reminders,
        clock=_utc_now,
    )
    adapter = SlackAdapter(
        CommandRouter(service),
        store=store,
        cards=service,
        bot_token=config.slack.bot_token.get_secret_value(),
        signing_secret="bench-only",  # noqa: S106 - nothing is served: no request to sign
        api_url=config.slack.api_url,
        clock=_utc_now,
    )
    await adapter.verify()
    loop = JobLoop(
        JobHandlers(service),
        {Platform.SLACK: adapter},
        _utc_now,
        interval=config.reminders.check_seconds,
        watch=MeetingWatch(service, service.policy),
        lookahead=LOOKAHEAD,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    try:
        await loop.run(stop)
    finally:
        await adapter.close()
        await store.close()
        for provider in providers.values():
            await provider.aclose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"peak_rss_mib": usage.ru_maxrss / 1024, "cpu_s": cpu}), flush=True)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- the store ----------------------------------------------------------------------------------


async def write_store(db: Path, channels: list[tuple[str, str]], due: datetime) -> float:
    """One meeting per channel, each with the occurrence and jobs the planner gives it (its
    reminder due at `due`, 10 min before its start); returns the seconds it took.

    The rows are what `store.add_meeting(meeting, planned(...))` writes (its own column
    mapping), in three bulk inserts: one transaction per meeting would make this setup take
    longer than the burst it sets up."""
    store = await MeetingStore.open(f"sqlite:///{db}")  # the tables, the layout version
    await store.close()
    started = time.perf_counter()
    now = _utc_now()
    start = due + timedelta(minutes=10)
    schedule = Schedule(start=start, reminder_minutes=10, timezone="UTC", first_start=start)
    meetings, occurrences, jobs = [], [], []
    for index, (channel, team) in enumerate(channels):
        tenant = Tenant(Platform.SLACK, team)
        meeting = Meeting(
            id=f"m{index:07d}",
            tenant=tenant,
            channel_id=channel,
            title=f"Standup {index}",
            provider="bigbluebutton",
            room=Room(provider="bigbluebutton", room_id=f"m{index:07d}", title="Standup"),
            creator_key=f"{tenant.key}:U{index:07d}",
            creator_name=f"Host {index}",
            created_at=now,
            schedule=schedule,
        )
        plan = planned(schedule, start, now)
        meetings.append(meeting_columns(meeting))
        occurrence = index + 1
        occurrences.append(
            {
                "id": occurrence,
                "meeting_id": meeting.id,
                "starts_at": plan.starts_at,
                "state": plan.state.value,
            }
        )
        jobs += [
            {
                "kind": kind.value,
                "meeting_id": meeting.id,
                "occurrence_id": occurrence,
                "due_at": due if kind is JobKind.REMIND else at,
                "attempts": 0,
            }
            for kind, at in plan.jobs
        ]
    engine = create_async_engine(async_url(f"sqlite:///{db}"))
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(MeetingRow), meetings)
            await connection.execute(insert(OccurrenceRow), occurrences)
            await connection.execute(insert(JobRow), jobs)
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def reminders_left(db: Path) -> int:
    engine = create_async_engine(async_url(f"sqlite:///{db}"))
    try:
        async with engine.connect() as connection:
            query = select(func.count()).where(
                JobRow.kind == JobKind.REMIND.value, JobRow.done_at.is_(None)
            )
            return int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()


# -- this process -------------------------------------------------------------------------------


async def start(*command: str, first: str = "") -> tuple[asyncio.subprocess.Process, str]:
    """Start a process of this bench; returns it and its first line of output that begins
    with `first` (lines before it, such as a profiler's, are passed on)."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, cwd=HERE.parent
    )
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            raise RuntimeError(f"{command[0]} stopped before it was ready")
        if line.startswith(first):
            return process, line.strip()
        print(line, end="")


async def sample(pid: int, into: str, *, at: float) -> asyncio.subprocess.Process:
    """py-spy sampling the bot process from `at` (unix time) on (it must be installed: it is
    not a dependency)."""
    await asyncio.sleep(max(0.0, at - time.time()))
    return await asyncio.create_subprocess_exec(
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        into,
        stdout=asyncio.subprocess.DEVNULL,
    )


async def stop(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, then its remaining output (bounded; killed if it does not stop)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 20)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
    return out.decode()


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def slack_floor(channels: list[tuple[str, str]]) -> float:
    """The earliest the fake's workspace limit lets the last post through, if all are sent
    at the due time: per workspace, what its burst does not cover, at its rate."""
    per_workspace = Counter(team for _channel, team in channels)
    rate = FAKE_LIMITS["workspace_per_minute"] / 60
    burst = FAKE_LIMITS["workspace_burst"]
    return max(max(0.0, (count - burst) / rate) for count in per_workspace.values())


async def main(meetings: int, workspaces: int, profile: str | None) -> None:
    print(f"reminder burst: {meetings} reminders due at once in {meetings} channels")
    print(f"machine: {machine()}")
    fake, url = await start(
        sys.executable,
        str(FAKE),
        f"--workspaces={workspaces}",
        f"--channels={meetings}",
        f"--workspace-per-minute={FAKE_LIMITS['workspace_per_minute']}",
        f"--workspace-burst={FAKE_LIMITS['workspace_burst']}",
        first="http",
    )
    bot: asyncio.subprocess.Process | None = None
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/_fake/channels") as answer:
                channels = [(str(c), str(t)) for c, t in await answer.json()]
            with tempfile.TemporaryDirectory() as folder:
                db = Path(folder) / "bench.db"
                # Due on a whole second, far enough ahead for the bot's start.
                due = datetime.fromtimestamp(math.ceil(time.time() + LEAD + 2), UTC)
                took = await write_store(db, channels, due)
                print(f"store: {meetings} meetings written in {took:.1f} s")
                bot, _ready = await start(
                    sys.executable, str(Path(__file__)), "--bot", url, str(db), first="ready"
                )
                late_start = time.time() - due.timestamp()
                if late_start > 0:
                    print(f"NOTE: the bot was ready only {late_start:.1f} s after the due time")
                pids = {"bot": bot.pid, "fake Slack": fake.pid}
                at_due = asyncio.create_task(cpu_when(due.timestamp(), pids))
                # Sampled from the due time on: what the burst itself costs.
                spy = await sample(bot.pid, profile, at=due.timestamp() - 0.5) if profile else None
                posted = await wait_for_posts(http, url, meetings, due.timestamp())
                spent = {
                    name: cpu_seconds(pid) - (await at_due)[name] for name, pid in pids.items()
                }
                if spy is not None:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
                    await asyncio.wait_for(spy.wait(), 30)
                bot_out = await stop(bot)
                bot = None
                async with http.get(f"{url}/_fake/stats") as answer:
                    stats: dict[str, Any] = await answer.json()
                left = await reminders_left(db)
        print(
            "CPU from the due time to the last post: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in spent.items())
            + f" (the bot {1000 * spent['bot'] / meetings:.2f} ms a reminder)"
        )
        found = report(
            stats=stats,
            channels=channels,
            due=due.timestamp(),
            posted=posted,
            left=left,
            bot_out=bot_out,
            bot_cpu=spent["bot"],
        )
    finally:
        if bot is not None:
            await stop(bot)
        await stop(fake)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU of bot and fake Slack together: {children.ru_utime + children.ru_stime:.1f} s "
        f"(on {os.cpu_count()} cores)"
    )
    emit(found, load=load(), machine=machine())


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) process `pid` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_when(moment: float, pids: dict[str, int]) -> dict[str, float]:
    """The CPU time of each process at `moment` (unix time)."""
    await asyncio.sleep(max(0.0, moment - time.time()))
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


async def wait_for_posts(http: aiohttp.ClientSession, url: str, expected: int, due: float) -> int:
    """Until every reminder is posted (and a second more, for any double), or GIVE_UP."""
    count = 0
    while time.time() < due + GIVE_UP:
        await asyncio.sleep(0.25)
        async with http.get(f"{url}/_fake/count") as answer:
            count = int((await answer.json())["posts"])
        if count >= expected:
            await asyncio.sleep(1.0)
            break
    return count


def report(
    *,
    stats: dict[str, Any],
    channels: list[tuple[str, str]],
    due: float,
    posted: int,
    left: int,
    bot_out: str,
    bot_cpu: float,
) -> list[dict[str, Any]]:
    """Prints what happened; answers the figures line's entries."""
    posts = [(str(c), float(t)) for c, t in stats["posts"]]
    expected = len(channels)
    per_channel = Counter(channel for channel, _t in posts)
    once = sum(1 for channel, _team in channels if per_channel[channel] == 1)
    twice = sum(1 for count in per_channel.values() if count > 1)
    lateness = [t - due for _c, t in posts]
    limited = stats["limited"]
    peak = "?"
    peak_mib = math.nan
    for line in bot_out.splitlines():
        if line.startswith("{"):
            figures = json.loads(line)
            peak_mib = float(figures["peak_rss_mib"])
            peak = f"{peak_mib:.0f} MiB (CPU {figures['cpu_s']:.1f} s in all)"
    print(f"jobs: {expected} reminders; posted {len(posts)}; reminder jobs left undone: {left}")
    print(f"posted exactly once: {once} of {expected} channels; more than once: {twice}")
    if lateness:
        first, last = min(lateness), max(lateness)
        spread = max(last - first, 1e-9)
        print(f"first post {first:+.2f} s, last post {last:+.2f} s after the due time")
        print(
            f"lateness p50 {statistics.median(lateness):.2f} s, p99 "
            f"{percentile(lateness, 0.99):.2f} s; {len(posts) / spread:.0f} posts/s "
            f"from first to last"
        )
    print(
        f"429s seen: {limited.get('channel', 0) + limited.get('workspace', 0)} "
        f"(channel limit {limited.get('channel', 0)}, workspace limit "
        f"{limited.get('workspace', 0)}); Slack's floor for this layout: "
        f"{slack_floor(channels):.1f} s"
    )
    print(f"bot peak RSS: {peak}")
    last = max(lateness) if lateness else math.inf
    if posted >= expected and once == expected and last <= TARGET:
        print(f"PASS: all {expected} posted once, the last {last:.2f} s after due (<= {TARGET} s)")
    else:
        why = f"the last {last:.2f} s after due" if lateness else "nothing posted"
        print(
            f"FALLS SHORT of 'all once, the last within {TARGET:.0f} s': {why}, "
            f"{once} of {expected} posted once"
        )
    return [
        figure(f"reminders {expected}: last post after due", last, "s", f"<= {TARGET}"),
        figure(f"reminders {expected}: not posted exactly once", expected - once, "", "<= 0"),
        figure(f"reminders {expected}: first post after due", min(lateness, default=math.inf), "s"),
        figure(f"reminders {expected}: bot CPU per reminder", 1000 * bot_cpu / expected, "ms"),
        figure(f"reminders {expected}: bot peak RSS", peak_mib, "MiB"),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=250)
    parser.add_argument("--profile", metavar="FILE", help="sample the bot with py-spy into FILE")
    parser.add_argument("--rounds", type=int, default=1, help="(the driver's; one round here)")
    parser.add_argument("--bot", nargs=2, metavar=("URL", "DB"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.bot:
        asyncio.run(run_bot(*arguments.bot))
    else:
        asyncio.run(main(arguments.meetings, arguments.workspaces, arguments.profile))
