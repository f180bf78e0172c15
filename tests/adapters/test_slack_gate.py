"""The request gate on its own, with a real SQLite store and clocks the test moves: windows,
expiry and purge, group commits, and how quietly refusals are logged."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import closing

import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.gate import (
    CLOCK_MARGIN_SECONDS,
    NOTE_EVERY_SECONDS,
    PURGE_EVERY_SECONDS,
    WINDOW_SECONDS,
    RequestGate,
)
from commands.store import MeetingStore

SECRET = "gate-secret"
START = 1_800_000_000.0


class Clocks:
    def __init__(self) -> None:
        self.wall = START
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
async def store(tmp_path):
    opened = await MeetingStore.open(f"sqlite:///{tmp_path / 'm.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def gate(store, clocks) -> RequestGate:
    return RequestGate(SECRET, store, clock=lambda: clocks.wall, monotonic=lambda: clocks.mono)


def signed(body: bytes, timestamp: float, secret: str = SECRET) -> tuple[bytes, str, str]:
    ts = str(int(timestamp))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return body, ts, signature


def rows(tmp_path) -> int:
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, db:
        return int(db.execute("SELECT count(*) FROM seen_requests").fetchone()[0])


async def test_a_signed_request_passes_once(gate, clocks):
    request = signed(b"command=%2Fmeet&text=join", clocks.wall)
    assert await gate.check(*request) is None
    refusal = await gate.check(*request)
    assert refusal is not None
    assert (refusal.status, refusal.reason) == (401, "replayed signature")


@pytest.mark.parametrize("age", [-WINDOW_SECONDS - 1, WINDOW_SECONDS + 1])
async def test_outside_the_window_is_refused_and_not_recorded(gate, clocks, tmp_path, age):
    refusal = await gate.check(*signed(b"x=1", clocks.wall - age))
    assert refusal is not None
    assert refusal.reason == "timestamp outside the five-minute window"
    assert rows(tmp_path) == 0


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "reason"),
    [
        (b"x=1", None, "v0=" + "0" * 64, "missing or repeated signing headers"),
        (b"x=1", str(int(START)), None, "missing or repeated signing headers"),
        (b"x=1", "\u0661" * 10, "v0=" + "0" * 64, "malformed timestamp"),  # Arabic-Indic digits
        (b"x=1", "1" * 11, "v0=" + "0" * 64, "malformed timestamp"),
        (b"x=1", str(int(START)), "v1=" + "0" * 64, "malformed signature"),
        (b"x=1", str(int(START)), "v0=" + "A" * 64, "malformed signature"),
        (b"x=1", str(int(START)), "v0=" + "0" * 63, "malformed signature"),
        (b"x=1", str(int(START)), "v0=" + "0" * 64, "wrong signature"),
        (b"\xff\xfe", str(int(START)), "v0=" + "0" * 64, "body is not UTF-8"),
    ],
)
async def test_forgeries_are_refused_and_leave_no_row(
    gate, tmp_path, body, timestamp, signature, reason
):
    refusal = await gate.check(body, timestamp, signature)
    assert refusal is not None
    assert (refusal.status, refusal.reason) == (401, reason)
    assert rows(tmp_path) == 0


async def test_a_wrong_secret_or_a_tampered_body_is_a_wrong_signature(gate, clocks):
    _, ts, signature = signed(b"text=join", clocks.wall)
    for request in (signed(b"text=join", clocks.wall, "other"), (b"text=end", ts, signature)):
        refusal = await gate.check(*request)
        assert refusal is not None
        assert refusal.reason == "wrong signature"


async def test_records_expire_after_the_window_and_margin_and_are_purged(gate, clocks, tmp_path):
    old = signed(b"text=old", clocks.wall)
    assert await gate.check(*old) is None
    clocks.advance(WINDOW_SECONDS + CLOCK_MARGIN_SECONDS - 1)
    assert await gate.check(*signed(b"text=new", clocks.wall)) is None  # the purge runs: too early
    assert rows(tmp_path) == 2
    clocks.advance(max(2.0, PURGE_EVERY_SECONDS))
    assert await gate.check(*signed(b"text=newer", clocks.wall)) is None
    assert rows(tmp_path) == 2, "the first record expired and was purged"
    # The purged request is still refused: by the window now, not by the table.
    refusal = await gate.check(*old)
    assert refusal is not None
    assert refusal.reason == "timestamp outside the five-minute window"


async def test_a_burst_is_a_few_group_commits_and_replays_inside_it_are_refused(
    gate, clocks, store
):
    writes: list[int] = []
    claim = store.claim_requests

    async def counted(keys):
        writes.append(len(keys))
        return await claim(keys)

    store.claim_requests = counted
    requests = [signed(f"text=join&user=U{i}".encode(), clocks.wall) for i in range(200)]
    verdicts = await asyncio.gather(*(gate.check(*r) for r in requests + requests[:10]))
    assert verdicts[:200] == [None] * 200
    assert [v.reason if v else None for v in verdicts[200:]] == ["replayed signature"] * 10
    assert sum(writes) == 200
    assert len(writes) <= 3, writes


async def test_a_store_that_fails_is_503_with_one_warning(gate, clocks, tmp_path, caplog):
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, db:
        db.execute("DROP TABLE seen_requests")
    caplog.set_level(logging.DEBUG, logger="meetbot")
    refusal = await gate.check(*signed(b"x=1", clocks.wall))
    assert refusal is not None
    assert refusal.status == 503
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


async def test_refusals_log_one_info_a_minute_and_debug_otherwise(gate, clocks, caplog):
    caplog.set_level(logging.DEBUG, logger="meetbot")
    for _ in range(100):
        await gate.check(b"x=1", "abc", "v0=" + "0" * 64)
    clocks.advance(NOTE_EVERY_SECONDS)
    await gate.check(b"x=1", "abc", "v0=" + "0" * 64)
    levels = [r.levelno for r in caplog.records]
    assert levels.count(logging.INFO) == 2
    assert levels.count(logging.DEBUG) == 99
    assert all(level < logging.WARNING for level in levels)
    assert "99 more like it" in caplog.records[-1].getMessage()
    assert all(len(r.getMessage()) < 120 for r in caplog.records)
