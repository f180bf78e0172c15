"""Time in the store: occurrences of meetings and the job queue the clock drives.

A job is claimed by one worker at a time with a lease: one conditional UPDATE per batch takes
pending, due jobs whose lease (if any) ran out, so of two schedulers on one store each job goes
to exactly one (on PostgreSQL the candidates are also locked with FOR UPDATE SKIP LOCKED). A
handler's effects on our records and the job's "done" are written in one `Unit` (transaction):
a worker whose lease was taken over meanwhile cannot finish, and its whole unit rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from commands.model import Meeting, MeetingState, Occurrence, OccurrenceState, Tenant
from commands.store.cards import add_cards
from commands.store.dialects import insert
from commands.store.errors import failed, guarded
from commands.store.history import record_seen
from commands.store.meetings import meeting_columns, update_if
from commands.store.records import (
    CardRef,
    Finish,
    Job,
    JobKind,
    PlannedOccurrence,
    StoreBase,
    StoreError,
)
from commands.store.schema import JobRow, MeetingRow, OccurrenceRow, UtcDateTime
from providers.base import Attendee

#: how many jobs one claim takes at the most
CLAIM_BATCH = 500


class JobLost(StoreError):
    """The job's lease ran out and another worker took it: this worker's unit rolled back."""


class TimelineTables(StoreBase):
    async def add_meeting(self, meeting: Meeting, first: PlannedOccurrence | None = None) -> None:
        """Record a new meeting with its first occurrence and that occurrence's jobs (its
        reminder, its opening, its end), in one transaction: all or nothing."""
        try:
            async with self._write() as session:
                session.add(MeetingRow(**meeting_columns(meeting)))
                await session.flush()
                if first is not None:
                    await Unit(session).add_occurrence(meeting.id, first)
        except SQLAlchemyError as error:
            raise StoreError(
                f"cannot record meeting {meeting.id}: {type(error).__name__}"
            ) from error

    async def occurrences(self, tenant: Tenant, meeting_id: str) -> list[Occurrence]:
        query = (
            select(OccurrenceRow)
            .join(MeetingRow, MeetingRow.id == OccurrenceRow.meeting_id)
            .where(MeetingRow.tenant_key == tenant.key, OccurrenceRow.meeting_id == meeting_id)
            .order_by(OccurrenceRow.starts_at)
        )
        async with self._sessions() as session:
            return [occurrence_of(row) for row in (await session.scalars(query)).all()]

    async def occurrence(self, occurrence_id: int) -> Occurrence | None:
        """For the bot's own jobs only (an answer to a user goes through `occurrences`)."""
        return await self._occurrence_reads(occurrence_id)

    async def _read_occurrences(self, ids: list[int]) -> list[Occurrence | None]:
        query = select(OccurrenceRow).where(OccurrenceRow.id.in_(set(ids)))
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
            found = {row.id: occurrence_of(row) for row in rows}
        return [found.get(occurrence_id) for occurrence_id in ids]

    async def current_occurrence(self, meeting_id: str) -> Occurrence | None:
        """The earliest occurrence not yet over (open or scheduled), else the latest one."""
        async with self._sessions() as session:
            return await _current(session, meeting_id)

    async def upcoming_start(self, meeting_id: str) -> datetime | None:
        """When the meeting's next occurrence still to come starts (None: none is planned)."""
        query = select(func.min(OccurrenceRow.starts_at)).where(
            OccurrenceRow.meeting_id == meeting_id,
            OccurrenceRow.state == OccurrenceState.SCHEDULED.value,
        )
        async with self._sessions() as session:
            found: datetime | None = (await session.execute(query)).scalar()
        return _utc(found)

    async def claim_jobs(
        self,
        now: datetime,
        worker: str,
        *,
        lease: timedelta,
        limit: int = CLAIM_BATCH,
        before: datetime | None = None,
        kinds: Collection[JobKind] | None = None,
    ) -> list[Job]:
        """Take up to `limit` jobs for `worker`, oldest due first: those due by `before` (by
        `now` unless told), of `kinds` (any unless told), held until `lease` after `before`
        (so a job claimed ahead is held a lease past the latest due time it was claimed for)."""
        until = before or now
        claimable = [
            JobRow.done_at.is_(None),
            JobRow.due_at <= until,
            or_(JobRow.claimed_until.is_(None), JobRow.claimed_until <= now),
        ]
        if kinds is not None:
            claimable.append(JobRow.kind.in_([kind.value for kind in kinds]))
        candidates = select(JobRow.id).where(*claimable).order_by(JobRow.due_at, JobRow.id)
        candidates = candidates.limit(limit)
        if self._engine.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        claim = (
            update(JobRow)
            .where(JobRow.id.in_(candidates.scalar_subquery()), *claimable)
            .values(claimed_by=worker, claimed_until=until + lease, attempts=JobRow.attempts + 1)
            .returning(JobRow)
        )
        async with self._write() as session:
            rows = (await session.scalars(claim)).all()
            jobs = [_job(row) for row in rows]
        return sorted(jobs, key=lambda job: (job.due_at, job.id))

    async def next_due(self, *, besides: Sequence[JobKind] = ()) -> datetime | None:
        """When the earliest pending job is due (claimed or not), leaving out `besides`."""
        query = select(func.min(JobRow.due_at)).where(JobRow.done_at.is_(None))
        if besides:
            query = query.where(JobRow.kind.not_in([kind.value for kind in besides]))
        async with self._sessions() as session:
            found: datetime | None = (await session.execute(query)).scalar()
        return _utc(found)

    async def next_claimable(self, kinds: Collection[JobKind] | None = None) -> datetime | None:
        """The earliest moment a pending job (of `kinds`, if told) can be claimed: its due
        time, or the end of the lease another worker holds on it (a scheduler sleeps until
        then, not a poll longer)."""
        ready = case(
            (JobRow.claimed_until > JobRow.due_at, JobRow.claimed_until), else_=JobRow.due_at
        )
        query = select(func.min(ready)).where(JobRow.done_at.is_(None))
        if kinds is not None:
            query = query.where(JobRow.kind.in_([kind.value for kind in kinds]))
        async with self._sessions() as session:
            found: datetime | None = (await session.execute(query)).scalar()
        return _utc(found)

    async def pending_jobs(self, meeting_id: str) -> list[tuple[JobKind, datetime, int | None]]:
        """(kind, due at, occurrence) of the meeting's jobs not done yet, in due order."""
        query = (
            select(JobRow)
            .where(JobRow.meeting_id == meeting_id, JobRow.done_at.is_(None))
            .order_by(JobRow.due_at, JobRow.id)
        )
        async with self._sessions() as session:
            return [
                (JobKind(r.kind), r.due_at, r.occurrence_id)
                for r in (await session.scalars(query)).all()
            ]

    async def release_job(
        self, job: Job, *, error: str, retry_at: datetime | None, at: datetime
    ) -> None:
        """A handler failed: try again at `retry_at`, or (None) give the job up as done."""
        values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
        values["last_error"] = error[:500]
        if retry_at is None:
            values["done_at"] = at
        else:
            values["due_at"] = retry_at
        query = (
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.claimed_by == job.claimed_by)
            .where(JobRow.done_at.is_(None))
            .values(**values)
        )
        async with self._write() as session:
            await session.execute(query)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One transaction for a handler's effects and its job's end: all or nothing. It is
        begun by the unit's first write; a unit that only finishes its job (a reminder's
        record) is finished together with the others of that moment, in one statement."""
        try:
            async with AsyncExitStack() as stack:

                async def begin() -> AsyncSession:
                    return await stack.enter_async_context(self._write())

                unit = Unit(begin=begin)
                yield unit
                alone = unit.lone_finish()
            if alone is None:
                return
            # Inside this task's own write (a unit in a unit) the batch would wait for it
            # forever.
            [done] = (
                await self._finish_jobs([alone])
                if self._turns.mine()
                else [await self._finishes(alone)]
            )
        except SQLAlchemyError as error:  # the commit, or a write made straight on a session
            raise failed("a unit", error) from error
        if not done:
            raise JobLost(f"job {alone.job_id} was taken over by another worker")

    async def _finish_jobs(self, asks: list[Finish]) -> list[bool]:
        """Jobs done at once, in one transaction and a statement per worker, with the cards
        their posts left; for each, whether its worker still held it (else it is `JobLost`).
        A lost job's card is remembered all the same: the post is in the channel."""
        done: set[tuple[int, str]] = set()
        async with self._write() as session:
            for worker in dict.fromkeys(ask.worker for ask in asks):
                mine = {ask.job_id: ask.at for ask in asks if ask.worker == worker}
                moments = set(mine.values())
                # Reminders prepared ahead are all done "at" their common due time: one value.
                when = (
                    literal(next(iter(moments)), UtcDateTime())
                    if len(moments) == 1
                    else case(
                        {job_id: literal(at, UtcDateTime()) for job_id, at in mine.items()},
                        value=JobRow.id,
                    )
                )
                query = (
                    update(JobRow)
                    .where(JobRow.id.in_(mine), JobRow.claimed_by == worker)
                    .where(JobRow.done_at.is_(None))
                    .values(done_at=when, claimed_until=None)
                    .returning(JobRow.id)
                    .execution_options(synchronize_session=False)
                )
                done |= {(job_id, worker) for job_id in (await session.scalars(query)).all()}
            await add_cards(session, [card for ask in asks for card in ask.cards])
        answers = []
        for ask in asks:
            answers.append((ask.job_id, ask.worker) in done)
            done.discard((ask.job_id, ask.worker))  # the same job asked twice: done once
        return answers


