"""A fake Slack Web API, run as its own process, that keeps Slack's published rate limits for
posting messages and counts every accepted post per channel with its wall-clock time.

Slack publishes (https://docs.slack.dev/reference/methods/chat.postMessage, "Rate limiting";
https://docs.slack.dev/apis/web-api/rate-limits): chat.postMessage "will generally allow an app
to post 1 message per second to a specific channel", "short bursts >1 allowed", and "there are
limits governing your app's relationship with the entire workspace above that, limiting posting
to several hundred messages per minute. Generous burst behavior is also granted." Past a limit
Slack answers HTTP 429 with `Retry-After` (whole seconds) and `{"ok": false, "error":
"ratelimited"}`. chat.update is Tier 3 ("50+ per minute", per workspace).

Slack gives no exact burst sizes, so they are knobs here, each a token bucket: per channel
1/s with a burst of 3; per workspace 300/min (the low reading of "several hundred") with a burst
of 50 (ten seconds' worth). A post is accepted only when both its channel's and its
workspace's bucket have a token. Channels belong to workspaces as this fake was told at start
(`--workspaces`, `--channels`: C00000000... spread evenly over T0000...); `GET /_fake/channels`
lists them, an unknown channel is `channel_not_found`, as Slack says for one the app cannot see.

People (`--users`: U00000000... spread over the workspaces as the channels are) can be looked
up (users.info, Tier 4: "100+ per minute"), have a DM opened (conversations.open, Tier 3:
"50+ per minute") and be sent a DM: chat.postMessage with `channel` set to their user id or
their D... id, under the same per-channel and per-workspace limits as a channel post. Slack
publishes no burst sizes for the tiers either: here a minute's worth. `--unlimited` turns every
limit off, for a bench that measures the bot rather than Slack's limits. `POST
/_respond/{key}` stands in for a command's response_url and records what was posted there.

`python bench/fakes/slack_web_api.py [options]` prints its base URL on the first line of
stdout and serves on 127.0.0.1 until SIGTERM/SIGINT. `GET /_fake/count` is the number of
accepted posts, DMs and response_url posts (cheap, for polling); `GET /_fake/stats` every
accepted post as [channel, unix time], every DM as [user, unix time], every response_url post
as [key, unix time], the calls by method and the 429s answered, by which limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web


@dataclass
class Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` kept."""

    rate: float
    burst: float
    tokens: float
    at: float

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: one is there now)."""
        if math.isinf(self.rate):
            return 0.0  # no limit (`--unlimited`)
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(frozen=True)
class Limits:
    channel_per_second: float = 1.0
    channel_burst: float = 3.0
    workspace_per_minute: float = 300.0
    workspace_burst: float = 50.0
    update_per_minute: float = 50.0  # chat.update: Tier 3
    update_burst: float = 10.0
    users_info_per_minute: float = 100.0  # users.info: Tier 4
    users_info_burst: float = 100.0
    open_per_minute: float = 50.0  # conversations.open: Tier 3
    open_burst: float = 50.0

    @classmethod
    def unlimited(cls) -> Limits:
        return cls(*([math.inf] * len(fields(cls))))


@dataclass
class SlackWebApi:
    channels: dict[str, str]  # channel id -> workspace (team) id
    limits: Limits = field(default_factory=Limits)
    token_prefix: str = "xoxb-"  # noqa: S105 - the shape of a bot token, not one
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    users: dict[str, str] = field(default_factory=dict)  # user id -> workspace (team) id
    posts: list[tuple[str, float]] = field(default_factory=list)
    dms: list[tuple[str, float]] = field(default_factory=list)
    responses: list[tuple[str, float]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    limited: dict[str, int] = field(default_factory=lambda: {"channel": 0, "workspace": 0})
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _ts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)  # slack_sdk GETs some
        app.router.add_post("/_respond/{key}", self._respond)
        app.router.add_get("/_fake/channels", self._channels)
        app.router.add_get("/_fake/count", self._count)
        app.router.add_get("/_fake/stats", self._stats)
        return app

    def _bucket(self, kind: str, key: str, rate: float, burst: float) -> Bucket:
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            bucket = Bucket(rate, burst, burst, self.clock())
            self._buckets[(kind, key)] = bucket
        return bucket

    def _admit(self, buckets: list[tuple[str, Bucket]]) -> tuple[str, float] | None:
        """Take a token from every bucket, or none: (the limit hit, seconds to wait)."""
        now = self.clock()
        for name, bucket in buckets:
            wait = bucket.wait(now)
            if wait > 0:
                self.limited[name] = self.limited.get(name, 0) + 1
                return name, wait
        for _name, bucket in buckets:
            bucket.take()
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        params = await _params(request)
        error = self._refusal(method, request.headers.get("Authorization", ""), params)
        if error is not None:
            return _answer({"ok": False, "error": error})
        unlimited: dict[str, dict[str, Any]] = {
            "auth.test": {"user_id": "UBOT", "team_id": "T0000", "bot_id": "B1"},
            "usergroups.list": {"usergroups": []},
        }
        if method in unlimited:
            return _answer({"ok": True, **unlimited[method]})
        refused = self._admit(self._limits_of(method, params))
        if refused is not None:
            # Slack's Retry-After is in whole seconds; a wait under one second still says 1.
            retry_after = max(1, math.ceil(refused[1]))
            return _answer(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        return _answer({"ok": True, **self._accepted(method, params)})

    def _accepted(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The answer to a call taken: what Slack says, and the post or DM counted."""
        if method == "users.info":
            return {"user": _person(str(params["user"]))}
        if method == "conversations.open":
            return {"channel": {"id": "D" + str(params["users"])[1:]}}
        channel = str(params["channel"])
        if method == "chat.update":
            return {"channel": channel, "ts": params.get("ts")}
        person = _dm_user(channel)
        if person is not None:
            self.dms.append((person, self.wall()))
        else:
            self.posts.append((channel, self.wall()))
        self._ts += 1
        return {"channel": channel, "ts": f"1700000000.{self._ts:06d}"}

    def _refusal(self, method: str, auth: str, params: dict[str, Any]) -> str | None:
        """Slack's error for a call it would not take, if any."""
        if not auth.startswith("Bearer " + self.token_prefix):
            return "invalid_auth"
        if method in ("auth.test", "usergroups.list"):
            return None
        if method == "users.info":
            return None if str(params.get("user")) in self.users else "user_not_found"
        if method == "conversations.open":
            return None if str(params.get("users")) in self.users else "user_not_found"
        if method not in ("chat.postMessage", "chat.update"):
            return "unknown_method"
        channel = str(params.get("channel") or "")
        return None if self._team_of(channel) is not None else "channel_not_found"

    def _team_of(self, channel: str) -> str | None:
        """The workspace of a channel, or of the person a DM (U... or D...) is with."""
        person = _dm_user(channel)
        return self.users.get(person) if person is not None else self.channels.get(channel)

    def _limits_of(self, method: str, params: dict[str, Any]) -> list[tuple[str, Bucket]]:
        """The buckets a call must find a token in: a tier's per workspace; a post's per
        channel (a DM's: per person) and per workspace."""
        limits = self.limits
        tiers = {
            "chat.update": ("update", limits.update_per_minute, limits.update_burst),
            "users.info": ("users.info", limits.users_info_per_minute, limits.users_info_burst),
            "conversations.open": ("conversations.open", limits.open_per_minute, limits.open_burst),
        }
        if method in tiers:
            name, per_minute, burst = tiers[method]
            if method == "chat.update":
                team = self._team_of(str(params["channel"]))
            else:
                team = self.users[str(params.get("user") or params.get("users"))]
            return [(name, self._bucket(name, str(team), per_minute / 60, burst))]
        channel = str(params["channel"])
        person = _dm_user(channel)
        where = person if person is not None else channel  # U... and D... are one DM
        team = str(self._team_of(channel))
        per_second = limits.workspace_per_minute / 60
        return [
            (
                "channel",
                self._bucket("channel", where, limits.channel_per_second, limits.channel_burst),
            ),
            ("workspace", self._bucket("workspace", team, per_second, limits.workspace_burst)),
        ]

    async def _respond(self, request: web.Request) -> web.Response:
        await request.read()
        self.responses.append((request.match_info["key"], self.wall()))
        return web.Response(text="ok")

    async def _channels(self, _request: web.Request) -> web.Response:
        return web.json_response(sorted(self.channels.items()))

    async def _count(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"posts": len(self.posts), "dms": len(self.dms), "responses": len(self.responses)}
        )

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "posts": self.posts,
                "dms": self.dms,
                "responses": self.responses,
                "calls": self.calls,
                "limited": self.limited,
            }
        )


