"""The test suite's fake Slack or fake Discord in a process of its own, for `bench/footprint.py`.

    python bench/fakes/chat.py slack|discord

Prints `{"url": ...}` on the first line of stdout. The Discord fake then prints
`{"identified": UNIX_TIME}` when a bot completes its gateway IDENTIFY (the moment a Discord
bot is ready). Serves on loopback until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tests.*

from tests.adapters.fake_discord import FakeDiscord
from tests.adapters.fake_slack import FakeSlack


async def main(kind: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if kind == "slack":
        slack = FakeSlack()
        print(json.dumps({"url": await slack.start()}), flush=True)
        await stop.wait()
        await slack.stop()
        return
    discord = FakeDiscord()
    print(json.dumps({"url": await discord.start()}), flush=True)

    def identifies() -> int:
        return len(discord.find("GATEWAY", "IDENTIFY"))

    async def watch() -> None:
        seen = [0]
        while True:  # woken by each request the fake records
            await discord.wait_until(lambda: identifies() > seen[0], seconds=10**6)
            seen[0] = identifies()
            print(json.dumps({"identified": time.time()}), flush=True)

    watcher = asyncio.create_task(watch())
    await stop.wait()
    watcher.cancel()
    await discord.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
