"""The store's record of inbound requests already acted on (the Slack replay guard), on a real
SQLite file (and PostgreSQL, for the race): claims are atomic across handles, and the purge is
bounded and uses its index."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from commands.store import MeetingStore, StoreError

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=6)


@pytest.fixture
async def store(tmp_path):
    opened = await MeetingStore.open(f"sqlite:///{tmp_path / 'm.db'}")
    yield opened
    await opened.close()


def rows(path) -> int:
    with closing(sqlite3.connect(path)) as db, db:
        return int(db.execute("SELECT count(*) FROM seen_requests").fetchone()[0])


async def test_a_key_is_claimed_once(store):
    assert await store.claim_requests({"a": LATER, "b": LATER}) == {"a", "b"}
    assert await store.claim_requests({"a": LATER, "c": LATER}) == {"c"}
    assert await store.claim_requests({}) == set()


async def test_two_handles_racing_on_one_key_give_it_to_exactly_one(store_url):
    # Two handles are two replicas: on PostgreSQL, two processes behind a load balancer.
    url = store_url
    first, second = await MeetingStore.open(url), await MeetingStore.open(url)
    try:
        for round_ in range(20):
            key = f"k{round_}"
            won = await asyncio.gather(
                first.claim_requests({key: LATER}), second.claim_requests({key: LATER})
            )
            assert sorted(map(len, won)) == [0, 1], won
    finally:
        await first.close()
        await second.close()


async def test_with_own_connections_is_the_same_database(store):
    other = await store.with_own_connections()
    try:
        assert await other.claim_requests({"a": LATER}) == {"a"}
        assert await store.claim_requests({"a": LATER}) == set()
    finally:
        await other.close()


async def test_the_purge_is_bounded_and_keeps_live_keys(store, tmp_path):
    expired = {f"old{i}": NOW - timedelta(seconds=i + 1) for i in range(1200)}
    await store.claim_requests(expired)
    await store.claim_requests({"live": LATER})
    assert [await store.purge_requests(NOW, 500) for _ in range(4)] == [500, 500, 200, 0]
    assert rows(tmp_path / "m.db") == 1
    assert await store.claim_requests({"live": LATER}) == set(), "a live key is still known"


async def test_the_purge_reads_the_expiry_index_not_the_table(store, tmp_path):
    # The statement purge_requests sends: a bounded subselect on the expiry, then by key.
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, db:
        plan = [
            str(row[-1])
            for row in db.execute(
                "EXPLAIN QUERY PLAN DELETE FROM seen_requests WHERE key IN (SELECT key FROM "
                "seen_requests WHERE expires_at <= ? ORDER BY expires_at LIMIT 500)",
                (NOW.isoformat(),),
            )
        ]
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert any("ix_seen_requests_expires_at" in step for step in plan), plan


async def test_a_broken_table_is_a_store_error(store, tmp_path):
    with closing(sqlite3.connect(tmp_path / "m.db")) as db, db:
        db.execute("DROP TABLE seen_requests")
    with pytest.raises(StoreError, match="cannot record seen requests"):
        await store.claim_requests({"a": LATER})
    with pytest.raises(StoreError, match="cannot purge seen requests"):
        await store.purge_requests(NOW)
