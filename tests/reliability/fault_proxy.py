"""A fault-injecting reverse proxy in front of one provider simulator, for reliability tests.

`FaultProxy(upstream_url)` listens on 127.0.0.1 (a free port) and forwards every request
unchanged (method, raw path and query, headers including Host, body) to the upstream, and its
answer back, unless a scripted `Fault` matches. Faults wait in a queue; each request takes the
first pending fault that matches it (method and/or path substring), so faults are consumed in
order by the next matching requests. A fault says when it strikes:

- `before`: the request is never forwarded, so the provider did nothing;
- `after`: the request is forwarded and the upstream's answer read in full, so the provider
  acted (created the room, added the participant), and then the client gets the fault instead
  of that answer. This is the case that matters most: the provider's state and ours disagree.

Kinds (`FaultKind`):

- `status500`: an HTTP 500 with a short text body.
- `hang`: no answer at all until the client gives up or the proxy stops; on stop the
  connection is aborted, so a hang never keeps a test alive.
- `garbage`: HTTP 200 with `Fault.body`, which is not any provider's format.
- `reset`: the answer's status and headers with its full Content-Length, about half of its
  body, then the TCP connection reset (RST). A client reading at once gets the partial body,
  then "connection reset"; one that has not read yet gets only the reset.
- `drip`: the status and headers at once, then the body one byte every `interval` seconds for
  `duration` seconds, then the rest of it. It models a server that keeps a per-read timeout
  from ever firing. A body shorter than the drip is padded with trailing spaces, which JSON and
  XML both allow after the document, so the answer still parses once it is complete.

For `reset` and `drip`, "the answer" is the upstream's (after) or `Fault.body` as HTTP 200
(before). Every request is recorded as a `SeenRequest` on arrival, and marked `forwarded`
once the upstream has answered it, so a test can assert "createMeeting reached the provider
exactly once": `len(proxy.requests("createMeeting", forwarded=True)) == 1`.

`ProxiedProviders` starts the three simulators with a proxy in front of each and hands out a
`ProvidersConfig` that points meetbot's real clients at the proxies:

    async with ProxiedProviders(timeout=0.5) as providers:
        lm = providers.proxy("liveminutes")
        lm.add(Fault("status500", "after", path="createMeeting"))
        ...  # run meetbot on providers.providers_config(); it is told HTTP 500
        assert len(providers.simulators.liveminutes.meetings) == 1  # yet the room exists
        assert len(lm.requests("createMeeting", forwarded=True)) == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Literal, Self, TypeVar, get_args

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, MultiMapping
from pydantic import BaseModel
from yarl import URL

from bot.config import ProviderName, ProvidersConfig
from bot.simulated import SimulatedProviders
from providers.simulators._server import Simulator, SimulatorServer

FaultKind = Literal["status500", "hang", "garbage", "reset", "drip"]
When = Literal["before", "after"]

#: What a `garbage` fault answers by default: the start of a load balancer's HTML page, which
#: is neither XML a BBB parser accepts nor JSON.
GARBAGE_BODY = b"<html><body><h1>Bad Gateway</h1>"
GARBAGE_CONTENT_TYPE = "text/html"

# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are never forwarded; the
# length and framing are set again by whoever writes the body.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
#: How long `reset` waits between sending the partial body and resetting the connection.
RESET_GRACE_SECONDS = 0.05
_UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=30)
_S = TypeVar("_S", bound=BaseModel)


@dataclass(frozen=True)
class Fault:
    """One scripted fault: what goes wrong, when, and for which requests.

    `method` (e.g. "POST") and `path` (a substring of the URL path, without the query, e.g.
    "createMeeting" or "/create") narrow which requests it matches; None matches any.
    `interval` and `duration` are the drip's pace and length in seconds; `body` is what a
    `garbage` fault answers, and what `reset` and `drip` send when the fault strikes before.
    """

    kind: FaultKind
    when: When = "before"
    method: str | None = None
    path: str | None = None
    interval: float = 0.05
    duration: float = 1.0
    body: bytes = GARBAGE_BODY

    def __post_init__(self) -> None:
        # The Literal types are checked by mypy only; a typo in a test must fail loudly.
        if self.kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.when not in get_args(When):
            raise ValueError(f"a fault strikes 'before' or 'after', not {self.when!r}")
        if self.interval <= 0 or self.duration < 0:
            raise ValueError("a drip needs interval > 0 and duration >= 0")

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and URL path (no query) takes this fault."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path in path


@dataclass
class SeenRequest:
    """One request the proxy received, recorded on arrival.

    `target` is the path with its query, exactly as sent. `forwarded` turns True, and
    `upstream_status` is set, once the upstream has answered it: from then on the provider
    has acted on it, whatever the client was told. `fault` is the fault it took, if any.
    """

    method: str
    target: str
    fault: Fault | None
    forwarded: bool = False
    upstream_status: int | None = None

    @property
    def path(self) -> str:
        """The URL path without the query."""
        return self.target.partition("?")[0]


@dataclass(frozen=True)
class _Answer:
    """The upstream's answer, read in full."""

    status: int
    headers: CIMultiDict[str]
    body: bytes = field(repr=False)


