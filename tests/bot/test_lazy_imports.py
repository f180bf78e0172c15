"""What a start loads is what its config needs: a chat platform's library only when that
platform is configured (a Slack-only bot never loads discord.py), the Socket Mode client only
in Socket Mode, a provider's client only when it has a section, Alembic only when the store is
behind, SQLAlchemy and aiohttp only for a subcommand that opens the store or a connection,
pydantic-settings only when a MEETBOT_* variable says something, SQLAlchemy's
PostgreSQL dialect only on PostgreSQL. Each is start-up time (see bench/footprint.py).

Each check runs in a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.simulated import SimulatedProviders
from commands.store.migrate import migrate
from tests.adapters.fake_slack import FakeSlack
from tests.bot.test_run import providers_and_storage, socket_mode

# Loaded only when a config asks for them (the names a start may hold or not).
WATCHED = (
    "discord",
    "slack_bolt",
    "slack_sdk",
    "slack_bolt.adapter.socket_mode",
    "httpx",
    "alembic",
    "pydantic_settings",
    "sqlalchemy.dialects.postgresql",
    "providers.vconnct",
    "providers.liveminutes",
    "jwt",
)

# Runs `meetbot run`'s `run` on the config file in argv[1] (read as `meetbot run` reads it,
# with no MEETBOT_* variable) until it logs that it is running, then prints which of the
# WATCHED modules (argv[2:]) the process holds, and stops it.
RUN_UNTIL_RUNNING = """
import asyncio, json, logging, os, sys
from bot import environment
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
    config = environment.load(sys.argv[1], os.environ).config
    task = asyncio.create_task(run(config, stop))
    await asyncio.wait_for(ready.ready.wait(), 30)
    held = sorted(name for name in sys.argv[2:] if name in sys.modules)
    stop.set()
    print(json.dumps({"held": held, "exit": await task}))

asyncio.run(main())
"""


async def python(*args: str) -> str:
    # Without MEETBOT_* variables: the environment's layer would load pydantic-settings.
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEETBOT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def held_by_a_run(config: Path) -> dict[str, object]:
    answer: dict[str, object] = json.loads(
        await python("-c", RUN_UNTIL_RUNNING, str(config), *WATCHED)
    )
    return answer


async def test_importing_the_cli_loads_no_chat_library_nor_the_store() -> None:
    # `meetbot slack-manifest`, `discord-invite`, `--help` open no store and no connection.
    script = (
        "import json, sys, bot.cli\n"
        "print(json.dumps([name for name in sys.argv[1:] if name in sys.modules]))"
    )
    assert json.loads(await python("-c", script, *WATCHED, "sqlalchemy", "aiohttp")) == []


async def test_a_slack_only_run_never_imports_discord(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        async with SimulatedProviders() as sims:
            config = tmp_path / "slack-only.yaml"
            config.write_text(providers_and_storage(sims, tmp_path) + socket_mode(fake))
            answer = await held_by_a_run(config)
    finally:
        await fake.stop()
    # The first start on an empty store makes its tables: Alembic's work (and Alembic loads
    # every dialect it knows).
    held = ["alembic", "slack_bolt", "slack_bolt.adapter.socket_mode", "slack_sdk"]
    held.append("sqlalchemy.dialects.postgresql")
    assert answer == {"held": held, "exit": 0}


async def test_an_http_mode_run_on_a_migrated_store_loads_only_what_it_uses(
    tmp_path: Path,
) -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        async with SimulatedProviders() as sims:
            head = providers_and_storage(sims, tmp_path)
            await migrate(f"sqlite:///{tmp_path / 'run.db'}")  # as an earlier start left it
            config = tmp_path / "slack-http.yaml"
            config.write_text(
                head + "slack:\n  mode: http\n  bot_token: xoxb-run\n  signing_secret: s\n"
                f"  port: 0\n  api_url: {fake.url}/api/\n"
            )
            answer = await held_by_a_run(config)
    finally:
        await fake.stop()
    assert answer == {"held": ["slack_bolt", "slack_sdk"], "exit": 0}
