"""A chat platform's library is loaded only when that platform is configured.

Each check runs in a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.simulated import SimulatedProviders
from tests.adapters.fake_slack import FakeSlack
from tests.bot.test_run import providers_and_storage, socket_mode

# Runs `meetbot run`'s `run` on the config file in argv[1] until it logs that it is running,
# then prints which chat libraries the process holds, and stops it.
SLACK_ONLY_RUN = """
import asyncio, json, logging, sys
from bot.config import parse_config
from bot.run import run

class Ready(logging.Handler):
    def __init__(self):
        super().__init__()
        self.ready = asyncio.Event()
    def emit(self, record):
        if record.getMessage().startswith("meetbot is running"):
            self.ready.set()

async def main():
    ready = Ready()
    logging.getLogger("meetbot").addHandler(ready)
    logging.getLogger("meetbot").setLevel(logging.INFO)
    stop = asyncio.Event()
    task = asyncio.create_task(run(parse_config(open(sys.argv[1]).read(), env={}), stop))
    await asyncio.wait_for(ready.ready.wait(), 30)
    held = {name: name in sys.modules for name in ("discord", "slack_bolt", "httpx")}
    stop.set()
    print(json.dumps({"held": held, "exit": await task}))

asyncio.run(main())
"""


async def python(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_importing_the_cli_loads_no_chat_library() -> None:
    out = await python(
        "-c",
        "import sys, bot.cli; print(sorted(m for m in ('discord', 'slack_bolt', 'slack_sdk')"
        " if m in sys.modules))",
    )
    assert out.strip() == "[]"


async def test_a_slack_only_run_never_imports_discord(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        async with SimulatedProviders() as sims:
            config = tmp_path / "slack-only.yaml"
            config.write_text(providers_and_storage(sims, tmp_path) + socket_mode(fake))
            answer = json.loads(await python("-c", SLACK_ONLY_RUN, str(config)))
    finally:
        await fake.stop()
    assert answer == {"held": {"discord": False, "slack_bolt": True, "httpx": False}, "exit": 0}
