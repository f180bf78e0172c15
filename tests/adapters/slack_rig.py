"""The Slack HTTP rig: the real adapter's Bolt app on loopback, real signed requests, a fake
Slack Web API that records what it received, the provider simulators and a SQLite file.

`open_rig` starts one; several on the same `tmp_path` share the SQLite file, like replicas of
one bot behind a load balancer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from adapters.slack.app import SlackAdapter
from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from tests.adapters.fake_slack import FakeSlack, blocks_text, slack_adapter
from tests.commands.conftest import Bench, make_bench

SECRET = "slack-signing-secret-for-tests"


def signed_headers(
    body: str, *, timestamp: int | str | None = None, secret: str = SECRET
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def default_users() -> dict[str, dict[str, Any]]:
    return {
        "UALICE": {"id": "UALICE", "profile": {"display_name": "Alice"}, "tz": "Europe/Berlin"},
        "UBOB": {"id": "UBOB", "profile": {"display_name": "Bob"}},
        "UADMIN": {"id": "UADMIN", "is_admin": True, "profile": {"display_name": "Ada"}},
    }


@dataclass
class SlackRig:
    bench: Bench
    fake: FakeSlack
    adapter: SlackAdapter
    url: str
    http: httpx.AsyncClient

    async def post(
        self, body: str, *, timestamp: int | str | None = None, secret: str = SECRET
    ) -> httpx.Response:
        headers = signed_headers(body, timestamp=timestamp, secret=secret)
        return await self.http.post(self.url, content=body, headers=headers)

    async def send(self, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
        """Post exactly these bytes with exactly these headers (a replay, a forgery)."""
        return await self.http.post(self.url, content=body, headers=headers)

    async def command(
        self, text: str, user: str = "UALICE", channel: str = "C1", team: str = "T1"
    ) -> httpx.Response:
        return await self.post(self.command_body(text, user, channel, team))

    def command_body(
        self, text: str, user: str = "UALICE", channel: str = "C1", team: str = "T1"
    ) -> str:
        return urlencode(
            {
                "command": "/meet",
                "text": text,
                "team_id": team,
                "user_id": user,
                "user_name": user.lower(),
                "channel_id": channel,
                "trigger_id": "1.2.3",
                "response_url": f"{self.fake.url}/respond/{user}",
            }
        )

    def click_body(
        self,
        action_id: str,
        meeting_id: str,
        user: str,
        channel: str = "C1",
        ts: str = "1700000000.000001",
    ) -> str:
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "channel": {"id": channel},
            "message": {"ts": ts},
            "response_url": f"{self.fake.url}/respond/{user}",
            "trigger_id": "1.2.3",
            "actions": [
                {
                    "action_id": action_id,
                    "value": meeting_id,
                    "type": "button",
                    "block_id": f"meet:{meeting_id}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    async def click(
        self,
        action_id: str,
        meeting_id: str,
        user: str,
        channel: str = "C1",
        ts: str = "1700000000.000001",
    ) -> httpx.Response:
        return await self.post(self.click_body(action_id, meeting_id, user, channel, ts))

    def dm_to(self, user: str) -> list[str]:
        """The DMs `user` got: posted to their user id, or to the DM conversations.open gave."""
        return [
            blocks_text(c.params)
            for c in self.fake.of("chat.postMessage")
            if c.params.get("channel") in (user, f"D{user}")
        ]


@asynccontextmanager
async def open_rig(
    tmp_path: Path,
    *,
    fake: FakeSlack | None = None,
    sims: SimulatedProviders | None = None,
) -> AsyncIterator[SlackRig]:
    """A running rig; pass the `fake` and `sims` of another rig to make a replica of it."""
    async with AsyncExitStack() as stack:
        if fake is None:
            fake = FakeSlack(users=default_users())
            await fake.start()
            stack.push_async_callback(fake.stop)
        if sims is None:
            sims = await stack.enter_async_context(SimulatedProviders())
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        stack.push_async_callback(bench.store.close)
        for provider in bench.providers.values():
            stack.push_async_callback(provider.aclose)
        adapter = slack_adapter(bench, fake, signing_secret=SECRET)
        port = await adapter.serve_http("127.0.0.1", 0)
        stack.push_async_callback(adapter.close)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        yield SlackRig(bench, fake, adapter, f"http://127.0.0.1:{port}/slack/events", http)


def response_texts(fake: FakeSlack) -> list[str]:
    return [str(c.params.get("text")) for c in fake.of("response_url")]


def link_in(message: str) -> str:
    found = re.search(r'"url": "([^"]+)"', message)
    assert found is not None, message
    return found.group(1)