class FaultProxy:
    """A reverse proxy on loopback in front of `upstream` (a base URL without trailing slash).

    Use as `async with FaultProxy(url) as proxy:`, then point a client at `proxy.url` and
    script faults with `proxy.add(Fault(...))`.
    """

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.host = host
        self.port = port
        self._faults: list[Fault] = []
        self._seen: list[SeenRequest] = []
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()  # notified when a request arrives or is forwarded
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- scripting and inspecting -------------------------------------------------------------

    def add(self, *faults: Fault) -> None:
        """Queue faults after those already pending."""
        self._faults.extend(faults)

    @property
    def pending(self) -> tuple[Fault, ...]:
        """The faults no request has taken yet, in order."""
        return tuple(self._faults)

    @property
    def seen(self) -> tuple[SeenRequest, ...]:
        """Every request received, in order of arrival."""
        return tuple(self._seen)

    def requests(
        self, path: str | None = None, *, method: str | None = None, forwarded: bool | None = None
    ) -> list[SeenRequest]:
        """The requests whose path contains `path` (and with that method / forwarded state)."""
        return [
            seen
            for seen in self._seen
            if (path is None or path in seen.path)
            and (method is None or seen.method.upper() == method.upper())
            and (forwarded is None or seen.forwarded == forwarded)
        ]

    async def wait_seen(
        self, count: int = 1, path: str | None = None, *, forwarded: bool | None = None
    ) -> None:
        """Wait until `requests(path, forwarded=forwarded)` holds at least `count` requests,
        e.g. until a hung request has arrived. Bound it with `asyncio.timeout` in a test."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: len(self.requests(path, forwarded=forwarded)) >= count
            )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def clear(self) -> None:
        """Drop the pending faults and forget the requests seen."""
        self._faults.clear()
        self._seen.clear()

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the proxy, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._runner is None:
            raise RuntimeError("fault proxy is not running")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self._stopping.clear()
        # auto_decompress off: the body is passed on byte for byte, Content-Encoding and all.
        self._session = aiohttp.ClientSession(
            auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), timeout=_UPSTREAM_TIMEOUT
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up ends its hang or drip at once.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        """Release every hang and drip (their connections are aborted), then shut down."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # -- the proxy ----------------------------------------------------------------------------

    def _take(self, method: str, path: str) -> Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.matches(method, path):
                return self._faults.pop(index)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self._take(request.method, request.path)
        seen = SeenRequest(request.method, request.raw_path, fault)
        self._seen.append(seen)
        await self._notify()
        if fault is not None and fault.when == "before":
            return await self._strike(request, fault, None)
        try:
            answer = await self._forward(request, body)
        except (aiohttp.ClientError, TimeoutError) as error:
            return web.Response(status=502, text=f"fault proxy: upstream failed ({error!r})")
        seen.forwarded = True
        seen.upstream_status = answer.status
        await self._notify()
        if fault is None:
            return web.Response(status=answer.status, headers=answer.headers, body=answer.body)
        return await self._strike(request, fault, answer)

    async def _forward(self, request: web.Request, body: bytes) -> _Answer:
        assert self._session is not None
        headers = _end_to_end(request.headers)
        # encoded=True: the raw query goes on untouched, since BBB checksums are over its bytes.
        url = URL(self.upstream + request.raw_path, encoded=True)
        async with self._session.request(
            request.method,
            url,
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
            # Send only what the client sent; aiohttp would add its own defaults.
            skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
        ) as response:
            content = await response.read()
            return _Answer(response.status, _end_to_end(response.headers), content)

    async def _strike(
        self, request: web.Request, fault: Fault, answer: _Answer | None
    ) -> web.StreamResponse:
        if fault.kind == "status500":
            return web.Response(status=500, text="fault proxy: simulated internal server error")
        if fault.kind == "garbage":
            return web.Response(status=200, body=fault.body, content_type=GARBAGE_CONTENT_TYPE)
        if fault.kind == "hang":
            await self._stopping.wait()
            return _abort(request)
        if answer is None:
            answer = _Answer(200, CIMultiDict({"Content-Type": GARBAGE_CONTENT_TYPE}), fault.body)
        if fault.kind == "reset":
            return await self._reset(request, answer)
        return await self._drip(request, fault, answer)

    async def _reset(self, request: web.Request, answer: _Answer) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = len(answer.body)
        await response.prepare(request)
        # At least one byte sent and at least one missing, so the body is cut for sure.
        cut = min(max(1, len(answer.body) // 2), max(0, len(answer.body) - 1))
        await response.write(answer.body[:cut])
        await _flushed(request)
        # An RST makes the client's kernel drop what it has not read yet; a moment's grace lets
        # a reading client see the partial body first, which is what "mid-body" means.
        await self._stopped_within(RESET_GRACE_SECONDS)
        return _abort(request)

    async def _drip(
        self, request: web.Request, fault: Fault, answer: _Answer
    ) -> web.StreamResponse:
        drops = math.ceil(fault.duration / fault.interval)
        body = answer.body.ljust(drops + 1)  # the last byte (or more) comes when the drip ends
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = len(body)
        await response.prepare(request)
        for index in range(drops):
            await response.write(body[index : index + 1])
            if await self._stopped_within(fault.interval):
                return _abort(request)
        await response.write(body[drops:])
        await response.write_eof()
        return response

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()


def _end_to_end(headers: MultiMapping[str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP)


async def _flushed(request: web.Request) -> None:
    """Wait until what was written has left for the client (loopback: a few ms at most)."""
    transport = request.transport
    for _ in range(100):
        if transport is None or transport.get_write_buffer_size() == 0:
            return
        await asyncio.sleep(0.005)


def _abort(request: web.Request) -> web.StreamResponse:
    """Reset the client's connection (RST, not a clean close) and answer nothing more."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER on with a zero timeout: closing the socket sends RST at once.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp writes nothing on a closed transport; the handler still has to return something.
    return web.Response(status=499)


class ProxiedProviders:
    """The three simulators, each behind its own `FaultProxy`.

    `async with ProxiedProviders(timeout=0.5) as providers:` then build meetbot's clients from
    `providers.providers_config()`, script faults on `providers.proxy("liveminutes")` and look
    at the provider's state on `providers.simulators.liveminutes`. `timeout` (seconds) goes in
    every provider section of the config; keep it small so a hang costs little test time.
    """

    def __init__(self, *, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.simulators = SimulatedProviders()
        self.proxies: dict[ProviderName, FaultProxy] = {}
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            await self._stack.enter_async_context(self.simulators)
            for name, server in self.simulators.servers.items():
                proxy = FaultProxy(server.url)
                self.proxies[name] = await self._stack.enter_async_context(proxy)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        # Proxies first (last in, first out), so no hang waits on a stopped simulator.
        await self._stack.aclose()

    def proxy(self, name: ProviderName) -> FaultProxy:
        return self.proxies[name]

    def server(self, name: ProviderName) -> SimulatorServer:
        return self.simulators.servers[name]

    def simulator(self, name: ProviderName) -> Simulator:
        return self.simulators.servers[name].simulator

    def reset(self) -> None:
        """Forget every simulator's state and knobs, and every proxy's faults and records."""
        for server in self.simulators.servers.values():
            server.simulator.reset()
            server.simulator.faults.clear()
        for proxy in self.proxies.values():
            proxy.clear()

    def providers_config(
        self, default: ProviderName = "bigbluebutton", *, timeout: float | None = None
    ) -> ProvidersConfig:
        """The simulators' config with every URL at its proxy (demo credentials kept) and,
        if given here or to the constructor, `timeout` in every section."""
        config = self.simulators.providers_config(default)
        timeout = timeout if timeout is not None else self.timeout
        sections: dict[str, object] = {
            name: _section(getattr(config, name), self._api_base(name), timeout)
            for name in self.proxies
        }
        return config.model_copy(update=sections)

    def _api_base(self, name: ProviderName) -> str:
        base = self.proxies[name].url
        # As `bbb-conf --secret` prints it, and as the config demands.
        return base + "/bigbluebutton/api" if name == "bigbluebutton" else base


def _section(section: _S, url: str, timeout: float | None) -> _S:
    # Validated again, so a timeout out of the config's range fails here, as it would at start.
    values = {**section.model_dump(), "url": url}
    if timeout is not None:
        values["timeout"] = timeout
    return type(section).model_validate(values)
