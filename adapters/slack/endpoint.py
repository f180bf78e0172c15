"""The HTTP endpoint of Slack's HTTP mode: our checks in front of Bolt's dispatch.

Every request passes the `RequestGate` (well-formed signing headers, a signature that verifies
and was never seen before), then `payloads.read` (a shape we serve), and only then reaches
Bolt, whose own signature check stays on behind ours. Bolt parses a body before it verifies
it, so anything it cannot read would otherwise be a 500 and an ERROR traceback for anyone to
provoke; here it is a 401 (unsigned) or a 400 (signed, but not ours), with one quiet line.

A slash command for `/meet` (most of a burst: a class pressing Join) is then acked here and
handed to the adapter's `commands` callback, without Bolt's dispatch: the gate has done what
Bolt's middleware would (the signature; the token was checked at start), and Bolt's request
object, middleware chain and listener matching cost a third of an ack's CPU. Everything else
(buttons, the Events API handshake, SSL checks, a command without a response_url) goes
through Bolt.

Each request is served under a request id of its own (the gate's lines carry it, and the
listener's task inherits it), and the moment it came in rides in Bolt's context (`RECEIVED`),
for the listener to measure its ack against.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack import payloads
from adapters.slack.gate import Refusal, RequestGate
from commands.requestid import request_scope
from commands.store import MeetingStore

# Slack's interaction payloads carry the message they came from: tens of kilobytes at most.
MAX_BODY_BYTES = 1024 * 1024
RECEIVED = "meetbot_received"  # Bolt context key: time.monotonic() when the request came in

# A slash command, acked: (its form fields, time.monotonic() when the request came in).
TakeCommand = Callable[[dict[str, Any], float], Awaitable[None]]


class HttpEndpoint:
    def __init__(
        self,
        app: AsyncApp,
        store: MeetingStore,
        signing_secret: str,
        command: str,
        wall_clock: Callable[[], float],
        *,
        commands: TakeCommand | None = None,
    ) -> None:
        self.app = app
        self.commands = commands
        self.store = store
        self.signing_secret = signing_secret
        self.command = command
        # Signatures are checked against real time (as Slack signs), not the meeting clock.
        self.wall_clock = wall_clock
        self._gate: RequestGate | None = None
        self._gate_store: MeetingStore | None = None
        self._runner: web.AppRunner | None = None

    async def prepare(self) -> None:
        """Ready to answer requests (the replay gate), whoever listens for them."""
        if self._gate is not None:
            return
        # Every request waits for its claim before the ack: on connections of its own, so a
        # burst of joins writing their log cannot make the claims queue for one.
        self._gate_store = await self.store.with_own_connections()
        self._gate = RequestGate(self.signing_secret, self._gate_store, clock=self.wall_clock)

    @property
    def ready(self) -> bool:
        """Requests can be checked and served."""
        return self._gate is not None

    async def start(self, host: str, port: int, path: str) -> int:
        """Listen on `host`:`port` (0 picks one) at `path`; returns the port."""
        await self.prepare()
        web_app = web.Application(client_max_size=MAX_BODY_BYTES)
        web_app.router.add_post(path, self.handle)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._gate is not None:
            await self._gate.close()
        if self._gate_store is not None:
            await self._gate_store.close()
            self._gate_store = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One request to the endpoint (from its own listener, or a server it shares)."""
        received = time.monotonic()
        with request_scope():
            return await self._handle(request, received)

    async def _handle(self, request: web.Request, received: float) -> web.StreamResponse:
        gate = self._gate
        assert gate is not None  # set before the server starts
        body = await request.read()
        refusal = await gate.check(
            body,
            _single(request, "X-Slack-Request-Timestamp"),
            _single(request, "X-Slack-Signature"),
        )
        if refusal is not None:
            # X-Slack-No-Retry: a refused delivery is not worth Slack's retries (Events API).
            return web.json_response(
                {"error": "invalid request"},
                status=refusal.status,
                headers={"X-Slack-No-Retry": "1"},
            )
        text = body.decode("utf-8")  # the gate has checked that it is UTF-8
        content_type = request.headers.get("Content-Type")
        content_type = content_type.split(";")[0] if content_type else None  # as Bolt reads it
        try:
            parsed = payloads.read(text, content_type, self.command)
        except payloads.Unreadable as error:
            gate.notes.note(Refusal(400, str(error), logging.WARNING))
            return web.json_response({"error": "unsupported request"}, status=400)
        if (
            self.commands is not None
            and parsed.get("command") == self.command
            and parsed.get("response_url")
        ):
            await self.commands(parsed, received)
            return web.Response(status=200)  # the empty ack, as Bolt's ack() answers it
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=dict(request.headers)
        )
        if bolt_request.body != parsed:
            # Bolt misread it (a command that says "payload"): give it the right reading.
            bolt_request.body = parsed
            bolt_request.context = build_async_context(AsyncBoltContext(), parsed)
        bolt_request.context[RECEIVED] = received
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))


def _single(request: web.Request, header: str) -> str | None:
    """The header's one value; None when it is missing or sent more than once."""
    values = request.headers.getall(header, [])
    return values[0] if len(values) == 1 else None
