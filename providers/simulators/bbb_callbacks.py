"""What a BigBlueButton server calls back, done by the simulator as a real server does.

When a meeting ends (by the API's `end`, or from inside the room), a server with
`meta_endCallbackUrl` in the meeting's metadata does `GET <url>` with `recordingmarks=true|false`
appended; when its recording has been processed (the simulator says when), a server with
`meta_bbb-recording-ready-url` does `POST <url>` with the form field `signed_parameters`, a JWT
(HS256, the shared secret) naming `meeting_id` and `record_id` (reference/providers.md, section
on metadata). Calls go out in the background and their outcome is kept in `sent` for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

END_CALLBACK = "endcallbackurl"
RECORDING_READY = "bbb-recording-ready-url"


@dataclass(frozen=True)
class SentCallback:
    kind: str  # "end" or "recording"
    url: str
    status: int | None  # None: the receiver could not be reached


class CallbackSender:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.sent: list[SentCallback] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def ended(self, metadata: Mapping[str, str], *, recorded: bool) -> None:
        url = metadata.get(END_CALLBACK)
        if url:
            joiner = "&" if "?" in url else "?"
            marks = "true" if recorded else "false"
            self._spawn(self._get("end", f"{url}{joiner}recordingmarks={marks}"))

    def recording_ready(self, metadata: Mapping[str, str], meeting_id: str, record_id: str) -> None:
        url = metadata.get(RECORDING_READY)
        if url:
            token = jwt.encode(
                {"meeting_id": meeting_id, "record_id": record_id}, self.secret, algorithm="HS256"
            )
            self._spawn(self._send("recording", url, {"signed_parameters": token}))

    def later(self, seconds: float, then: Callable[[], None]) -> None:
        """Run `then` after `seconds` of real time (a recording's processing), in the
        background like a callback: `settle` waits for it, `cancel` drops it."""
        self._spawn(self._after(seconds, then))

    async def _after(self, seconds: float, then: Callable[[], None]) -> None:
        await asyncio.sleep(seconds)
        then()

    async def _get(self, kind: str, url: str) -> None:
        await self._send(kind, url, None)

    async def _send(self, kind: str, url: str, form: dict[str, str] | None) -> None:
        status: int | None = None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                method = http.post(url, data=form) if form is not None else http.get(url)
                async with method as answer:
                    status = answer.status
        self.sent.append(SentCallback(kind, url, status))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for the callbacks under way (tests, and a clean stop)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
