"""A loopback fake of the Slack Web API (and of response_url), recording every call.

Scriptable: `errors[method] = "not_in_channel"` answers ok=false; `rate_limit[method] = n`
answers the next n calls with 429 and Retry-After: 0, `rate_limit_channels[channel] = n` the
next n posts to that channel; `channel_errors[channel] = "channel_not_found"` answers
posts to that channel (a user id: a DM) ok=false; `users` holds users.info records;
`groups` the user groups. `calls` lists (method, params) in order; `wait_until` waits for a
condition on them (each request wakes it), bounded by a timeout.

Files go as `files_upload_v2` sends them: `files.getUploadURLExternal` hands out an id and an
upload URL here, the bytes are POSTed to it (kept in `uploads`, by file id), and
`files.completeUploadExternal` shares them (recorded like any call).

`hold()` keeps every post that arrives waiting, unanswered and not yet recorded (`held` counts
them), until `release()`: a post whose client went away meanwhile (a process killed) is
dropped, as a post that never reached Slack.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.slack.app import SlackAdapter
from bot.simulated import SimulatedProviders
from commands.policy import RolePolicy, RolePolicyConfig
from tests.commands.conftest import Bench, make_bench


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    authorization: str | None
    peer: object = None  # the client's address: which connection the call came on


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    rate_limit: dict[str, int] = field(default_factory=dict)
    rate_limit_channels: dict[str, int] = field(default_factory=dict)
    channel_errors: dict[str, str] = field(default_factory=dict)
    limited: int = 0  # 429s answered
    calls: list[Call] = field(default_factory=list)
    socket_url: str | None = None
    envelopes: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    held: int = 0  # posts waiting now
    _holding: asyncio.Event | None = None
    _ts: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{hook}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.socket_url = self.url.replace("http://", "ws://") + "/socket"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def hold(self) -> None:
        self._holding = asyncio.Event()

    def release(self) -> None:
        if self._holding is not None:
            self._holding.set()
        self._holding = None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 10) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        await asyncio.wait_for(wait(), seconds)

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            pass
        elif request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        return params

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, push queued envelopes, record the client's acks."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})

        async def push() -> None:
            while True:
                await socket.send_json(await self.envelopes.get())

        pusher = asyncio.create_task(push())
        try:
            async for message in socket:
                if message.type.name == "TEXT":
                    self.socket_acks.append(json.loads(message.data))
                    await self._record(Call("socket_ack", self.socket_acks[-1], None))
        finally:
            pusher.cancel()
        return socket

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        await self._record(Call("upload", {"file_id": file_id}, None))
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        await self._record(Call("response_url", body, None, peer))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        holding = self._holding
        if method == "chat.postMessage" and holding is not None:
            self.held += 1
            await self._notify()
            await holding.wait()
            self.held -= 1
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # its client is gone: never posted
        peer = request.transport.get_extra_info("peername") if request.transport else None
        await self._record(Call(method, params, request.headers.get("Authorization"), peer))
        channel = str(params.get("channel"))
        if method == "chat.postMessage" and self.rate_limit_channels.get(channel, 0) > 0:
            self.rate_limit_channels[channel] -= 1
            self.limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            self.limited += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        if method == "chat.postMessage" and channel in self.channel_errors:
            return web.json_response({"ok": False, "error": self.channel_errors[channel]})
        answer = self._answer(method, params)
        return web.json_response({"ok": True, **answer})

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in ("chat.postMessage", "chat.update"):
            self._ts += 1
            return {"channel": params.get("channel"), "ts": f"1700000000.{self._ts:06d}"}
        if method == "files.getUploadURLExternal":
            self._ts += 1
            file_id = f"F{self._ts:06d}"
            return {"file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            listed = json.loads(files) if isinstance(files, str) else files or []
            return {"files": [{"id": f["id"], "title": f.get("title")} for f in listed]}
        user_id = str(params.get("user") or params.get("users"))
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {"user_id": "UBOT", "team_id": "T1", "bot_id": "BBOT", "user": "meetbot"},
            "users.info": {"user": self.users.get(user_id, {"id": user_id, "name": user_id})},
            "usergroups.list": {"usergroups": self.groups},
            "conversations.open": {"channel": {"id": "D" + user_id}},
            "apps.connections.open": {"url": self.socket_url},
        }
        return answers.get(method, {})


def blocks_text(params: dict[str, Any]) -> str:
    """Everything a message shows: its text and all its block texts, for assertions."""
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps({"text": params.get("text"), "blocks": blocks}, ensure_ascii=False)


def slack_adapter(
    bench: Bench, fake: FakeSlack, *, signing_secret: str = "s", app_token: str | None = None
) -> SlackAdapter:
    """The real Slack adapter on the bench's command layer, talking to `fake`."""
    return SlackAdapter(
        bench.router,
        store=bench.store,
        cards=bench.service,
        bot_token="xoxb-test",
        signing_secret=signing_secret,
        app_token=app_token,
        clock=bench.clock,
        api_url=fake.url + "/api/",
    )


@asynccontextmanager
async def slack_bench(tmp_path: Path) -> AsyncIterator[tuple[Bench, FakeSlack, SlackAdapter]]:
    """A bench on the simulators, the fake Slack, and the real adapter between them."""
    fake = FakeSlack()
    await fake.start()
    async with SimulatedProviders() as sims:
        bench = await make_bench(tmp_path, sims, RolePolicy(RolePolicyConfig()))
        adapter = slack_adapter(bench, fake)
        try:
            yield bench, fake, adapter
        finally:
            await adapter.close()
            await bench.store.close()
            for provider in bench.providers.values():
                await provider.aclose()
    await fake.stop()
