"""The Slack app: one `/meet` listener and the card buttons, on Bolt's AsyncApp.

Every listener acks first, before any I/O (Slack allows 3 seconds), then hands the rest to a
bounded pool (`adapters._pool`) without waiting for it, so acks stay fast while the work
queues: map the payload to a `ChatUser` and `Conversation`, run the command layer, deliver the
replies. While a burst of requests is still coming in, the work waits for a lull
(`adapters._lull`). HTTP mode serves the signed endpoint (`endpoint.py`: signature, replay
and shape checks before Bolt; it acks a `/meet` command itself, past Bolt's dispatch); Socket
Mode needs neither those checks (the socket is authenticated) nor a public URL. 429 answers
are retried after Retry-After. The posts (cards, reminders, DMs), users.info and the answers
on a command's response_url go through `webapi.SlackWebApi` on kept-alive connections, the
rest of the Web API through slack_sdk on one shared HTTP session, opened on first use:
slack_sdk alone would open and close a session, and a TCP connection, per call.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters._lull import Lull
from adapters._pool import DEFAULT_SIZE, WorkPool
from adapters.slack.blocks import ACTION_BY_ID
from adapters.slack.delivery import CardBook, Respond, SlackDelivery
from adapters.slack.endpoint import RECEIVED, HttpEndpoint
from adapters.slack.people import SlackPeople
from adapters.slack.preflight import (
    DEFAULT_API_URL,
    SlackSetupError,
    verify_app_token,
    verify_bot_token,
)
from adapters.slack.webapi import SlackWebApi
from commands.model import Conversation, Meeting, Platform, Tenant
from commands.replies import ButtonAction, Reply
from commands.requestid import adopt_request_id, current_request_id, new_request_id
from commands.router import CommandRouter
from commands.store import MeetingStore

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger("meetbot.slack")

API_TIMEOUT = 30  # seconds per Web API call, slack_sdk's own default

#: the work after an ack: `_run_command` or `_run_button`, given the body, a client, the answerer
Work = Callable[[dict[str, Any], AsyncWebClient, Respond], Awaitable[None]]


class SlackAdapter:
    """/meet in Slack. `serve_http` for HTTP mode, `connect_socket_mode` for Socket Mode."""

    def __init__(
        self,
        router: CommandRouter,
        *,
        store: MeetingStore,
        cards: CardBook,
        bot_token: str,
        signing_secret: str,
        clock: Callable[[], datetime],
        app_token: str | None = None,
        api_url: str | None = None,
        command: str = "/meet",
        people: SlackPeople | None = None,
        wall_clock: Callable[[], float] = time.time,
        workers: int = DEFAULT_SIZE,
    ) -> None:
        self.router = router
        self.command = command
        self.app_token = app_token
        self.web = SlackWebApi(api_url or DEFAULT_API_URL, bot_token, timeout=API_TIMEOUT)
        self.people = people or SlackPeople(web=self.web)
        self.delivery = SlackDelivery(store, cards, clock, self.web, router.telemetry)
        client = AsyncWebClient(
            token=bot_token,
            base_url=_with_slash(api_url or DEFAULT_API_URL),
            timeout=API_TIMEOUT,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        # Bolt copies base_url and retry handlers from this client into every request's client.
        # process_before_response: Bolt runs a listener inline and answers when it returns,
        # which ours do right after ack(), handing the work to the pool. Otherwise Bolt runs
        # each listener in a task of its own and polls every 10 ms for its ack: under a burst,
        # a timer per waiting request and at least 10 ms on every ack. A name given: without
        # one Bolt takes its caller's file name from inspect.stack(), which reads the source
        # of every frame (tenths of a second at start).
        self.app = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            logger=log,
            name="meetbot",
            process_before_response=True,
        )
        self.app.use(self._arrived)
        self.app.command(command)(self._on_command)
        self.app.action("meet_join")(self._on_button)
        self.app.action("meet_end")(self._on_button)
        for recording_action in (
            "meet_recording_publish",
            "meet_recording_unpublish",
            "meet_recording_delete",
        ):
            self.app.action(recording_action)(self._on_button)
        self.app.action("meet_open")(self._on_open)
        # Last: a button of an older card, or any action not ours, is acked (Slack would show
        # the user an error otherwise) and does nothing.
        self.app.action(re.compile(".*"))(self._on_open)
        self.store = store
        self.signing_secret = signing_secret
        # Signatures are checked against real time (as Slack signs), not the meeting clock.
        self.wall_clock = wall_clock
        self._endpoint: HttpEndpoint | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._verified = False
        # While a burst of (verified) requests comes in, its work waits: acks go first.
        self._lull = Lull()
        self._pool = WorkPool(workers, self._lull)

    # -- listeners ----------------------------------------------------------------------------

    async def _arrived(
        self,
        context: dict[str, Any],
        next: Callable[[], Awaitable[None]],  # Bolt passes it by this name
    ) -> None:
        """Every request, before its listener: a request id and the moment it came in, unless
        the HTTP endpoint gave both already (Socket Mode: here, so its listener task, which
        Bolt starts after this, inherits the id)."""
        context.setdefault(RECEIVED, time.monotonic())
        self._lull.arrived()
        if current_request_id() is None:
            # Socket Mode runs each request in a task of its own: set for that task only.
            adopt_request_id()
        await next()

    def _acked(self, context: dict[str, Any]) -> None:
        received = context.get(RECEIVED)
        if isinstance(received, float):
            self.router.telemetry.acked(Platform.SLACK, time.monotonic() - received)

    async def _on_command(
        self,
        ack: Any,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        context: dict[str, Any],
    ) -> None:
        await ack()  # before any I/O: the 3-second deadline
        self._acked(context)
        self._hand_over(
            "command", self._run_command, body, client, self._respond_for(body, respond)
        )

    async def _take_command(self, body: dict[str, Any], received: float) -> None:
        """A slash command the HTTP endpoint acks itself (no Bolt dispatch): as `_on_command`,
        with the app's client (Bolt would hand the listener a copy of it) and the answers on
        the command's response_url."""
        self._lull.arrived()
        self._acked({RECEIVED: received})
        answer = self.web.responder(str(body["response_url"]))
        self._hand_over("command", self._run_command, body, self.app.client, answer)

    def _hand_over(
        self,
        what: str,
        run: Work,
        body: dict[str, Any],
        client: AsyncWebClient,
        answer: Respond,
    ) -> None:
        """The work of an acked command or click, to the pool (the listener goes on)."""
        self._pool.submit(lambda: self._work(what, run, body, client, answer))

    async def _work(
        self,
        what: str,
        run: Work,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
    ) -> None:
        """The work after the ack of a command or a click, in the pool's slot."""
        try:
            await run(body, client, respond)
        except Exception:
            # After the ack the user must still hear back, whatever failed.
            await self._apologize(respond, what)

    def _respond_for(self, body: dict[str, Any], bolt_respond: Respond) -> Respond:
        """Answers on the request's response_url, on the shared session (Bolt's own `respond`
        opens a session, and a connection, per answer); Bolt's when there is no URL."""
        url = body.get("response_url")
        return self.web.responder(url) if isinstance(url, str) and url else bolt_respond

    async def _run_command(
        self, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        team_id = str(body.get("team_id") or "")
        user = await self.people.user(
            client, team_id, str(body.get("user_id")), body.get("user_name")
        )
        where = Conversation(Tenant(Platform.SLACK, team_id), str(body.get("channel_id")))
        router = self._router_for(client)
        replies = await router.dispatch(user, where, str(body.get("text") or ""))
        await self.delivery.deliver(
            replies, client=client, respond=respond, invoker=user, channel_id=where.channel_id
        )

    async def _on_button(
        self,
        ack: Any,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: Respond,
        context: dict[str, Any],
    ) -> None:
        await ack()
        self._acked(context)
        self._hand_over("button", self._run_button, body, client, self._respond_for(body, respond))

    async def _run_button(
        self, body: dict[str, Any], client: AsyncWebClient, respond: Respond
    ) -> None:
        action = (body.get("actions") or [{}])[0]
        kind = ACTION_BY_ID.get(str(action.get("action_id")))
        meeting_id, _, value = str(action.get("value") or "").partition(":")
        team_id = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id"))
        channel_id = str((body.get("channel") or {}).get("id") or "")
        slack_user = body.get("user") or {}
        user = await self.people.user(
            client, team_id, str(slack_user.get("id")), slack_user.get("username")
        )
        if kind is None or kind is ButtonAction.OPEN or not meeting_id:
            return
        where = Conversation(Tenant(Platform.SLACK, team_id), channel_id)
        replies = await self._router_for(client).click(user, where, kind, meeting_id, value or None)
        await self.delivery.deliver(
            replies, client=client, respond=respond, invoker=user, channel_id=channel_id
        )

    @staticmethod
    async def _apologize(respond: Respond, what: str) -> None:
        reference = current_request_id() or new_request_id()
        log.exception("slack %s failed (reference %s)", what, reference)
        with contextlib.suppress(Exception):
            await respond(
                text=f"Something went wrong on my side (reference {reference}). Nothing was "
                "changed; an admin can look it up in the logs.",
                response_type="ephemeral",
            )

    async def _on_open(self, ack: Any, context: dict[str, Any]) -> None:
        # A URL button still sends an interaction; Slack shows an error unless it is acked.
        await ack()
        self._acked(context)

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        """Post a reminder (or any channel reply) for `meeting` without a command behind it;
        answers where its card is (None for a DM)."""
        return await self.delivery.announce(meeting, reply)

    def prepare(self, meeting: Meeting, reply: Reply) -> Callable[[], Awaitable[str | None]]:
        """`announce`, made ready now and posted when the returned function is called."""
        return self.delivery.prepare(meeting, reply)

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """Update the meeting's cards in place (it ended without a command)."""
        await self.delivery.refresh(meeting, reply)

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        """Post in the thread of the meeting's card (its recording)."""
        await self.delivery.reply_under(meeting, reply)

    def _client(self) -> AsyncWebClient:
        """The app's Web API client, on the shared HTTP session (opened here, inside the event
        loop, on first use). Bolt hands the same session to each request's client."""
        client = self.app.client
        if client.session is None or client.session.closed:
            client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))
        return client

    def _router_for(self, client: AsyncWebClient) -> CommandRouter:
        """The router with a directory that resolves mentions through this request's client."""
        return self.router.with_directory(self.people.directory(client))

    # -- running ------------------------------------------------------------------------------

    async def serve_http(self, host: str, port: int, path: str = "/slack/events") -> int:
        """Serve the signed Events/Interactivity endpoint; returns the port (0 picks one)."""
        self._endpoint = self._new_endpoint()
        return await self._endpoint.start(host, port, path)

    async def shared_http(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The signed endpoint's handler, for a server that serves it on its own port (the
        inbound server's, `server.port`), with the same checks as `serve_http`."""
        self._endpoint = self._new_endpoint()
        await self._endpoint.prepare()
        return self._endpoint.handle

    def _new_endpoint(self) -> HttpEndpoint:
        self._client()  # before the first request: its client copies the session
        return HttpEndpoint(
            self.app,
            self.store,
            self.signing_secret,
            self.command,
            self.wall_clock,
            commands=self._take_command,
        )

    async def verify(self) -> None:
        """Check the bot token once at start (auth.test), so a wrong one is one clear line
        now rather than a failure at every command."""
        await verify_bot_token(self._client())
        self._verified = True

    async def not_ready(self) -> str | None:
        """None when requests can be served: the token verified, and the socket connected or
        the HTTP endpoint serving; else what is missing (for `/readyz`)."""
        if not self._verified:
            return "bot token not verified"
        if self._socket is not None:
            connected = await self._socket.client.is_connected()
            return None if connected else "Socket Mode not connected"
        if self._endpoint is not None and self._endpoint.ready:
            return None
        return "not connected"

    async def connect_socket_mode(self) -> None:
        if not self.app_token:
            raise SlackSetupError("Socket Mode needs slack.app_token (xapp-...)")
        # slack_sdk retries a failed connect forever, a refused token included: ask once
        # ourselves, so a wrong token stops the start with one clear line.
        await verify_app_token(self._client(), self.app_token)
        # Imported here: HTTP mode never loads the Socket Mode client.
        from slack_bolt.adapter.socket_mode.async_handler import (  # noqa: PLC0415
            AsyncSocketModeHandler,
        )

        self._socket = AsyncSocketModeHandler(self.app, self.app_token)
        await self._socket.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt

    async def close(self, grace_seconds: float = 10.0) -> None:
        """Stop taking requests, then let acknowledged commands finish (bounded)."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]  # untyped in Bolt
            self._socket = None
        if self._endpoint is not None:
            await self._endpoint.close()
            self._endpoint = None
        await self.drained(grace_seconds)
        session = self.app.client.session
        if session is not None:
            await session.close()
            self.app.client.session = None
        await self.web.close()

    async def drained(self, grace_seconds: float = 10.0) -> None:
        """Wait (bounded) until the work acknowledged so far is done."""
        self._lull.release()
        await self._pool.drain(grace_seconds)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
