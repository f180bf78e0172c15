"""`/meet create ... --invite` to 1,000 people, through a Slack that keeps its published rate
limits: how long until the last invitation arrives, against the least those limits allow, and
how many are lost?

The processes are `bench/slack_burst.py`'s: the fake Slack Web API, here WITH its limits
(chat.postMessage: 1 a second per channel, a DM being the channel of its person, with a burst
of 3; 300 a minute per workspace, the low reading of "several hundred", with a burst of 50;
429 and Retry-After past them), the BigBlueButton simulator, and `meetbot run` in HTTP mode.
A command names at most 100 people (`commands.parsing.MAX_MENTIONS`; a slash command's
text is short), so the 1,000 are invited by 10 signed `/meet create "Town hall N" --invite
<@U…|name> …` sent together, 100 people each; their cards, the creators' own links and the
1,000 invitations are 1,020 posts in one workspace, so the floor is (1,020 - 50) / 5 per
second = 194 s. An invitation is lost when it never arrives.

    python bench/fanout.py [--people 1000] [--per-minute 300]

The last line of stdout is the figures line (`{"figures": [...]}`) the bench driver reads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from figures import emit, figure, load, machine  # bench/figures.py: run from this folder
from slack_burst import (
    CHANNEL,
    FAKE,
    TEAM,
    cpu_seconds,
    free_port,
    launch_bot,
    signed_headers,
    start,
    stop,
    until_served,
    user_id,
)

BURST = 50.0  # the fake's workspace burst (its default)
TARGET = 1.10  # within 10% of the floor


PER_COMMAND = 100  # commands.parsing.MAX_MENTIONS


def signed_create(
    fake_url: str, creator: str, invitees: list[str], number: int
) -> tuple[bytes, dict[str, str]]:
    mentions = " ".join(f"<@{who}|student{int(who[1:])}>" for who in invitees)
    body = urlencode(
        {
            "command": "/meet",
            "text": f'create "Town hall {number}" --invite {mentions}',
            "team_id": TEAM,
            "user_id": creator,
            "user_name": "teacher",
            "channel_id": CHANNEL,
            "trigger_id": "1.2.3",
            "response_url": f"{fake_url}/_respond/{creator}",
        }
    ).encode()
    return body, signed_headers(body)


async def post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> int:
    async with http.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status


async def stats_of(http: aiohttp.ClientSession, fake_url: str) -> dict[str, Any]:
    async with http.get(f"{fake_url}/_fake/stats") as answer:
        return dict(await answer.json())


async def fan_out(people: int, per_minute: float) -> dict[str, Any]:
    commands = -(-people // PER_COMMAND)
    posts = people + 2 * commands  # the cards, the creators' links, the invitations
    floor = max(0.0, (posts - BURST) / (per_minute / 60))
    give_up = 2 * floor + 60
    invitees = [user_id(number) for number in range(people)]
    creators = [user_id(people + number) for number in range(commands)]
    fake, fake_url = await start(
        *(
            sys.executable,
            str(FAKE),
            "--workspaces=1",
            "--channels=1",
            f"--users={people + commands}",
        ),
        f"--workspace-per-minute={per_minute}",
        f"--workspace-burst={BURST}",
        ready="http",
    )
    bbb_port = free_port()
    simulators, _ = await start(
        *(sys.executable, "-m", "bot", "simulate", f"--bbb-port={bbb_port}"),
        *(f"--vconnct-port={free_port()}", f"--liveminutes-port={free_port()}"),
        ready="Running",
    )
    bot: asyncio.subprocess.Process | None = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            bot, url, log = await launch_bot(Path(folder), fake_url=fake_url, bbb_port=bbb_port)
            async with aiohttp.ClientSession() as http:
                await until_served(http, url, bot)
                requests = [
                    signed_create(
                        fake_url,
                        creator,
                        invitees[number * PER_COMMAND : (number + 1) * PER_COMMAND],
                        number,
                    )
                    for number, creator in enumerate(creators)
                ]
                cpu_before = cpu_seconds(bot.pid)
                sent = time.time()
                acked = await asyncio.gather(*(post(http, url, *request) for request in requests))
                wanted = set(invitees)
                arrived: dict[str, float] = {}
                while time.time() < sent + give_up:
                    await asyncio.sleep(1.0)
                    stats = await stats_of(http, fake_url)
                    arrived = {str(w): float(t) for w, t in stats["dms"] if w in wanted}
                    if len(arrived) >= people:
                        break
                cpu = cpu_seconds(bot.pid) - cpu_before
            await stop(bot)
            bot = None
            logged = log.read_text(errors="replace").splitlines()
    finally:
        if bot is not None:
            await stop(bot)
        await stop(fake)
        await stop(simulators)
    last = max(arrived.values()) - sent if arrived else float("inf")
    limited = stats["limited"]
    print(
        f"{people} invitations in {commands} commands: acks {sorted(set(acked))}; "
        f"{len(arrived)} arrived, the last {last:.1f} s "
        f"after the command; floor {floor:.1f} s ({last / floor if floor else 0:.2f}x); "
        f"429s answered: {sum(limited.values())} ({limited}); calls {stats['calls']}; bot CPU "
        f"{cpu:.1f} s; load {load()}"
    )
    if logged:
        print(f"  the bot logged {len(logged)} lines; the first: {logged[:2]}")
    if not arrived:
        print(f"  nothing arrived; response_url answers: {len(stats['responses'])}")
    return {"last": last, "floor": floor, "lost": people - len(arrived), "people": people}


async def main(people: int, per_minute: float) -> None:
    print(f"fan-out: create --invite to {people} people, {PER_COMMAND} a command")
    print(f"machine: {machine()}; load {load()}")
    found = await fan_out(people, per_minute)
    ratio = found["last"] / found["floor"] if found["floor"] else 0.0
    figures = [
        figure(f"fan-out {people}: last invitation", found["last"], "s"),
        figure(f"fan-out {people}: rate-limit floor", found["floor"], "s"),
        figure(f"fan-out {people}: time / floor", ratio, "x", f"<= {TARGET}"),
        figure(f"fan-out {people}: links lost", found["lost"], "", "<= 0"),
    ]
    for entry in figures:
        if entry["pass"] is not None:
            mark = "PASS" if entry["pass"] else "FALLS SHORT"
            print(f"{mark}: {entry['name']} {entry['value']} (target {entry['target']})")
    emit(figures, load=load(), machine=machine())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--per-minute", type=float, default=300.0)
    parser.add_argument("--rounds", type=int, default=1, help="(the driver's; one round here)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.people, arguments.per_minute))
