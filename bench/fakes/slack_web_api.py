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

`python bench/fakes/slack_web_api.py [options]` prints its base URL on the first line of
stdout and serves on 127.0.0.1 until SIGTERM/SIGINT. `GET /_fake/count` is the number of
accepted posts (cheap, for polling); `GET /_fake/stats` every accepted post as
[channel, unix time] and the 429s answered, by which limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class SlackWebApi:
    channels: dict[str, str]  # channel id -> workspace (team) id
    limits: Limits = field(default_factory=Limits)
    token_prefix: str = "xoxb-"  # noqa: S105 - the shape of a bot token, not one
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    posts: list[tuple[str, float]] = field(default_factory=list)
    limited: dict[str, int] = field(default_factory=lambda: {"channel": 0, "workspace": 0})
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    _ts: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
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
        params = await _params(request)
        channel = str(params.get("channel") or "")
        error = self._refusal(method, request.headers.get("Authorization", ""), channel)
        if error is not None:
            return _answer({"ok": False, "error": error})
        if method == "auth.test":
            return _answer({"ok": True, "user_id": "UBOT", "team_id": "T0000", "bot_id": "B1"})
        team = self.channels[channel]
        refused = self._admit(self._limits_of(method, channel, team))
        if refused is not None:
            # Slack's Retry-After is in whole seconds; a wait under one second still says 1.
            retry_after = max(1, math.ceil(refused[1]))
            return _answer(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        if method == "chat.update":
            return _answer({"ok": True, "channel": channel, "ts": params.get("ts")})
        self.posts.append((channel, self.wall()))
        self._ts += 1
        return _answer({"ok": True, "channel": channel, "ts": f"1700000000.{self._ts:06d}"})

    def _refusal(self, method: str, auth: str, channel: str) -> str | None:
        """Slack's error for a call it would not take, if any."""
        if not auth.startswith("Bearer " + self.token_prefix):
            return "invalid_auth"
        if method == "auth.test":
            return None
        if method not in ("chat.postMessage", "chat.update"):
            return "unknown_method"
        return None if channel in self.channels else "channel_not_found"

    def _limits_of(self, method: str, channel: str, team: str) -> list[tuple[str, Bucket]]:
        """The buckets a call must find a token in: chat.update's Tier 3 per workspace; a
        post's per channel and per workspace."""
        limits = self.limits
        if method == "chat.update":
            per_second = limits.update_per_minute / 60
            return [("update", self._bucket("update", team, per_second, limits.update_burst))]
        per_second = limits.workspace_per_minute / 60
        return [
            (
                "channel",
                self._bucket("channel", channel, limits.channel_per_second, limits.channel_burst),
            ),
            ("workspace", self._bucket("workspace", team, per_second, limits.workspace_burst)),
        ]

    async def _channels(self, _request: web.Request) -> web.Response:
        return web.json_response(sorted(self.channels.items()))

    async def _count(self, _request: web.Request) -> web.Response:
        return web.json_response({"posts": len(self.posts)})

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response({"posts": self.posts, "limited": self.limited})


def _answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    else:
        params.update({k: str(v) for k, v in (await request.post()).items()})
    return params


def directory(workspaces: int, channels: int) -> dict[str, str]:
    """`channels` channel ids spread evenly over `workspaces` workspaces, in blocks."""
    per = math.ceil(channels / workspaces)
    return {f"C{index:08d}": f"T{index // per:04d}" for index in range(channels)}


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
    api = SlackWebApi(directory(args.workspaces, args.channels), limits)
    asyncio.run(serve(api, args.port))


if __name__ == "__main__":
    main()
