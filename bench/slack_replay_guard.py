"""What the Slack replay guard costs a request: the signature check plus its claim in SQLite.

Runs the real RequestGate on a real SQLite store: requests one after another (one claim
transaction each), then bursts arriving together (claims grouped into a few transactions).
Not a test: it prints.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from adapters.slack.gate import RequestGate
from commands.store import MeetingStore

SIGNING = "bench-signing-key"  # not a real one
SEQUENTIAL = int(sys.argv[1]) if len(sys.argv) > 1 else 500
BURST = 200


def signed(index: int) -> tuple[bytes, str, str]:
    body = f"command=%2Fmeet&text=join+Lecture&user_id=U{index:06d}".encode()
    ts = str(int(time.time()))
    signature = SignatureVerifier(SIGNING).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return body, ts, signature


class Counted:
    """The store, counting its claim transactions."""

    def __init__(self, store: MeetingStore) -> None:
        self.store = store
        self.writes = 0

    async def claim_requests(self, keys: Mapping[str, datetime]) -> set[str]:
        self.writes += 1
        return await self.store.claim_requests(keys)

    async def purge_requests(self, now: datetime, limit: int = 500) -> int:
        return await self.store.purge_requests(now, limit)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await MeetingStore.open(f"sqlite:///{Path(folder) / 'bench.db'}")
        seen = Counted(store)
        gate = RequestGate(SIGNING, seen)
        try:
            samples = []
            for index in range(SEQUENTIAL):
                request = signed(index)
                started = time.perf_counter()
                assert await gate.check(*request) is None
                samples.append((time.perf_counter() - started) * 1000)
            print(
                f"one at a time ({SEQUENTIAL} requests): median "
                f"{statistics.median(samples):.2f} ms, p95 "
                f"{sorted(samples)[int(0.95 * len(samples))]:.2f} ms per request"
            )
            for round_ in range(3):
                burst = [signed(100_000 * (round_ + 1) + i) for i in range(BURST)]
                seen.writes = 0
                started = time.perf_counter()
                verdicts = await asyncio.gather(*(gate.check(*r) for r in burst))
                took = (time.perf_counter() - started) * 1000
                assert verdicts == [None] * BURST
                print(
                    f"burst of {BURST}: {took:.0f} ms for all, {seen.writes} claim "
                    f"transaction(s), {took / BURST:.2f} ms per request"
                )
        finally:
            await gate.close()
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
