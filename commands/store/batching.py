"""Many small store calls made at once become one query.

Under a burst, the scheduler's jobs make small, alike calls (a meeting by id, its occurrence,
its card to remember, its job done), and each costs tens of hand-offs between the event loop
and the database's thread: 10,000 reminders due together made over half a million of them,
and the bot spent its time there. A `Batch` gathers the calls made while the event loop goes
round once, and those made while its last query ran, and answers them with one query (a read
of all their keys, or one transaction for all their writes). Each caller still gets its own
answer or its own error. A call alone waits one turn of the loop more than it did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

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
