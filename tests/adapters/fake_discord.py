"""A loopback fake of the Discord REST API, for the real discord.py client.

`discord.http.Route.BASE` is pointed here. It records every request (method, path, JSON body)
and answers with the shapes discord.py parses. `closed_dms` holds user ids whose DMs answer
403 code 50007; `members` maps (guild, user) to member payloads for REST member fetches.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = "880000000000000001"
BOT_USER = {
    "id": "880000000000000002",
    "username": "meetbot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
}


@dataclass
class Request:
    method: str
    path: str
    body: Any


@dataclass
class FakeDiscord:
    closed_dms: set[str] = field(default_factory=set)
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(990000000000000001))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    _dm_channels: dict[str, str] = field(default_factory=dict)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/v10"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def find(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def messages_to(self, channel_id: str) -> list[dict[str, Any]]:
        return [r.body for r in self.find("POST", f"/channels/{channel_id}/messages")]

    def dm_channel(self, user_id: str) -> str:
        return self._dm_channels.get(user_id, str(800000000000000000 + int(user_id)))

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 10) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(condition)

        await asyncio.wait_for(wait(), seconds)

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            body = (
                await request.json()
                if request.content_type == "application/json"
                else (await request.text())
            )
        self.requests.append(Request(request.method, path, body))
        async with self._changed:
            self._changed.notify_all()
        return self._answer(request.method, path, body)

    def _answer(self, method: str, path: str, body: Any) -> web.Response:  # noqa: PLR0911
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "meetbot",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "verify_key": "00",
                    "flags": 0,
                    "owner": BOT_USER,
                    "team": None,
                }
            )
        if parts[0] == "applications" and method == "PUT":
            return _json(
                [
                    {**c, "id": str(next(self._ids)), "application_id": APP_ID, "version": "1"}
                    for c in body
                ]
            )
        if parts[0] == "interactions":
            return _json(
                {
                    "interaction": {
                        "id": parts[1],
                        "type": 2,
                        "response_message_id": str(next(self._ids)),
                        "response_message_loading": True,
                        "response_message_ephemeral": True,
                    }
                }
            )
        if parts[0] == "webhooks":
            if method == "DELETE":
                return web.Response(status=204)
            return _json(self._message("0", body))
        if path == "/users/@me/channels":
            recipient = str(body["recipient_id"])
            channel = self._dm_channels.setdefault(recipient, self.dm_channel(recipient))
            return _json(
                {
                    "id": channel,
                    "type": 1,
                    "recipients": [
                        {"id": recipient, "username": "u", "discriminator": "0", "avatar": None}
                    ],
                }
            )
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            dm_user = next((u for u, c in self._dm_channels.items() if c == parts[1]), None)
            if dm_user is not None and dm_user in self.closed_dms:
                return _json({"code": 50007, "message": "Cannot send messages to this user"}, 403)
            return _json(self._message(parts[1], body))
        if parts[0] == "channels" and method == "PATCH":
            return _json(self._message(parts[1], body, parts[3]))
        if parts[0] == "guilds" and len(parts) == 4 and parts[2] == "members":
            member = self.members.get((parts[1], parts[3]))
            return (
                _json(member)
                if member
                else _json({"code": 10007, "message": "Unknown Member"}, 404)
            )
        if parts[0] == "guilds" and len(parts) == 2:
            return _json(guild_payload(parts[1]))
        return _json({"code": 0, "message": f"fake has no {method} {path}"}, 404)

    def _message(self, channel_id: str, body: Any, message_id: str | None = None) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        return {
            "id": message_id or str(next(self._ids)),
            "channel_id": channel_id,
            "content": body.get("content", ""),
            "author": BOT_USER,
            "embeds": body.get("embeds", []),
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": "2026-11-25T08:00:00+00:00",
            "edited_timestamp": None,
            "flags": 0,
            "components": [],
            "type": 0,
        }


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses JSON only when the content type is exactly application/json (aiohttp's
    # json_response would append "; charset=utf-8").
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def guild_payload(guild_id: str) -> dict[str, Any]:
    return {
        "id": guild_id,
        "name": "School",
        "icon": None,
        "owner_id": "1",
        "roles": [],
        "emojis": [],
        "features": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "system_channel_flags": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "stickers": [],
    }


def user(user_id: str, name: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "avatar": None,
        "global_name": name,
    }


def member(user_id: str, name: str, permissions: int = 0) -> dict[str, Any]:
    return {
        "user": user(user_id, name),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(permissions),
        "nick": None,
    }
