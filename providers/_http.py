"""The one place provider clients touch httpx: timeouts, retries, error translation, redaction.

Every provider call goes through `ProviderHttp.send`, which
- gives each attempt an overall deadline of the configured timeout, body included (httpx's own
  timeout is per read, so a server dripping a byte at a time would never trip it),
- retries with exponential backoff only calls the caller marks idempotent, and only on
  `ProviderUnavailable` (timeouts, transport failures, HTTP 5xx),
- turns every httpx exception into the provider error tree, so httpx types never escape,
- logs one line per call with the operation, method, path, status and time, never the query
  string, headers or body (they carry checksums, licenses and passwords),
- redacts the configured secrets from any provider text that ends up in an error,
- and, through `measured`, which the clients' request helpers wrap around a call (the send and
  the reading of its answer, where most provider errors are found), tells the `CallMeter` how
  long the call took and how it failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from providers.errors import ProviderError, ProviderUnavailable
from providers.metering import NO_METER, CallMeter, error_kind

Sleep = Callable[[float], Awaitable[None]]

log = logging.getLogger("meetbot.providers")

DEFAULT_TIMEOUT_SECONDS = 10.0


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


def build_client(
    *, timeout: float = DEFAULT_TIMEOUT_SECONDS, max_connections: int = 100
) -> httpx.AsyncClient:
    """One pooled client per provider, sized for a class clicking Join at once."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
    )


class Redactor:
    """Replaces known secrets in text with `***` before it reaches a log or an error."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class ProviderHttp:
    """Sends requests for one provider on its injected, pooled `httpx.AsyncClient`."""

    def __init__(
        self,
        provider: str,
        client: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy | None = None,
        secrets: Iterable[str | None] = (),
        sleep: Sleep = asyncio.sleep,
        meter: CallMeter = NO_METER,
    ) -> None:
        self.provider = provider
        self.client = client
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.redact = Redactor(secrets)
        self.meter = meter
        self._sleep = sleep

    @contextmanager
    def measured(self, operation: str) -> Iterator[None]:
        """Report the call made inside this block to the meter: its time (retries and
        backoff included: what the command waited) and the kind of its failure, if any."""
        started = time.perf_counter()
        try:
            yield
        except ProviderError as failure:
            self._tell(operation, started, error_kind(failure))
            raise
        except Exception:
            self._tell(operation, started, "other")
            raise
        # A cancelled call (BaseException) is neither a latency nor a failure: not told.
        self._tell(operation, started, None)

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
    ) -> httpx.Response:
        """Send one request; retry it if idempotent and the provider was unavailable.

        Raises `ProviderUnavailable` after the last attempt. Any other status is returned for
        the provider client to judge, because each provider signals errors its own way.

        Each attempt, from connecting to the last byte of the body, ends within `timeout`, so
        a call takes at most `attempts x timeout` plus the backoff between attempts (with the
        defaults, 3 x timeout + 0.75 s when idempotent, and timeout when not).
        """
        attempts = self.retry.attempts if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._send_once(
                    method,
                    url,
                    operation=operation,
                    headers=headers,
                    json=json,
                    data=data,
                    auth=auth,
                )
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

    async def _send_once(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            # Inside the try: a malformed configured URL is reported like any unreachable server.
            path = httpx.URL(url).path
            # The deadline covers the body too: `request` (not streaming) reads all of it
            # before it returns.
            async with asyncio.timeout(self.timeout):
                response = await self.client.request(
                    method,
                    url,
                    headers=dict(headers) if headers else None,
                    json=json,
                    data=dict(data) if data is not None else None,
                    auth=auth,
                    timeout=self.timeout,
                )
        except (httpx.TimeoutException, TimeoutError) as error:
            raise ProviderUnavailable(
                self.provider, operation, f"no answer within {self.timeout:g}s"
            ) from error
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # Transport errors, bad URLs, protocol violations: the server is not usable now.
            kind = type(error).__name__
            raise ProviderUnavailable(
                self.provider, operation, f"could not reach the server ({kind})"
            ) from error
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %s -> %d in %.0f ms",
            self.provider,
            operation,
            method,
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
