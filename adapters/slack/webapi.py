"""The Slack Web API calls of a burst: chat.postMessage, chat.update, conversations.open,
users.info and the posts to a command's response_url, on kept-alive HTTP connections.

These are the calls a burst is made of (10,000 reminders due in one minute, a class's DMs at
09:00). slack_sdk's AsyncWebClient spends about 0.5 ms of CPU on each, against about 0.3 ms for
the HTTP request itself (measured on loopback, 200 in flight): most of a reminder's cost. So
these go straight to the Web API's origin on kept-alive connections (`keepalive.Origin`, which
costs a third of aiohttp's CPU a call), as slack_sdk sends them (a JSON body, the token as a
bearer header; conversations.open and users.info with their arguments in the query), and
answer the same way: the response's fields, or `SlackApiError` with Slack's error code. A 429
is waited out as its Retry-After says (at most `RATE_LIMIT_RETRIES` times, as slack_sdk's
rate-limit handler does here), and a connection the server closed while idle is tried once
more. A response_url post (Bolt's `respond` would open a new session, and a new connection,
for each) goes the same way to its own origin (Slack's are all on hooks.slack.com). Every
other call (auth.test, usergroups.list, files) stays with slack_sdk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.web.internal_utils import get_user_agent

from adapters.slack.keepalive import Origin

log = logging.getLogger("meetbot.slack")

Respond = Callable[..., Awaitable[Any]]

# A response_url takes the message as JSON; it carries its own credential (no token).
_RESPONSE_HEADERS = b"Content-Type: application/json;charset=utf-8\r\n"
MAX_ORIGINS = 4  # response_url hosts kept connections to
RATE_LIMIT_RETRIES = 2
MAX_RETRY_AFTER = 60.0  # seconds: a longer wait is the job's to retry, not the call's


class SlackWebApi:
    def __init__(self, base_url: str, token: str, *, timeout: float) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        if any(character in token for character in "\r\n"):
            raise ValueError("the bot token has a line break in it")
        self._path = urlsplit(self.base_url).path
        common = f"Authorization: Bearer {token}\r\nUser-Agent: {get_user_agent()}\r\n"
        # As slack_sdk sends them: a JSON body, or the arguments in the query of a form post.
        self._json_headers = f"{common}Content-Type: application/json;charset=utf-8\r\n".encode()
        self._form_headers = f"{common}Content-Type: application/x-www-form-urlencoded\r\n".encode()
        self.timeout = timeout
        self._origin = Origin(self.base_url, timeout=timeout)
        self._responses: dict[str, Origin] = {}  # response_url origins, at most MAX_ORIGINS
        self._closing: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        await self._origin.close()
        for origin in self._responses.values():
            await origin.close()
        self._responses.clear()

    async def chat_postMessage(
        self, *, channel: str, text: str, patience: float = 0.0, **fields: Any
    ) -> dict[str, Any]:
        """A post; with `patience`, 429s are waited out (as Retry-After says) until that many
        seconds of waiting, not only `RATE_LIMIT_RETRIES` times: for posts of which many are
        sent at once on purpose (a fan-out of invitations), each of which must arrive."""
        body = {"channel": channel, "text": text, **fields}
        return await self.call("chat.postMessage", body, patience=patience)

    async def chat_update(
        self, *, channel: str, ts: str, text: str, **fields: Any
    ) -> dict[str, Any]:
        body = {"channel": channel, "ts": ts, "text": text, **fields}
        return await self.call("chat.update", body)

    async def conversations_open(self, *, users: str) -> dict[str, Any]:
        return await self.call("conversations.open", query={"users": users})

    @staticmethod
    def encode(body: dict[str, Any]) -> bytes:
        """A JSON body as `call` sends it (made ahead of the call, where that helps)."""
        return json.dumps(_without_none(body)).encode()

    async def users_info(self, *, user: str) -> dict[str, Any]:
        return await self.call("users.info", query={"user": user})

    def responder(self, response_url: str) -> Respond:
        """`respond(text=..., blocks=..., response_type=...)` for one command or click, as
        Bolt's `respond` takes it, posting to its response_url on the shared session."""

        async def respond(**message: Any) -> int:
            return await self.post_response(response_url, message)

        return respond

    async def post_response(self, response_url: str, message: dict[str, Any]) -> int:
        """Post `message` to a response_url; answers the HTTP status (Slack says 200 "ok";
        a used-up or expired URL is 404, logged by the caller's reading, never raised)."""
        data = json.dumps(_without_none(message)).encode()
        parts = urlsplit(response_url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        answer = await self._response_origin(parts).post(target, data, _RESPONSE_HEADERS)
        if answer.status != 200:
            log.info("response_url post answered HTTP %d", answer.status)
        return answer.status

    def _response_origin(self, parts: SplitResult) -> Origin:
        key = f"{parts.scheme}://{parts.netloc}"
        origin = self._responses.get(key)
        if origin is None:
            if len(self._responses) >= MAX_ORIGINS:
                # Slack's response_urls share one host; a stray other one is not kept for long.
                oldest = next(iter(self._responses))
                stale = self._responses.pop(oldest)
                task = asyncio.get_running_loop().create_task(stale.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            origin = self._responses[key] = Origin(key + "/", timeout=self.timeout)
        return origin

    async def call(
        self,
        method: str,
        body: dict[str, Any] | bytes | None = None,
        *,
        query: dict[str, str] | None = None,
        patience: float = 0.0,
    ) -> dict[str, Any]:
        """One Web API method (its body as fields, or encoded by `encode`): its answer's
        fields, or `SlackApiError`."""
        url = self.base_url + method
        target = self._path + method + ("?" + urlencode(query) if query else "")
        data = self.encode(body) if isinstance(body, dict) else (body or b"")
        headers = self._json_headers if body is not None else self._form_headers
        limited = 0
        waited = 0.0
        while True:
            reply = await self._origin.post(target, data, headers)
            status, answered = reply.status, reply.headers
            if status == 429 and (limited < RATE_LIMIT_RETRIES or waited < patience):
                limited += 1
                pause = _retry_after(answered.get("retry-after"))
                waited += pause
                await asyncio.sleep(pause)
                continue
            answer = _parsed(reply.body)
            if status == 200 and answer.get("ok"):
                return answer
            raise SlackApiError(  # type: ignore[no-untyped-call]  # untyped in slack_sdk
                f"The request to the Slack API failed. (url: {method}, status: {status})",
                AsyncSlackResponse(
                    client=None,
                    http_verb="POST",
                    api_url=url,
                    req_args={},
                    data=answer,
                    headers=dict(answered),
                    status_code=status,
                ),
            )


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _parsed(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
