"""A `Transport` that answers by hand: the seam for exact-bytes and odd-answer tests.

`HandTransport(handler)` gives every `ProviderRequest` (the URL, headers and body exactly as
they would go on the wire) to `handler`, sync or async, and returns its `ProviderResponse`;
a handler that raises `TransportError` plays a broken connection. `reply()` builds answers.
Everything else is tested against the simulators over loopback.
"""

from __future__ import annotations

import inspect
import json as jsonlib
from collections.abc import Awaitable, Callable
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from providers._http import ProviderRequest, ProviderResponse, TransportError

Handler = Callable[[ProviderRequest], ProviderResponse | Awaitable[ProviderResponse]]


def reply(
    status: int = 200,
    *,
    json: Any = None,
    text: str | None = None,
    content: bytes = b"",
) -> ProviderResponse:
    """An answer with a JSON, text or raw body."""
    if json is not None:
        return ProviderResponse(status, jsonlib.dumps(json).encode(), {"content-type": "json"})
    if text is not None:
        return ProviderResponse(status, text.encode())
    return ProviderResponse(status, content)


def query(request: ProviderRequest) -> str:
    """The query string exactly as sent."""
    return urlsplit(request.url).query


def path(request: ProviderRequest) -> str:
    return urlsplit(request.url).path


def form(request: ProviderRequest) -> dict[str, str]:
    """The fields of a form body."""
    return dict(parse_qsl((request.body or b"").decode(), keep_blank_values=True))


class HandTransport:
    """Answers every request with `handler`; records them; holds no connections."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[ProviderRequest] = []
        self.closed = False

    async def request(self, request: ProviderRequest) -> ProviderResponse:
        if self.closed:
            raise TransportError("the transport is closed")
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            return await answer
        return answer

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
