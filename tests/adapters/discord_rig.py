"""The Discord rig: a real discord.py client logged in against the loopback fake Discord, on a
bench of real command parts (simulators, SQLite, an injected clock). `command` and `press` feed
raw interaction payloads through the client's state, as the gateway would; the other helpers
read what the fake received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import discord

from adapters.discord import DiscordAdapter
from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from tests.adapters.fake_discord import (
    APP_ID,
    FakeDiscord,
    in_direct_message,
    interaction,
    meet_command,
)
from tests.commands.conftest import Bench, make_bench

GUILD, CHANNEL = "420000000000000042", "770000000000000077"
ALICE, BOB = ("501", "alice"), ("502", "bob")
EPHEMERAL = 64
_ids = count(600000000000000001)


def next_id() -> str:
    """A fresh interaction id (a snowflake, like Discord's)."""
    return str(next(_ids))


@dataclass(repr=False)  # the fake's request log is long; reports name the rig only
class DiscordRig:
    bench: Bench
    fake: FakeDiscord
    adapter: DiscordAdapter

    def __repr__(self) -> str:
        return f"DiscordRig(<{len(self.fake.requests)} requests to the fake>)"

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text(repr(self))  # Hypothesis's pretty printer would list every field

    def command(
        self,
        sub: str,
        options: dict[str, Any],
        who: tuple[str, str] = ALICE,
        permissions: int = 0,
        in_dm: bool = False,
    ) -> str:
        interaction_id = next_id()
        payload = meet_command(interaction_id, sub, options, who, GUILD, CHANNEL, permissions)
        if in_dm:
            payload = in_direct_message(payload, who, self.fake.dm_channel(who[0]))
        self.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]  # a raw gateway payload
        return interaction_id

    def press(self, custom_id: str, who: tuple[str, str] = BOB, in_dm: bool = False) -> str:
        interaction_id = next_id()
        payload = interaction(interaction_id, who, GUILD, CHANNEL) | {
            "type": 3,
            "data": {"component_type": 2, "custom_id": custom_id},
            "message": {
                "id": "700",
                "channel_id": CHANNEL,
                "content": "",
                "author": {"id": "1", "username": "meetbot", "discriminator": "0", "avatar": None},
                "embeds": [],
                "attachments": [],
                "mentions": [],
                "mention_roles": [],
                "pinned": False,
                "mention_everyone": False,
                "tts": False,
                "type": 0,
                "timestamp": "2026-11-25T08:00:00+00:00",
                "edited_timestamp": None,
                "flags": 0,
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {"type": 2, "style": 1, "label": "Join", "custom_id": custom_id}
                        ],
                    }
                ],
            },
        }
        if in_dm:
            payload = in_direct_message(payload, who, self.fake.dm_channel(who[0]))
        self.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]  # a raw gateway payload
        return interaction_id

    def callback(self, interaction_id: str) -> dict[str, Any]:
        found = self.fake.find("POST", f"/interactions/{interaction_id}/")
        assert found, "no interaction callback"
        return found[0].body  # type: ignore[no-any-return]

    def followups(self, interaction_id: str) -> list[dict[str, Any]]:
        return [r.body for r in self.fake.find("POST", f"/webhooks/{APP_ID}/tok{interaction_id}")]

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        return self.fake.messages_to(self.fake.dm_channel(user_id))

    async def answered(self, interaction_id: str, seconds: float = 10) -> None:
        """Wait until the interaction got its answer and all work it started is done."""
        webhook = f"/webhooks/{APP_ID}/tok{interaction_id}"
        await self.fake.wait_until(
            lambda: bool(self.fake.find("POST", webhook) or self.fake.find("DELETE", webhook)),
            seconds,
        )
        await asyncio.wait_for(self.adapter.inflight.drain(seconds), seconds)


@asynccontextmanager
async def open_rig(tmp_path: Path) -> AsyncIterator[DiscordRig]:
    """The rig, with discord.py's REST base pointed at the fake until it closes."""
    fake = FakeDiscord()
    base = discord.http.Route.BASE
    discord.http.Route.BASE = await fake.start()
    try:
        async with SimulatedProviders() as sims:
            bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
            adapter = DiscordAdapter(
                bench.router, store=bench.store, clock=bench.clock, guilds=(int(GUILD),)
            )
            await adapter.client.login("test-token")
            the_rig = DiscordRig(bench, fake, adapter)
            try:
                yield the_rig
            finally:
                await the_rig.adapter.close()  # a test may have restarted it
                await bench.store.close()
                for provider in bench.providers.values():
                    await provider.aclose()
    finally:
        discord.http.Route.BASE = base
        await fake.stop()
