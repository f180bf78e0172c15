"""The inbound HTTP server (`server.port`): provider callbacks, `/healthz`, `/readyz`,
`/metrics`, and Slack's endpoint when Slack runs in HTTP mode (one port for all, behind one
proxy rule).

One small aiohttp app. A callback is checked by the command layer (`commands.lifecycle`) and
what it changes is shown in chat through the platform's adapter, like any post of the clock's.
Refusals are a status and one short log line, never a traceback: anyone can send them.

    GET  /healthz                                      200 "ok": the process is alive
    GET  /readyz                                       200, or 503 and what is not ready (JSON)
    GET  /metrics                                      Prometheus' text format (bot.metrics)
    GET  /callbacks/{provider}/{meeting}/ended?token=  a meeting ended on the provider
    POST /callbacks/{provider}/{meeting}/recording     a recording is ready (signed_parameters)
    POST {slack.path}                                  Slack's signed requests (HTTP mode)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics
from bot.readiness import Readiness
from bot.scheduler import Announcer, show
from commands.lifecycle.callbacks import CallbackRefused, ProviderCallbacks
from commands.model import Platform
from commands.schedule.jobs import Post

log = logging.getLogger("meetbot.server")

MAX_BODY_BYTES = 64 * 1024  # a signed recording callback is a few hundred bytes
SLACK_MAX_BODY_BYTES = 1024 * 1024  # Slack's interaction payloads: tens of kilobytes at most

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InboundServer:
    def __init__(
        self,
        callbacks: ProviderCallbacks | None = None,
        announcers: Mapping[Platform, Announcer] | None = None,
        *,
        slack_path: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # Both may be given once the server runs: its port goes into the callback URLs that
        # the service hands to providers, so the service is built after the server started.
        self.callbacks = callbacks
        self.announcers: Mapping[Platform, Announcer] = announcers or {}
        # Slack's endpoint, served at `slack_path` once the Slack adapter has started.
        self.slack_path = slack_path
        self.slack: Handler | None = None
        self.metrics = metrics or Metrics()
        # Set by whoever opened the store (after the server started); not ready until then.
        self.readiness: Readiness | None = None
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        size = SLACK_MAX_BODY_BYTES if self.slack_path else MAX_BODY_BYTES
        app = web.Application(client_max_size=size)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        if self.slack_path:
            app.router.add_post(self.slack_path, self._slack)
        app.router.add_get("/callbacks/{provider}/{meeting}/ended", self._ended)
        app.router.add_post("/callbacks/{provider}/{meeting}/recording", self._recording)
        return app

    async def start(self, host: str, port: int) -> int:
        """Listen on `host`:`port` (0 picks one); returns the port."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        return int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _slack(self, request: web.Request) -> web.StreamResponse:
        if self.slack is None:
            # Not started yet (the adapter starts after the server): Slack retries.
            return web.json_response({"error": "starting"}, status=503)
        return await self.slack(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self.readiness is None:
            return web.json_response({"ready": False, "not_ready": {"bot": "starting"}}, status=503)
        problems = await self.readiness.problems()
        if problems:
            return web.json_response({"ready": False, "not_ready": problems}, status=503)
        return web.json_response({"ready": True})

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    async def _ended(self, request: web.Request) -> web.Response:
        provider, meeting = request.match_info["provider"], request.match_info["meeting"]
        if self.callbacks is None:
            return web.Response(status=503, text="starting")
        try:
            post = await self.callbacks.ended(provider, meeting, request.query.get("token", ""))
        except CallbackRefused as refused:
            return _refusal(refused, "end", provider)
        if post is not None:
            await self._show(post)
        return web.Response(text="ok")

    async def _recording(self, request: web.Request) -> web.Response:
        provider, meeting = request.match_info["provider"], request.match_info["meeting"]
        form = await request.post()
        signed = form.get("signed_parameters")
        if not isinstance(signed, str) or not signed:
            return _refusal(CallbackRefused(401, "no signed_parameters"), "recording", provider)
        if self.callbacks is None:
            return web.Response(status=503, text="starting")
        try:
            recording = await self.callbacks.recording_ready(provider, meeting, signed)
        except CallbackRefused as refused:
            return _refusal(refused, "recording", provider)
        if recording is not None:
            if await self._show(recording.post):
                await self.callbacks.posted(recording)
            else:
                await self.callbacks.failed(recording)  # the next poll posts it
        return web.Response(text="ok")

    async def _show(self, post: Post) -> bool:
        announcer = self.announcers.get(post.meeting.tenant.platform)
        if announcer is None:
            return False
        try:
            await show(announcer, post)
        except Exception:
            # The record is right; only the chat could not be told (a deleted card).
            log.exception("could not show a callback's post for meeting %s", post.meeting.id)
            return False
        return True


def _refusal(refused: CallbackRefused, kind: str, provider: str) -> web.Response:
    log.info("%s callback from %s refused (%d): %s", kind, provider, refused.status, refused.reason)
    return web.Response(status=refused.status, text=_WORDS.get(refused.status, "refused"))


_WORDS = {401: "unauthorized", 404: "not found", 503: "not yet"}