@guarded
class Unit:
    """The writes a job handler (or a command that changes an occurrence) makes together:
    in `session`, or (from `store.unit()`) in a transaction begun by its first write."""

    def __init__(
        self,
        session: AsyncSession | None = None,
        *,
        begin: Callable[[], Awaitable[AsyncSession]] | None = None,
    ) -> None:
        self._session = session
        self._begin = begin
        self._finish: Finish | None = None  # asked, not written yet

    async def _open(self) -> AsyncSession:
        """The unit's transaction, with the finish asked before it (if any) written first."""
        if self._session is None:
            assert self._begin is not None
            self._session = await self._begin()
        if self._finish is not None:
            asked, self._finish = self._finish, None
            await _finish(self._session, asked.job_id, asked.worker, asked.at)
            await add_cards(self._session, asked.cards)
        return self._session

    def lone_finish(self) -> Finish | None:
        """The finish asked of a unit that wrote nothing else (the store does it), if any."""
        asked, self._finish = self._finish, None
        return asked

    async def finish(self, job: Job, at: datetime) -> None:
        """Mark `job` done, if `job.claimed_by` still holds it; else `JobLost` rolls back.
        Asked first, before any other write, it is held until the unit's next write (which
        raises `JobLost` instead, before writing), or made with others' at the unit's end."""
        if self._session is None and self._finish is None and self._begin is not None:
            self._finish = Finish(job.id, job.claimed_by, at)
            return
        await _finish(await self._open(), job.id, job.claimed_by, at)

    async def remember_card(self, meeting_id: str, ref: str) -> None:
        """Remember where a card of the meeting was posted, with the unit's other writes (with
        a finish still held, together with it)."""
        card = CardRef(meeting_id, ref)
        if self._session is None and self._finish is not None:
            self._finish = replace(self._finish, cards=(*self._finish.cards, card))
            return
        await add_cards(await self._open(), [card])

    async def add_occurrence(
        self, meeting_id: str, planned: PlannedOccurrence
    ) -> Occurrence | None:
        """Record an occurrence and its jobs; None (and nothing written) if that slot exists.
        One INSERT that skips a slot already there: of two processes planning the same slot
        (two replicas opening a series), exactly one plans it, and the other's unit goes on."""
        session = await self._open()
        row_id = (
            await session.scalars(
                insert(session.get_bind().dialect, OccurrenceRow)
                .values(
                    meeting_id=meeting_id, starts_at=planned.starts_at, state=planned.state.value
                )
                .on_conflict_do_nothing(
                    index_elements=[OccurrenceRow.meeting_id, OccurrenceRow.starts_at]
                )
                .returning(OccurrenceRow.id)
            )
        ).first()
        if row_id is None:
            return None
        row = await session.get(OccurrenceRow, row_id)
        assert row is not None
        for kind, due in planned.jobs:
            await self.add_job(kind, meeting_id, row_id, due)
        return occurrence_of(row)

    async def replan(self, occurrence: Occurrence, planned: PlannedOccurrence) -> Occurrence:
        """Move a scheduled occurrence to `planned` (its start and jobs), in place: its pending
        jobs are replaced. Refused (StoreError) if that slot is another occurrence's."""
        session = await self._open()
        clash = select(OccurrenceRow.id).where(
            OccurrenceRow.meeting_id == occurrence.meeting_id,
            OccurrenceRow.starts_at == planned.starts_at,
            OccurrenceRow.id != occurrence.id,
        )
        if (await session.execute(clash)).first() is not None:
            raise StoreError(f"the meeting already has an occurrence at {planned.starts_at}")
        await self.drop_jobs(occurrence.id, tuple(JobKind))
        row = await session.get(OccurrenceRow, occurrence.id)
        if row is None:
            raise StoreError(f"occurrence {occurrence.id} does not exist")
        row.starts_at = planned.starts_at
        row.state = planned.state.value
        for kind, due in planned.jobs:
            session.add(
                JobRow(
                    kind=kind.value,
                    meeting_id=occurrence.meeting_id,
                    occurrence_id=occurrence.id,
                    due_at=due,
                    attempts=0,
                )
            )
        await session.flush()
        return occurrence_of(row)

    async def upcoming(self, meeting_id: str) -> list[Occurrence]:
        """The meeting's occurrences still to come (scheduled), earliest first."""
        query = (
            select(OccurrenceRow)
            .where(
                OccurrenceRow.meeting_id == meeting_id,
                OccurrenceRow.state == OccurrenceState.SCHEDULED.value,
            )
            .order_by(OccurrenceRow.starts_at)
        )
        session = await self._open()
        return [occurrence_of(row) for row in (await session.scalars(query)).all()]

    async def update_occurrence(self, occurrence: Occurrence) -> None:
        session = await self._open()
        row = await session.get(OccurrenceRow, occurrence.id)
        if row is None:
            raise StoreError(f"occurrence {occurrence.id} does not exist")
        row.state = occurrence.state.value
        row.opened_at = occurrence.opened_at
        row.ended_at = occurrence.ended_at
        row.session_id = occurrence.session_id

    async def current_occurrence(self, meeting_id: str) -> Occurrence | None:
        session = await self._open()
        return await _current(session, meeting_id)

    async def next_occurrence(self, meeting_id: str, after: datetime) -> Occurrence | None:
        """The first occurrence of the meeting that starts after `after`."""
        session = await self._open()
        query = (
            select(OccurrenceRow)
            .where(OccurrenceRow.meeting_id == meeting_id, OccurrenceRow.starts_at > after)
            .order_by(OccurrenceRow.starts_at)
            .limit(1)
        )
        row = (await session.scalars(query)).first()
        return occurrence_of(row) if row is not None else None

    async def miss_before(self, meeting_id: str, before: datetime) -> int:
        """Occurrences that started before `before` and never had a session: missed."""
        session = await self._open()
        query = (
            update(OccurrenceRow)
            .where(
                OccurrenceRow.meeting_id == meeting_id,
                OccurrenceRow.starts_at < before,
                OccurrenceRow.session_id.is_(None),
                OccurrenceRow.state.in_(
                    [OccurrenceState.SCHEDULED.value, OccurrenceState.OPEN.value]
                ),
            )
            .values(state=OccurrenceState.MISSED.value)
        )
        result = await session.execute(query)
        return int(getattr(result, "rowcount", 0))

    async def reschedule(self, occurrence_id: int, kind: JobKind, due: datetime) -> None:
        """Move the occurrence's pending job of `kind` (e.g. its end, when it opened late)."""
        session = await self._open()
        query = (
            update(JobRow)
            .where(
                JobRow.occurrence_id == occurrence_id,
                JobRow.kind == kind.value,
                JobRow.done_at.is_(None),
            )
            .values(due_at=due)
        )
        await session.execute(query)

    async def drop_jobs(self, occurrence_id: int, kinds: Sequence[JobKind]) -> None:
        """Jobs of the occurrence that no longer have anything to do."""
        session = await self._open()
        await session.execute(
            delete(JobRow).where(
                JobRow.occurrence_id == occurrence_id,
                JobRow.kind.in_([k.value for k in kinds]),
                JobRow.done_at.is_(None),
            )
        )

    async def add_job(
        self, kind: JobKind, meeting_id: str, occurrence_id: int, due: datetime
    ) -> None:
        """Plan a job of `kind` for the occurrence, unless it has one (done or not) already:
        one INSERT that skips it then, so two processes never plan it twice."""
        session = await self._open()
        await session.execute(
            insert(session.get_bind().dialect, JobRow)
            .values(
                kind=kind.value,
                meeting_id=meeting_id,
                occurrence_id=occurrence_id,
                due_at=due,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[JobRow.kind, JobRow.occurrence_id])
        )

    async def plan_job(
        self, meeting_id: str, occurrence_id: int, kind: JobKind, due: datetime
    ) -> None:
        """Plan the occurrence's job of `kind` at `due`; one already pending stays as it is,
        one done is armed again (an occurrence has one job of a kind). One statement, so two
        processes planning it at once plan it once."""
        session = await self._open()
        statement = insert(session.get_bind().dialect, JobRow).values(
            kind=kind.value,
            meeting_id=meeting_id,
            occurrence_id=occurrence_id,
            due_at=due,
            attempts=0,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[JobRow.kind, JobRow.occurrence_id],
                set_={
                    "due_at": statement.excluded.due_at,
                    "done_at": None,
                    "attempts": 0,
                    "last_error": None,
                },
                where=JobRow.done_at.is_not(None),
            )
        )

    async def again(self, job: Job, due: datetime) -> None:
        """Instead of finishing `job`, arm it again for `due` (a job that recurs while its
        occurrence lasts: one row, not one per round). `JobLost` if its lease was taken, or
        it was dropped meanwhile (the meeting ended)."""
        session = await self._open()
        query = (
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.claimed_by == job.claimed_by)
            .where(JobRow.done_at.is_(None))
            .values(due_at=due, claimed_by=None, claimed_until=None, attempts=0, last_error=None)
        )
        result = await session.execute(query)
        if getattr(result, "rowcount", 0) != 1:
            raise JobLost(f"job {job.id} was taken over or dropped meanwhile")

    async def record_sample(
        self, meeting_id: str, session_id: str, attendees: Collection[Attendee], at: datetime
    ) -> None:
        """Who the provider said was in the session at `at` (see `history.record_seen`)."""
        await record_seen(await self._open(), meeting_id, session_id, attendees, at, sampled=True)

    async def update_meeting_if(self, meeting: Meeting, expected: MeetingState) -> bool:
        """Write `meeting` only if its stored state is still `expected` (see `update_if`)."""
        session = await self._open()
        result = await session.execute(update_if(meeting, expected))
        return bool(getattr(result, "rowcount", 0) == 1)


