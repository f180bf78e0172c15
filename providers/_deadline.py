"""Deadlines for the many calls of one provider, which all share one timeout, on one timer.

`asyncio.timeout` arms a loop timer for every call and cancels it when the call ends: about
10 µs a call, a few per cent of a whole provider call's CPU. But a provider's calls all get
the same timeout, so their deadlines come in the order the calls started. `Deadlines` keeps
them in a queue in that order, with one timer armed for the oldest: a call that ends only
marks its entry done (entries leave from the front), and when the timer fires, each call past
its deadline is cancelled and the timer is armed for the next one.

Inside `with deadlines.limit():` an overdue call raises `TimeoutError` (from the cancellation
that stopped it), and a cancellation from elsewhere stays a `CancelledError`: the same
`Task.cancelling()` / `uncancel()` bookkeeping as `asyncio.timeout`. A deadline earlier than
the newest in the queue (the loop's clock going back) gets a timer of its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Deadlines:
    """The deadlines of calls made `seconds` before them, on the running event loop."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._queue: deque[Deadline] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0

    def limit(self) -> Deadline:
        """A `with` block that ends within `seconds` or raises `TimeoutError`."""
        return Deadline(self)

    def _add(self, entry: Deadline, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            # A new event loop (each test has its own): the old one's timer is of no use.
            if self._timer is not None:
                self._timer.cancel()
            self._queue, self._loop, self._timer = deque(), loop, None
        queue = self._queue
        while queue and queue[0].done:
            queue.popleft()
        if queue and entry.when < queue[-1].when:
            entry.own_timer = loop.call_at(entry.when, entry.expire)
            return
        queue.append(entry)
        if self._timer is None:
            self._arm(loop, entry.when)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._timer_when = when
        self._timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        loop, queue = self._loop, self._queue
        assert loop is not None
        self._timer = None
        # The loop runs a timer a clock tick early at most: what it was armed for is due.
        due = max(loop.time(), self._timer_when)
        while queue:
            head = queue[0]
            if not head.done:
                if head.when > due:
                    self._arm(loop, head.when)
                    return
                head.expire()
            queue.popleft()


class Deadline:
    """One call's deadline; see `Deadlines.limit`."""

    __slots__ = ("_cancelling", "_owner", "done", "expired", "own_timer", "task", "when")

    def __init__(self, owner: Deadlines) -> None:
        self._owner = owner
        self.task: asyncio.Task[object] | None = None
        self.when = 0.0
        self.done = False
        self.expired = False
        self.own_timer: asyncio.TimerHandle | None = None
        self._cancelling = 0

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline needs to run inside a task")
        self.task = task
        self._cancelling = task.cancelling()
        self.when = loop.time() + self._owner.seconds
        self._owner._add(self, loop)

    def expire(self) -> None:
        if not self.done and self.task is not None:
            self.expired = True
            self.task.cancel()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        task, self.task, self.done = self.task, None, True  # a done entry holds no task
        if self.own_timer is not None:
            self.own_timer.cancel()
        # An expired deadline takes back its cancel request whatever the block raised; only
        # when no other request is left is the cancellation its own, told as a timeout.
        if (
            self.expired
            and task is not None
            and task.uncancel() <= self._cancelling
            and kind is asyncio.CancelledError
        ):
            raise TimeoutError from error
