"""The one place provider clients touch HTTP: timeouts, retries, error translation, redaction.

Every provider call goes through `ProviderHttp.send`, which
- gives each attempt an overall deadline of the configured timeout, body included (a server
  dripping a byte at a time trips it like one that never answers),
- retries with exponential backoff only calls the caller marks idempotent, and only on
  `ProviderUnavailable` (timeouts, transport failures, HTTP 5xx),
- turns every transport exception into the provider error tree, so no HTTP library's types
  escape,
- logs one line per call with the operation, method, path, status and time, never the query
  string, headers or body (they carry checksums, licenses and passwords),
- redacts the configured secrets from any provider text that ends up in an error,
- and, through `measured`, which the clients' request helpers wrap around a call (the send and
  the reading of its answer, where most provider errors are found), tells the `CallMeter` how
  long the call took and how it failed.

Requests go out through a `Transport`: in production `AiohttpTransport`, one pooled aiohttp
session per provider (aiohttp rather than httpx: at 50 calls at once httpx's pool spent most
of each call choosing a connection, polling every pooled socket; bench/RESULTS.md has the
figures). Tests inject their own `Transport` to see the exact bytes sent or to answer by hand.
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import aiohttp
from yarl import URL

from providers.errors import ProviderError, ProviderUnavailable
from providers.metering import NO_METER, CallMeter, error_kind

Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("meetbot.providers")

DEFAULT_TIMEOUT_SECONDS = 10.0
#: Connections kept per provider: a class clicking Join at once shares them.
DEFAULT_MAX_CONNECTIONS = 100
#: Endpoint paths a `ProviderHttp` remembers for its log line (a provider has a few dozen).
_MAX_PATHS = 256
#: One encoder for every JSON body: `json.dumps` with options builds a new one per call.
_JSON = jsonlib.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an idempotent call is retried."""

    attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        """Backoff before retry number `attempt` (1-based)."""
        return float(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class ProviderRequest:
    """One request as it goes on the wire: the URL is sent exactly as given (a BigBlueButton
    checksum covers its query string byte for byte), the body is already encoded."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class ProviderResponse:
    """A whole answer: status, headers (looked up by lower-case name; the transport's may
    take any case) and every byte of the body."""

    status_code: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; raises `json.JSONDecodeError` or `UnicodeDecodeError`."""
        return jsonlib.loads(self.content)


class TransportError(Exception):
    """The request could not be sent or its answer not read (refused, reset, bad URL)."""


class Transport(Protocol):
    """Sends one request and reads its whole answer; raises `TransportError` or
    `TimeoutError`, nothing else."""

    async def request(self, request: ProviderRequest) -> ProviderResponse: ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """One pooled aiohttp session, opened on the first request (a session belongs to the
    event loop it is made in) and kept for every later one."""

    def __init__(self, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        self.closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, limit_per_host=self._max_connections
                ),
                # The deadline is ProviderHttp's, over the whole attempt.
                timeout=aiohttp.ClientTimeout(total=None),
                # Provider APIs need no cookies; keeping a server's would mix callers.
                cookie_jar=aiohttp.DummyCookieJar(),
                # No trust_env: aiohttp would then look up proxies and .netrc in a thread on
                # every request (two thread hops a call); `_proxy` reads the environment once.
                trust_env=False,
            )
        return self._session

    def _proxy(self, url: URL) -> str | None:
        """The proxy the environment names for this URL's host (HTTPS_PROXY, NO_PROXY, ...),
        looked up once per scheme and host: a provider has one."""
        key = (url.scheme, url.host or "")
        if key not in self._proxies:
            proxy = urllib.request.getproxies().get(url.scheme)
            bypass = proxy is None or urllib.request.proxy_bypass(url.host or "")
            self._proxies[key] = None if bypass else proxy
        return self._proxies[key]

    async def request(self, request: ProviderRequest) -> ProviderResponse:
        if self.closed:
            raise TransportError("the transport is closed")
        try:
            url = URL(request.url, encoded=True)
            async with self._open().request(
                request.method,
                url,
                headers=request.headers,
                data=request.body,
                allow_redirects=False,
                proxy=self._proxy(url),
            ) as answer:
                body = await answer.read()
                # aiohttp's headers as they are: read-only, and looked up in any case.
                return ProviderResponse(answer.status, body, answer.headers)
        except TimeoutError:
            raise
        except (aiohttp.ClientError, ValueError) as error:
            # Refused, reset, a protocol violation, a URL that is no http(s) URL.
            raise TransportError(type(error).__name__) from error

    async def aclose(self) -> None:
        self.closed = True
        if self._session is not None:
            await self._session.close()


