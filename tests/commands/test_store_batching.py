"""The store under a burst, on a real SQLite file: calls made at once become one query each
(reads by id, whole-meeting writes, units that only finish their job), and each caller still
gets its own answer, its own error, its own JobLost; a write inside a unit does not wait for
the unit; and the next claimable moment counts another worker's lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from commands.model import Meeting
from commands.store import Job, JobKind, JobLost, MeetingStore, PlannedOccurrence, StoreError
from commands.store.batching import Batch
from tests.commands.test_store import AT, T1, T2, meeting

LEASE = timedelta(minutes=2)


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[MeetingStore]:
    opened = await MeetingStore.open(f"sqlite:///{tmp_path / 'm.db'}")
    yield opened
    await opened.close()


@contextmanager
def statements(store: MeetingStore) -> Iterator[list[str]]:
    """The SQL statements the store sends while in the block."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    engine = store._engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def meetings_with_reminders(store: MeetingStore, count: int) -> list[Meeting]:
    made = [meeting(f"m{index}") for index in range(count)]
    plan = PlannedOccurrence(AT + timedelta(hours=1), ((JobKind.REMIND, AT),))
    for one in made:
        await store.add_meeting(one, plan)
    return made


async def test_reads_by_id_made_at_once_are_one_query(store):
    await meetings_with_reminders(store, 20)
    with statements(store) as sent:
        found = await asyncio.gather(
            *(store.meeting_by_id(f"m{index}") for index in range(20)),
            store.meeting_by_id("nobody"),
            store.get_meeting(T1, "m3"),
            store.get_meeting(T2, "m3"),  # another tenant's: not seen
        )
    assert [m.id if m else None for m in found] == [
        *(f"m{index}" for index in range(20)),
        None,
        "m3",
        None,
    ]
    assert len([s for s in sent if s.startswith("SELECT") and "FROM meetings" in s]) == 1


async def test_meeting_writes_made_at_once_are_one_transaction_each_with_its_answer(store):
    made = await meetings_with_reminders(store, 10)
    renamed = [m.evolve(title=f"Renamed {m.id}") for m in made]
    with statements(store) as sent:
        answers = await asyncio.gather(
            *(store.update_meeting(m) for m in renamed),
            store.update_meeting(meeting("ghost")),
            store.update_meeting(made[0].evolve(tenant=T2)),  # not in that tenant
            return_exceptions=True,
        )
    assert answers[:10] == [None] * 10
    assert [type(a) for a in answers[10:]] == [StoreError, StoreError]
    assert "ghost does not exist in slack:T1" in str(answers[10])
    assert [s for s in sent if s.startswith("UPDATE meetings")] == [sent[-1]], "one statement"
    for m in renamed:
        stored = await store.get_meeting(T1, m.id)
        assert stored is not None
        assert stored.title == m.title
    assert (await store.get_meeting(T2, made[0].id)) is None


async def test_units_that_only_finish_are_done_in_one_statement_each_with_its_jobloss(store):
    await meetings_with_reminders(store, 12)
    jobs = await store.claim_jobs(AT, "w1", lease=LEASE)
    later = AT + LEASE + timedelta(seconds=1)
    # w1 stalled: w2 took the first two over once their lease ran out.
    [taken, taken_too] = await store.claim_jobs(later, "w2", lease=LEASE, limit=2)
    assert {taken.id, taken_too.id} == {jobs[0].id, jobs[1].id}

    async def finish(job: Job) -> None:
        async with store.unit() as unit:
            await unit.finish(job, later)

    with statements(store) as sent:
        answers = await asyncio.gather(*(finish(job) for job in jobs), return_exceptions=True)
    assert [type(a) for a in answers[:2]] == [JobLost, JobLost]
    assert answers[2:] == [None] * 10
    assert len([s for s in sent if s.startswith("UPDATE jobs")]) == 1
    for index, job in enumerate(jobs):
        pending = await store.pending_jobs(job.meeting_id)
        assert bool(pending) == (index < 2), "w1's lost two are w2's to finish"


async def test_a_unit_that_writes_after_a_lost_finish_writes_nothing(store):
    [one] = await meetings_with_reminders(store, 1)
    [job] = await store.claim_jobs(AT, "w1", lease=LEASE)
    later = AT + LEASE + timedelta(seconds=1)
    await store.claim_jobs(later, "w2", lease=LEASE)
    written: list[bool] = []

    async def change() -> None:
        async with store.unit() as unit:
            await unit.finish(job, later)  # held: nothing is written yet
            written.append(await unit.update_meeting_if(one.evolve(title="Changed"), one.state))

    with pytest.raises(JobLost):
        await change()
    assert written == [], "lost before its first write"
    stored = await store.get_meeting(T1, one.id)
    assert stored is not None
    assert stored.title == one.title


async def test_a_store_write_inside_a_unit_does_not_wait_for_the_unit(store):
    [one] = await meetings_with_reminders(store, 1)
    [job] = await store.claim_jobs(AT, "w1", lease=LEASE)

    async def both() -> None:
        async with store.unit() as unit:
            await store.update_meeting(one.evolve(title="Changed"))
            await unit.finish(job, AT)

    await asyncio.wait_for(both(), 5)
    stored = await store.get_meeting(T1, one.id)
    assert stored is not None
    assert stored.title == "Changed"
    assert await store.pending_jobs(one.id) == []


async def test_the_next_claimable_moment_waits_for_another_workers_lease(store):
    await meetings_with_reminders(store, 1)
    assert await store.next_claimable() == AT
    await store.claim_jobs(AT, "w1", lease=LEASE)
    assert await store.next_claimable() == AT + LEASE


async def test_a_failed_batch_query_fails_each_of_its_callers_and_the_next_one_runs():
    calls: list[list[int]] = []

    async def run(keys: list[int]) -> list[int | BaseException]:
        calls.append(keys)
        if len(calls) == 1:
            raise StoreError("the database is gone")
        return [key * 2 if key else StoreError("no zero") for key in keys]

    batch: Batch[int, int] = Batch(run)
    first = await asyncio.gather(batch(1), batch(2), return_exceptions=True)
    assert [str(a) for a in first] == ["the database is gone"] * 2
    second = await asyncio.gather(batch(3), batch(0), batch(4), return_exceptions=True)
    assert (second[0], second[2]) == (6, 8)
    assert isinstance(second[1], StoreError)
    assert calls == [[1, 2], [3, 0, 4]]
