"""The id of the request being served (a Slack request, a Discord interaction, a console
line): one per request, in a context variable, so every log line written while serving it can
carry it and the user's "reference" in an error reply is the same id.

Adapters open a scope where a request arrives; the router opens one when no adapter did (a
test, a caller of its own). Tasks started inside a scope inherit its id, as asyncio copies the
context into each new task.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("meetbot_request_id", default=None)


def new_request_id() -> str:
    """Short (8 hex digits): read aloud to an admin, and unique enough within a day's log."""
    return secrets.token_hex(4)


def current_request_id() -> str | None:
    return _CURRENT.get()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Serve a request under `request_id` (a new one if None), back to the outer id after."""
    token = _CURRENT.set(request_id or new_request_id())
    try:
        yield _CURRENT.get() or ""
    finally:
        _CURRENT.reset(token)


def adopt_request_id(request_id: str | None = None) -> str:
    """Serve the rest of the current task under `request_id` (a new one if None): for a
    request that has a task of its own and no block to scope it to (a Bolt middleware)."""
    adopted = request_id or new_request_id()
    _CURRENT.set(adopted)
    return adopted


@contextmanager
def ensure_request() -> Iterator[str]:
    """The request being served, or a new one for the time of this block if there is none."""
    current = _CURRENT.get()
    if current is not None:
        yield current
        return
    with request_scope() as request_id:
        yield request_id


__all__ = [
    "adopt_request_id",
    "current_request_id",
    "ensure_request",
    "new_request_id",
    "request_scope",
]
