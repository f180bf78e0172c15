"""Many small store calls made at once become one query.

Under a burst, the scheduler's jobs make small, alike calls (a meeting by id, its occurrence,
its card to remember, its job done), and each costs tens of hand-offs between the event loop
and the database's thread: 10,000 reminders due together made over half a million of them,
and the bot spent its time there. A `Batch` gathers the calls made while the event loop goes
round once, and those made while its last query ran, and answers them with one query (a read
of all their keys, or one transaction for all their writes). Each caller still gets its own
answer or its own error. A call alone waits one turn of the loop more than it did. A `Spool`
does the same for writes nobody needs to wait for (the join log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger("meetbot.store")

#: keys in one query at most (SQLite allows 32,766 parameters a statement)
LIMIT = 500


class Batch(Generic[K, V]):
    def __init__(
        self,
        # the query: for each key, in order, its answer or the error its caller gets
        run: Callable[[list[K]], Awaitable[Sequence[V | BaseException]]],
        *,
        limit: int = LIMIT,
    ) -> None:
        self._run = run
        self._limit = limit
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[V] = loop.create_future()
        self._waiting.append((key, answer))
        draining = self._draining
        if draining is None or draining.done() or draining.get_loop() is not loop:
            self._draining = loop.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # the callers that are ready in this turn of the loop join
            taken, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            live = [(key, answer) for key, answer in taken if not answer.done()]
            if not live:
                continue  # every caller gave up (was cancelled)
            try:
                answers = await self._run([key for key, _answer in live])
            except Exception as error:
                answers = [error] * len(live)
            for (_key, answer), result in zip(live, answers, strict=True):
                if answer.done():
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)


class Spool(Generic[K]):
    """Writes nobody waits for, in batches: `put` returns at once, and the items put while the
    event loop goes round (and while the last batch was written) go in one transaction.

    For the join log: a class joining at once would otherwise make one transaction each, on the
    path of its links. `flush` waits for everything put so far (before a read of what was
    written, and before the store closes). A batch that fails is written item by item, so one
    bad item (its meeting deleted meanwhile) costs only itself; that one is logged, not raised:
    its caller has long moved on.
    """

    def __init__(
        self,
        write: Callable[[list[K]], Awaitable[None]],
        *,
        what: str,
        limit: int = LIMIT,
    ) -> None:
        self._write = write
        self._what = what
        self._limit = limit
        self._items: list[K] = []
        self._draining: asyncio.Task[None] | None = None

    def put(self, item: K) -> None:
        self._items.append(item)
        loop = asyncio.get_running_loop()
        draining = self._draining
        if draining is None or draining.done() or draining.get_loop() is not loop:
            self._draining = loop.create_task(self._drain())

    async def flush(self) -> None:
        """Until every item put so far is written (or given up on, and logged)."""
        while self._draining is not None and not self._draining.done():
            await asyncio.shield(self._draining)

    async def _drain(self) -> None:
        while self._items:
            await asyncio.sleep(0)  # the items put in this turn of the loop join
            taken, self._items = self._items[: self._limit], self._items[self._limit :]
            try:
                await self._write(taken)
            except Exception:
                await self._one_by_one(taken)

    async def _one_by_one(self, items: list[K]) -> None:
        for item in items:
            try:
                await self._write([item])
            except Exception as error:
                log.warning("could not write to the %s: %s", self._what, type(error).__name__)