def build_transport(*, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> Transport:
    """One pooled transport per provider, sized for a class clicking Join at once."""
    return AiohttpTransport(max_connections=max_connections)


class Redactor:
    """Replaces known secrets in text with `***` before it reaches a log or an error."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def encode_body(headers: dict[str, str], json: Any, data: Mapping[str, str] | None) -> bytes | None:
    """The body bytes of a JSON or form request, its content type added to `headers`."""
    if json is not None:
        headers["Content-Type"] = "application/json"
        return _JSON.encode(json).encode()
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urlencode(dict(data)).encode()
    return None


def basic_auth(auth: tuple[str, str]) -> str:
    user, password = auth
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class ProviderHttp:
    """Sends requests for one provider on its injected, pooled `Transport`."""

    def __init__(
        self,
        provider: str,
        transport: Transport,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str | None] = (),
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        self.provider = provider
        self.transport = transport
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.redact = Redactor(secrets)
        self._sleep = sleep
        self.meter = meter
        self._paths: dict[str, str] = {}

    def measured(self, operation: str) -> _Measured:
        """Report the call made inside this `with` block to the meter: its time (retries and
        backoff included: what the command waited) and the kind of its failure, if any."""
        return _Measured(self, operation)

    def _path(self, url: str) -> str:
        """The URL's path, for the log line: parsed once per endpoint, since the query (which
        differs on every BigBlueButton call, its checksum at least) is not part of it."""
        endpoint = url.partition("?")[0]
        path = self._paths.get(endpoint)
        if path is None:
            path = urlsplit(endpoint).path  # raises ValueError for a malformed URL
            if len(self._paths) >= _MAX_PATHS:
                self._paths.clear()  # a bound, in case some caller puts ids in paths
            self._paths[endpoint] = path
        return path

    def _tell(self, operation: str, started: float, error: str | None) -> None:
        self.meter.provider_call(self.provider, operation, time.perf_counter() - started, error)

    async def send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> ProviderResponse:
        """Send one request; retry it if idempotent and the provider was unavailable.

        Raises `ProviderUnavailable` after the last attempt. Any other status is returned for
        the provider client to judge, because each provider signals errors its own way.

        Each attempt, from connecting to the last byte of the body, ends within `timeout`, so
        a call takes at most `attempts x timeout` plus the backoff between attempts (with the
        defaults, 3 x timeout + 0.75 s when idempotent, and timeout when not).
        """
        sent = dict(headers) if headers else {}
        body = encode_body(sent, json, data)
        if auth is not None:
            sent["Authorization"] = basic_auth(auth)
        request = ProviderRequest(method, url, sent, body)
        attempts = self.retry.attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._send_once(request, operation)
            except ProviderUnavailable as error:
                if attempt >= attempts:
                    raise
                delay = self.retry.delay(attempt)
                log.warning(
                    "%s %s unavailable (%s); retry %d/%d in %.2fs",
                    self.provider,
                    operation,
                    error.message,
                    attempt,
                    attempts - 1,
                    delay,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_once(self, request: ProviderRequest, operation: str) -> ProviderResponse:
        started = time.perf_counter()
        try:
            # Inside the try: a malformed configured URL is reported like any unreachable server.
            path = self._path(request.url)
            # The deadline covers the body too: the transport reads all of it before it returns.
            async with asyncio.timeout(self.timeout):
                response = await self.transport.request(request)
        except TimeoutError as error:
            raise ProviderUnavailable(
                self.provider, operation, f"no answer within {self.timeout:g}s"
            ) from error
        except (TransportError, ValueError) as error:
            # Transport errors, bad URLs, protocol violations: the server is not usable now.
            kind = str(error) if isinstance(error, TransportError) else type(error).__name__
            raise ProviderUnavailable(
                self.provider, operation, f"could not reach the server ({kind})"
            ) from error
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %s -> %d in %.0f ms",
            self.provider,
            operation,
            request.method,
            path,
            response.status_code,
            elapsed_ms,
        )
        if response.status_code >= 500:
            raise ProviderUnavailable(
                self.provider,
                operation,
                f"the server answered HTTP {response.status_code}",
                status=response.status_code,
            )
        return response


class _Measured:
    """The `with` block of `ProviderHttp.measured` (a class, not a generator: it is entered
    once per provider call, and a generator-based context manager costs several times more)."""

    __slots__ = ("_http", "_operation", "_started")

    def __init__(self, http: ProviderHttp, operation: str) -> None:
        self._http = http
        self._operation = operation
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: object
    ) -> None:
        if kind is None:
            self._http._tell(self._operation, self._started, None)
        elif isinstance(error, ProviderError):
            self._http._tell(self._operation, self._started, error_kind(error))
        elif isinstance(error, Exception):
            self._http._tell(self._operation, self._started, "other")
        # A cancelled call (BaseException) is neither a latency nor a failure: not told.
