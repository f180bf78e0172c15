"""Two processes writing the same thing at once, as two replicas on one store do: two handles
on one database (each its own connections), on SQLite and on PostgreSQL. Every write either
may make is one statement (an upsert), so both succeed and the row is there once; a read,
then an insert, let both insert and the second fail on the key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from commands.store import JobKind, MeetingStore, PlannedOccurrence
from providers.base import Attendee, Role
from tests.commands.test_store import AT, T1, meeting

ROUNDS = 8


@pytest.fixture
async def handles(store_url) -> AsyncIterator[tuple[MeetingStore, MeetingStore]]:
    first = await MeetingStore.open(store_url)
    second = await MeetingStore.open(store_url, migrated=True)
    yield first, second
    await first.close()
    await second.close()


async def race(
    handles: tuple[MeetingStore, MeetingStore],
    write: Callable[[MeetingStore, int], Awaitable[object]],
) -> None:
    """`write` by both handles at once, `ROUNDS` times (a new key each round)."""
    for round_ in range(ROUNDS):
        await asyncio.gather(*(write(handle, round_) for handle in handles))


async def test_values_dm_channels_and_zones_written_at_once(handles):
    first, _second = handles
    await race(handles, lambda store, n: store.set_value(f"key{n}", "v"))
    await race(handles, lambda store, n: store.remember_dm_channel(f"slack:T1:U{n}", "D1", AT))
    await race(handles, lambda store, n: store.set_user_zone(f"slack:T1:U{n}", "UTC", AT))
    for n in range(ROUNDS):
        assert await first.get_value(f"key{n}") == "v"
        assert await first.dm_channel(f"slack:T1:U{n}") == "D1"
        assert await first.user_zone(f"slack:T1:U{n}") == "UTC"


async def test_attendance_and_removals_recorded_at_once(handles):
    first, _second = handles
    await first.add_meeting(meeting())
    seen = [Attendee(name=f"P{n}", user_id=f"u{n}", role=Role.ATTENDEE) for n in range(5)]
    await race(handles, lambda store, n: store.record_attendance("m1", f"s{n}", seen, AT))
    await race(handles, lambda store, n: store.remove_people("m1", [f"k{n}"], by="x", at=AT))
    for n in range(ROUNDS):
        assert len(await first.recorded_attendance(T1, "m1", f"s{n}")) == 5
        assert await first.is_removed("m1", f"k{n}")


async def test_a_slot_planned_by_two_processes_at_once_is_planned_once(handles):
    first, _second = handles
    await first.add_meeting(meeting())

    async def plan(store: MeetingStore, n: int) -> None:
        slot = AT + (n + 1) * (AT - AT.replace(hour=7))
        async with store.unit() as unit:
            await unit.add_occurrence("m1", PlannedOccurrence(slot, ((JobKind.OPEN, slot),)))

    await race(handles, plan)
    assert len(await first.occurrences(T1, "m1")) == ROUNDS
    assert len(await first.pending_jobs("m1")) == ROUNDS
