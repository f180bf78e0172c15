"""`/readyz`: whether this process can serve now. Ready when the store answers a trivial query
and every configured chat platform is connected (Slack: the token verified and the socket up,
or the HTTP endpoint serving; Discord: the gateway ready); else the list of what is not.

A platform is named when `meetbot run` knows it is configured, before its adapter has
started, so the process reads "not started" rather than ready while it connects. Each check
has a short deadline: a readiness probe must answer even when the store hangs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

log = logging.getLogger("meetbot.server")

CHECK_SECONDS = 2.0
PROBE_KEY = "meetbot.readyz"  # read, never written: any answer (None) proves the store answers

#: answers None when ready, else a few words saying what is not
Check = Callable[[], Awaitable[str | None]]


class Store(Protocol):
    async def get_value(self, key: str) -> str | None: ...


class Readiness:
    def __init__(
        self,
        store: Store,
        *,
        expected: Iterable[str] = (),
        timeout: float = CHECK_SECONDS,
    ) -> None:
        self.store = store
        self.timeout = timeout
        self._checks: dict[str, Check | None] = dict.fromkeys(expected)

    def attach(self, name: str, check: Check) -> None:
        """The check of a chat platform (its adapter's `not_ready`), once it has started."""
        self._checks[name] = check

    async def problems(self) -> dict[str, str]:
        """What is not ready, by part (`store`, `slack`, `discord`); empty when all is."""
        found: dict[str, str] = {}
        store = await self._run(self._store)
        if store is not None:
            found["store"] = store
        for name, check in self._checks.items():
            problem = "not started" if check is None else await self._run(check)
            if problem is not None:
                found[name] = problem
        return found

    async def _store(self) -> str | None:
        await self.store.get_value(PROBE_KEY)
        return None

    async def _run(self, check: Check) -> str | None:
        try:
            async with asyncio.timeout(self.timeout):
                return await check()
        except TimeoutError:
            return f"no answer within {self.timeout:g}s"
        except Exception as error:
            # Said by its type only: an exception's text may carry a URL or a path.
            log.debug("readiness check failed: %s", type(error).__name__)
            return f"failed ({type(error).__name__})"


__all__ = ["Check", "Readiness"]