async def _finish(session: AsyncSession, job_id: int, claimed_by: str, at: datetime) -> None:
    query = (
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.claimed_by == claimed_by)
        .where(JobRow.done_at.is_(None))
        .values(done_at=at, claimed_until=None)
    )
    result = await session.execute(query)
    if getattr(result, "rowcount", 0) != 1:
        raise JobLost(f"job {job_id} was taken over by another worker")


async def _current(session: AsyncSession, meeting_id: str) -> Occurrence | None:
    open_states = [OccurrenceState.SCHEDULED.value, OccurrenceState.OPEN.value]
    base = select(OccurrenceRow).where(OccurrenceRow.meeting_id == meeting_id)
    row = (
        await session.scalars(
            base.where(OccurrenceRow.state.in_(open_states))
            .order_by(OccurrenceRow.starts_at)
            .limit(1)
        )
    ).first()
    if row is None:
        row = (
            await session.scalars(base.order_by(OccurrenceRow.starts_at.desc()).limit(1))
        ).first()
    return occurrence_of(row) if row is not None else None


def occurrence_of(row: OccurrenceRow) -> Occurrence:
    return Occurrence(
        id=row.id,
        meeting_id=row.meeting_id,
        starts_at=row.starts_at,
        state=OccurrenceState(row.state),
        opened_at=row.opened_at,
        ended_at=row.ended_at,
        session_id=row.session_id,
    )


def _job(row: JobRow) -> Job:
    assert row.claimed_by is not None  # only claimed rows are read as jobs
    return Job(
        id=row.id,
        kind=JobKind(row.kind),
        meeting_id=row.meeting_id,
        occurrence_id=row.occurrence_id,
        due_at=row.due_at,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
    )


def _utc(moment: datetime | None) -> datetime | None:
    # An aggregate bypasses the column type: SQLite hands back a naive UTC datetime or text.
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
