"""The door of the HTTP endpoint: what a request must show before Bolt sees it.

A request passes when its `X-Slack-Request-Timestamp` is a plain number of seconds within
Slack's five-minute window, its `X-Slack-Signature` is a well-formed `v0=` HMAC that verifies
(constant time, slack_sdk's `SignatureVerifier`), and that signature was never seen before.
Only a verified signature is recorded, so forgeries cannot fill the table; it is kept in the
store until it could no longer verify (window plus a margin for replicas' clocks), so a
captured request replayed to any replica sharing the store is refused. Expired records are
purged now and then, a bounded delete through the expiry index.

Refusals are quiet: anyone can send them, so each costs at most one short log line, at INFO
for the first of its kind in a minute and at DEBUG after that; never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from slack_sdk.signature import Clock, SignatureVerifier

from commands.store import StoreError

log = logging.getLogger("meetbot.slack")

WINDOW_SECONDS = 300  # Slack's tolerance, and slack_sdk's
CLOCK_MARGIN_SECONDS = 60  # replicas' clocks may disagree by this much
PURGE_EVERY_SECONDS = 60.0
PURGE_LIMIT = 500
CLAIM_BATCH = 500
NOTE_EVERY_SECONDS = 60.0

# Ten ASCII digits reach the year 2286; no sign, point, exponent, space or other digits.
_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    # Of the first of its kind in a minute; the rest are DEBUG. What a stranger can send is
    # INFO; a fault of ours, or a signed request we cannot serve, is a WARNING.
    level: int = logging.INFO


class SeenRequests(Protocol):
    """Where verified signatures are remembered (the store)."""

    async def claim_requests(self, keys: Mapping[str, datetime]) -> set[str]: ...

    async def purge_requests(self, now: datetime, limit: int = PURGE_LIMIT) -> int: ...


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RequestGate:
    """Checks a request's signing headers and body; `None` means it may go on to Bolt."""

    def __init__(
        self,
        signing_secret: str,
        seen: SeenRequests,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seen = seen
        self.clock = clock
        self.monotonic = monotonic
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._claims = _Claims(seen)
        self._next_purge = monotonic()
        self.notes = RefusalNotes(monotonic)

    async def check(
        self, body: bytes, timestamp: str | None, signature: str | None
    ) -> Refusal | None:
        refusal = await self._check(body, timestamp, signature)
        if refusal is not None:
            self.notes.note(refusal)
        return refusal

    async def close(self) -> None:
        """Let a claim being written finish (the server has stopped taking requests)."""
        await self._claims.settle()

    async def _check(
        self, body: bytes, timestamp: str | None, signature: str | None
    ) -> Refusal | None:
        if timestamp is None or signature is None:
            return Refusal(401, "missing or repeated signing headers")
        refusal = _malformed(timestamp, signature) or self._unverified(body, timestamp, signature)
        if refusal is not None:
            return refusal
        # Verified: only now is it worth a row (forgeries cannot fill the table).
        sent = int(timestamp)
        expires = datetime.fromtimestamp(sent + WINDOW_SECONDS + CLOCK_MARGIN_SECONDS, UTC)
        try:
            claimed = await self._claims.claim(signature, expires)
        except StoreError as error:
            # Without the record a replay could not be told apart: refuse, and say why.
            return Refusal(503, f"store unavailable ({error})", logging.WARNING)
        if not claimed:
            return Refusal(401, "replayed signature")
        await self._purge()
        return None

    def _unverified(self, body: bytes, timestamp: str, signature: str) -> Refusal | None:
        if abs(self.clock() - int(timestamp)) > WINDOW_SECONDS:
            return Refusal(401, "timestamp outside the five-minute window")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Refusal(401, "body is not UTF-8")
        if not self._verifier.is_valid(text, timestamp, signature):
            return Refusal(401, "wrong signature")
        return None

    async def _purge(self) -> None:
        if self.monotonic() < self._next_purge:
            return
        self._next_purge = self.monotonic() + PURGE_EVERY_SECONDS
        now = datetime.fromtimestamp(self.clock(), UTC)
        try:
            deleted = await self.seen.purge_requests(now, PURGE_LIMIT)
        except StoreError as error:
            log.warning("could not purge seen Slack requests: %s", error)
            return
        if deleted >= PURGE_LIMIT:
            self._next_purge = self.monotonic()  # more are waiting: go on at the next request


class _Claims:
    """Group commit: the claims that arrive while one transaction is written go together in
    the next, so a burst of 200 requests costs a few writes, not 200 contending ones."""

    def __init__(self, seen: SeenRequests) -> None:
        self.seen = seen
        self._waiting: dict[str, tuple[datetime, asyncio.Future[bool]]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def claim(self, key: str, expires: datetime) -> bool:
        if key in self._waiting:
            return False  # the same signature twice in one batch: the second is the replay
        future = asyncio.get_running_loop().create_future()
        self._waiting[key] = (expires, future)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return bool(await future)

    async def settle(self) -> None:
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        while self._waiting:
            batch = dict(list(self._waiting.items())[:CLAIM_BATCH])
            for key in batch:
                del self._waiting[key]
            try:
                claimed = await self.seen.claim_requests(
                    {key: expires for key, (expires, _) in batch.items()}
                )
            except Exception as error:  # a StoreError, normally: each waiting request hears it
                for _, future in batch.values():
                    if not future.done():
                        future.set_exception(error)
                continue
            for key, (_, future) in batch.items():
                if not future.done():  # its request may have gone away meanwhile
                    future.set_result(key in claimed)


def _malformed(timestamp: str, signature: str) -> Refusal | None:
    """Checked before any arithmetic: `int()` of a header can raise or take long."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal(401, "malformed timestamp")
    if not _SIGNATURE.fullmatch(signature):
        return Refusal(401, "malformed signature")
    return None


class RefusalNotes:
    """One log line per refusal: the first of a reason in a minute at its level, DEBUG after."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self._last: dict[str, tuple[float, int]] = {}

    def note(self, refusal: Refusal) -> None:
        now = self.monotonic()
        reason = refusal.reason
        seen = self._last.get(reason)
        if seen is None or now - seen[0] >= NOTE_EVERY_SECONDS:
            self._last[reason] = (now, 0)
            log.log(
                refusal.level,
                "refused a Slack request: %s (%d more like it, at DEBUG, since the last note)",
                reason,
                seen[1] if seen is not None else 0,
            )
        else:
            self._last[reason] = (seen[0], seen[1] + 1)
            log.debug("refused a Slack request: %s", reason)