def _answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "GET":
        return params
    if request.content_type == "application/json":
        params.update(await request.json())
    else:
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


def directory(workspaces: int, channels: int, prefix: str = "C") -> dict[str, str]:
    """`channels` channel ids (or user ids, `prefix` U) spread evenly over `workspaces`
    workspaces, in blocks."""
    per = math.ceil(channels / workspaces) if channels else 1
    return {f"{prefix}{index:08d}": f"T{index // per:04d}" for index in range(channels)}


def _dm_user(channel: str) -> str | None:
    """The person a DM is to: `channel` is their user id (U...) or their DM's id (D...)."""
    if channel[:1] == "U":
        return channel
    if channel[:1] == "D":
        return "U" + channel[1:]
    return None


def _person(user_id: str) -> dict[str, Any]:
    """What users.info tells about one of the fake's people."""
    number = user_id[1:].lstrip("0") or "0"
    return {
        "id": user_id,
        "name": f"student{number}",
        "real_name": f"Student {number}",
        "tz": "Europe/Berlin",
        "is_admin": False,
        "is_owner": False,
        "profile": {"display_name": f"Student {number}", "real_name": f"Student {number}"},
    }


async def serve(api: SlackWebApi, port: int) -> None:
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspaces", type=int, default=1)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--unlimited", action="store_true", help="answer no call with 429")
    parser.add_argument("--port", type=int, default=0)
    defaults = Limits()
    parser.add_argument("--channel-per-second", type=float, default=defaults.channel_per_second)
    parser.add_argument("--channel-burst", type=float, default=defaults.channel_burst)
    parser.add_argument("--workspace-per-minute", type=float, default=defaults.workspace_per_minute)
    parser.add_argument("--workspace-burst", type=float, default=defaults.workspace_burst)
    args = parser.parse_args()
    limits = Limits(
        channel_per_second=args.channel_per_second,
        channel_burst=args.channel_burst,
        workspace_per_minute=args.workspace_per_minute,
        workspace_burst=args.workspace_burst,
    )
    if args.unlimited:
        limits = Limits.unlimited()
    api = SlackWebApi(
        directory(args.workspaces, args.channels),
        limits,
        users=directory(args.workspaces, args.users, prefix="U"),
    )
    asyncio.run(serve(api, args.port))


if __name__ == "__main__":
    main()
