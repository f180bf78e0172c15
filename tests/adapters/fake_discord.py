"""A loopback fake of the Discord REST API and gateway, for the real discord.py client.

`discord.http.Route.BASE` is pointed here. It records every request (method, path, JSON body)
and answers with the shapes discord.py parses. `closed_dms` holds user ids whose DMs answer
403 code 50007; `members` maps (guild, user) to member payloads for REST member fetches.

Guild scheduled events are kept in `events` (id -> payload) and checked as Discord documents
them: an EXTERNAL event needs a location (1-100 characters) and an end after its start, a name
of 1-100 characters, and only SCHEDULED -> ACTIVE -> COMPLETED or SCHEDULED -> CANCELED. With
`clock` set, a start must be in the future, and events start and complete at their times by
themselves, as Discord does for external events. `refuse_events` answers every event call with
403 Missing Permissions (a bot invited without the permission).

A message with files comes as Discord takes it, multipart/form-data: its `payload_json` part
is recorded as the request's body, and each file part in `files` as (path, filename, bytes).

`/gateway/bot` names a websocket here that says HELLO, answers heartbeats, answers IDENTIFY
with READY (recorded as a request `GATEWAY IDENTIFY`), and sends whatever `dispatch` is given,
so a client started with `client.start(token)` runs exactly as it would against Discord.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

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
    refuse_login: bool = False  # answer the login call as Discord does a wrong token
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse_events: bool = False
    clock: Callable[[], datetime] | None = None
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(990000000000000001))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    _dm_channels: dict[str, str] = field(default_factory=dict)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/v10"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http", "ws", 1).replace("/api/v10", "/gateway")

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
        if request.content_type == "multipart/form-data":
            body = await self._multipart(path, request)
        elif request.can_read_body:
            body = (
                await request.json()
                if request.content_type == "application/json"
                else (await request.text())
            )
        await self._record(Request(request.method, path, body))
        if path == "/users/@me" and self.refuse_login:
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if path == "/gateway/bot":
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})
        parts = path.strip("/").split("/")
        if parts[0] == "guilds" and len(parts) in (3, 4) and parts[2] == "scheduled-events":
            return self._scheduled_event(request.method, parts[1], parts[3:], body)
        return self._answer(request.method, path, body)

    async def _multipart(self, path: str, request: web.Request) -> Any:
        """The JSON of a message sent with files; the files go to `files`."""
        body: Any = {}
        names = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            if part.name == "payload_json":
                body = json.loads(await part.text())
            else:
                names.append(part.filename or "")
                self.files.append((path, part.filename or "", bytes(await part.read())))
        if isinstance(body, dict):
            body["_files"] = names
        return body

    # -- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                if frame["op"] == 1:  # heartbeat
                    await socket.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif frame["op"] == 2:  # identify
                    await self._record(Request("GATEWAY", "IDENTIFY", frame["d"]))
                    ready = self._ready()
                    if "shard" in frame["d"]:  # a sharded client is told which shard it is
                        ready["shard"] = frame["d"]["shard"]
                    await self.dispatch("READY", ready)
        finally:
            self._sockets.remove(socket)
        return socket

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to every connected client."""
        frame = {"op": 0, "t": event, "s": next(self._sequence), "d": data}
        for socket in list(self._sockets):
            await socket.send_json(frame)

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": APP_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    async def _record(self, request: Request) -> None:
        self.requests.append(request)
        async with self._changed:
            self._changed.notify_all()

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

    # -- guild scheduled events ---------------------------------------------------------------

    def events_of(self, guild_id: str) -> list[dict[str, Any]]:
        """The guild's events as Discord holds them now (statuses moved on by `clock`)."""
        self._automate()
        return [e for e in self.events.values() if e["guild_id"] == guild_id]

    def _automate(self) -> None:
        """External events begin at their start and complete at their end by themselves."""
        if self.clock is None:
            return
        now = self.clock()
        for event in self.events.values():
            if event["status"] == 1 and _time(event["scheduled_start_time"]) <= now:
                event["status"] = 2
            if event["status"] == 2 and _time(event["scheduled_end_time"]) <= now:
                event["status"] = 3

    def _scheduled_event(
        self, method: str, guild_id: str, rest: list[str], body: Any
    ) -> web.Response:
        if self.refuse_events:
            return _json({"code": 50013, "message": "Missing Permissions"}, 403)
        self._automate()
        if not rest and method == "POST":
            return self._create_event(guild_id, body)
        event = self.events.get(rest[0]) if rest else None
        if event is None or event["guild_id"] != guild_id:
            return _json({"code": 10070, "message": "Unknown Guild Scheduled Event"}, 404)
        if method == "GET":
            return _json(event)
        if method == "DELETE":
            del self.events[event["id"]]
            return web.Response(status=204)
        return self._edit_event(event, body)

    def _create_event(self, guild_id: str, body: dict[str, Any]) -> web.Response:
        event = {
            "id": str(next(self._ids)),
            "guild_id": guild_id,
            "channel_id": None,
            "creator_id": BOT_USER["id"],
            "creator": BOT_USER,
            "description": None,
            "entity_id": None,
            "entity_metadata": None,
            "image": None,
            "user_count": 0,
            "status": 1,
        } | body
        problem = self._invalid_event(event, starts=True)
        if problem:
            return _invalid(problem)
        self.events[event["id"]] = event
        return _json(event)

    def _edit_event(self, event: dict[str, Any], body: dict[str, Any]) -> web.Response:
        if "status" in body and (event["status"], body["status"]) not in _STATUS_MOVES:
            return _invalid(f"status cannot go from {event['status']} to {body['status']}")
        if event["status"] != 1 and "scheduled_start_time" in body:
            return _invalid("the start of an event that began cannot change")
        changed = event | body
        problem = self._invalid_event(changed, starts="scheduled_start_time" in body)
        if problem:
            return _invalid(problem)
        self.events[event["id"]] = changed
        return _json(changed)

    def _invalid_event(self, event: dict[str, Any], *, starts: bool) -> str | None:
        """What Discord would refuse in `event` (`starts`: its start is being set)."""
        location = (event.get("entity_metadata") or {}).get("location") or ""
        start = _time(event["scheduled_start_time"])
        end = event.get("scheduled_end_time")
        checks = [
            (1 <= len(event.get("name") or "") <= 100, "name must be 1-100 characters"),
            (
                event.get("entity_type") == 3 and event.get("channel_id") is None,
                "meetbot makes EXTERNAL events only, without a channel",
            ),
            (1 <= len(location) <= 100, "an external event needs a location of 1-100 characters"),
            (len(event.get("description") or "") <= 1000, "description: at most 1000 characters"),
            (bool(end), "an external event needs scheduled_end_time"),
            (not end or _time(end) > start, "the end must be after the start"),
            (
                not starts or self.clock is None or start > self.clock(),
                "Cannot schedule event in the past",
            ),
        ]
        return next((problem for fine, problem in checks if not fine), None)

    def _message(self, channel_id: str, body: Any, message_id: str | None = None) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        return {
            "id": message_id or str(next(self._ids)),
            "channel_id": channel_id,
            "content": body.get("content", ""),
            "author": BOT_USER,
            "embeds": body.get("embeds", []),
            "attachments": [
                {
                    "id": str(next(self._ids)),
                    "filename": name,
                    "size": 0,
                    "url": f"{self.url}/attachments/{name}",
                    "proxy_url": f"{self.url}/attachments/{name}",
                }
                for name in body.get("_files", [])
            ],
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


# Discord's valid status transitions: SCHEDULED -> ACTIVE -> COMPLETED, SCHEDULED -> CANCELED.
_STATUS_MOVES = {(1, 2), (2, 3), (1, 4)}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _invalid(problem: str) -> web.Response:
    return _json({"code": 50035, "message": f"Invalid Form Body: {problem}"}, 400)


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


def interaction(
    interaction_id: str, who: tuple[str, str], guild: str, channel: str, permissions: int = 0
) -> dict[str, Any]:
    """What every interaction payload in a guild channel carries, as the gateway sends it."""
    return {
        "id": interaction_id,
        "application_id": APP_ID,
        "token": f"tok{interaction_id}",
        "version": 1,
        "guild_id": guild,
        "channel_id": channel,
        "channel": {
            "id": channel,
            "type": 0,
            "guild_id": guild,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": member(who[0], who[1], permissions),
        "app_permissions": "0",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 8388608,
    }


def in_direct_message(
    payload: dict[str, Any], who: tuple[str, str], dm_channel: str
) -> dict[str, Any]:
    """`payload` as Discord sends it from a DM with the bot: no guild, no member, a `user`."""
    moved = {k: v for k, v in payload.items() if k not in ("guild_id", "member")}
    channel = {"id": dm_channel, "type": 1}
    return moved | {
        "user": user(who[0], who[1]),
        "channel_id": dm_channel,
        "channel": channel,
        "context": 1,
    }


def meet_command(
    interaction_id: str,
    sub: str,
    options: dict[str, Any],
    who: tuple[str, str],
    guild: str,
    channel: str,
    permissions: int = 0,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """A `/meet SUB` slash command interaction with typed options; with `focused`, the
    autocomplete request Discord sends while that option is being typed."""
    return interaction(interaction_id, who, guild, channel, permissions) | {
        "type": 2 if focused is None else 4,
        "data": {
            "id": "9000",
            "name": "meet",
            "type": 1,
            "options": [
                {
                    "type": 1,
                    "name": sub,
                    "options": [
                        {"type": _option_type(v), "name": k, "value": v}
                        | ({"focused": True} if k == focused else {})
                        for k, v in options.items()
                    ],
                }
            ],
        },
    }


def _option_type(value: object) -> int:
    # Discord's option types: 5 boolean, 4 integer, 3 string.
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
