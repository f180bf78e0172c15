"""Socket Mode: the same /meet listener, driven through a loopback fake Socket Mode server."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from tests.adapters.fake_slack import FakeSlack, blocks_text, slack_adapter
from tests.commands.conftest import make_bench


async def test_slash_command_over_socket_mode(tmp_path):
    fake = FakeSlack()
    await fake.start()
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        adapter = slack_adapter(bench, fake, app_token="xapp-test")
        try:
            await adapter.connect_socket_mode()
            opened = fake.of("apps.connections.open")
            assert opened[0].authorization == "Bearer xapp-test"
            await fake.envelopes.put(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": {
                        "command": "/meet",
                        "text": "create Socket class --provider liveminutes",
                        "team_id": "T1",
                        "user_id": "UALICE",
                        "user_name": "alice",
                        "channel_id": "C1",
                        "response_url": f"{fake.url}/respond/UALICE",
                        "trigger_id": "1.2.3",
                        "api_app_id": "A1",
                    },
                }
            )
            await fake.wait_until(
                lambda: any(
                    c.params.get("channel") == "UALICE" for c in fake.of("chat.postMessage")
                )
            )
            assert fake.socket_acks[0]["envelope_id"] == "env-1"
            dm = next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "UALICE")
            link = re.search(r'"url": "([^"]+)"', blocks_text(dm.params)).group(1)  # type: ignore[union-attr]
            assert urlsplit(link).path.startswith("/e/LIVE")
            assert parse_qs(urlsplit(link).query) == {}
            card = next(c for c in fake.of("chat.postMessage") if c.params["channel"] == "C1")
            assert "Socket class" in blocks_text(card.params)
        finally:
            await adapter.close()
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()
    await fake.stop()
