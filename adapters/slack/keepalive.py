"""Kept-alive HTTP/1.1 connections to one origin, for the Slack Web API's small calls in bursts.

A reminder burst or a class's DMs is thousands of small POSTs to one host. Measured on loopback
with 1,000 in flight against the bench's fake Slack (bench/RESULTS.md), aiohttp's client spends
0.35-0.47 ms of CPU on each, most of it building and tracking the request (URL, cookie, header
and payload objects, timers, trace hooks) rather than on the bytes; this path writes the request
as bytes and reads the answer with httptools (llhttp, the parser uvicorn uses) for 0.12-0.14 ms.
So the calls a burst is made of take this path; everything else keeps aiohttp or slack_sdk.

What it does, and what it leaves out on purpose:
- one origin (scheme, host, port), HTTP or HTTPS (TLS with the system's default trust, the
  host's name checked); at most `limit` connections, reused most-recent-first, and one dropped
  once idle longer than `IDLE_SECONDS` (servers close idle ones; aiohttp keeps 15 s too);
- POST with a body of bytes; the answer read whole (Content-Length or chunked), with its status
  and headers (names in lower case); an answer that has neither, ended only by the server
  closing the connection (HTTP/1.0 style), is taken as a broken one: Slack always sends one;
- no redirects, cookies, proxies or compression: the Web API needs none, and the bot sends no
  Accept-Encoding, so the answer comes as it is;
- a connection the server closed while it lay idle is noticed when a request on it gets no
  answer byte: that request is sent once more on a fresh connection (aiohttp does the same);
- `timeout` bounds each call, connecting included; a call that times out or is cancelled closes
  its connection (its answer might still come), so no later call reads someone else's answer.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

IDLE_SECONDS = 15.0  # a kept-alive connection unused this long is closed, not reused
DEFAULT_LIMIT = 100  # connections to the origin at once, as aiohttp's connector allows
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # controls and spaces: never in a request target


class WireError(ConnectionError):
    """The connection broke, or the server's answer was not HTTP/1.1 that could be read."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection, carrying one request at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[Answer] | None = None
        self._headers: dict[str, str] = {}
        self._name = ""
        self._body: list[bytes] = []
        self.answered = False  # some byte of the current answer has arrived
        self.reusable = True
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(WireError(f"unreadable HTTP answer: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(WireError("the server closed the connection" + (f": {exc}" if exc else "")))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name:
            self._name = name.decode("latin-1").lower()
            self._headers[self._name] = value.decode("latin-1")
        else:  # a header value split across reads
            self._headers[self._name] += value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():
            self.reusable = False
        answer = Answer(self._parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        waiter, self._answer = self._answer, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)
        else:  # an answer nobody asked for: the connection is out of step
            self.reusable = False

    # used by Origin
    def send(self, request: bytes, answer: asyncio.Future[Answer]) -> None:
        assert self._transport is not None
        self.answered = False
        self._answer = answer
        self._transport.write(request)

    def usable(self, now: float) -> bool:
        return (
            self.reusable
            and self._transport is not None
            and not self._transport.is_closing()
            and now - self.idle_since < IDLE_SECONDS
        )

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: WireError) -> None:
        waiter, self._answer = self._answer, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)


class Origin:
    """POSTs to one origin on kept-alive connections."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        limit: int = DEFAULT_LIMIT,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls`: the trust for an https origin (by default the system's, made on first use)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_line = f"Host: {host}{'' if default_port else f':{self.port}'}\r\n".encode()
        self.timeout = timeout
        self._slots = asyncio.Semaphore(limit)
        self._idle: deque[_Connection] = deque()
        self._context = tls
        self._closed = False

    async def post(self, target: str, body: bytes, headers: bytes) -> Answer:
        """POST `body` to `target` (a path with its query), `headers` being `Name: value\\r\\n`
        lines ready to send (no Host or Content-Length: those are added here)."""
        if self._closed:
            raise WireError("the connection pool is closed")
        if not target.startswith("/") or not target.isascii() or _UNSAFE.search(target):
            # A space or line break would end the request line early: another request.
            raise ValueError(f"not a request target: {target!r}")
        request = b"".join(
            (
                f"POST {target} HTTP/1.1\r\n".encode(),
                self._host_line,
                headers,
                f"Content-Length: {len(body)}\r\n\r\n".encode(),
                body,
            )
        )
        async with self._slots, asyncio.timeout(self.timeout):
            connection = self._reused()
            if connection is not None:
                try:
                    return await self._exchange(connection, request)
                except WireError:
                    if connection.answered:
                        raise
                    # Closed by the server while it lay idle: once more, on a fresh one.
            return await self._exchange(await self._connect(), request)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    def _reused(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if not self.tls:
            _, connection = await loop.create_connection(_Connection, self.host, self.port)
            return connection
        if self._context is None:
            self._context = ssl.create_default_context()
        _, connection = await loop.create_connection(
            _Connection, self.host, self.port, ssl=self._context, server_hostname=self.host
        )
        return connection

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        connection.send(request, answer)
        try:
            result = await answer
        except BaseException:
            # Timed out, cancelled or broken: its answer may yet come, so it is not reused.
            connection.close()
            raise
        if connection.reusable and not self._closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return result
