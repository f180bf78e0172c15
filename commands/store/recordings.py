"""Recordings posted in chat: each one exactly once, however many posters race for it.

A poster (the recording-ready callback, a poll job; in this process or another one on the
store) first claims the recording: one INSERT ... ON CONFLICT DO NOTHING, or, for a claim
whose poster died before it was posted, one conditional UPDATE once its lease ran out. Only
the poster holding the claim posts, then marks it posted; a post that failed releases it, so
the next poll tries again. What a poster sees as "not mine" it leaves alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from commands.store.dialects import insert
from commands.store.records import StoreBase, StoreError
from commands.store.schema import RecordingPostRow, ValueRow

#: how long a claim holds before another poster may take it over (a post is one API call)
CLAIM_LEASE = timedelta(minutes=2)


def legacy_key(meeting_id: str, recording_id: str) -> str:
    """Where the first callbacks remembered a posted recording (the `kv` table)."""
    return f"recordings.posted.{meeting_id}.{recording_id}"


class RecordingTables(StoreBase):
    async def claim_recording(
        self,
        meeting_id: str,
        recording_id: str,
        poster: str,
        now: datetime,
        *,
        lease: timedelta = CLAIM_LEASE,
    ) -> int | None:
        """The claim's id if `poster` holds it now (new, its own again, or taken over after
        its lease ran out); None when it is posted already or another poster holds it."""
        values = {"claimed_by": poster, "claimed_until": now + lease}
        claim = (
            insert(self._engine.dialect, RecordingPostRow)
            .values(meeting_id=meeting_id, recording_id=recording_id, **values)
            .on_conflict_do_nothing(
                index_elements=[RecordingPostRow.meeting_id, RecordingPostRow.recording_id]
            )
            .returning(RecordingPostRow.id)
        )
        take_over = (
            update(RecordingPostRow)
            .where(
                RecordingPostRow.meeting_id == meeting_id,
                RecordingPostRow.recording_id == recording_id,
                RecordingPostRow.posted_at.is_(None),
                or_(
                    RecordingPostRow.claimed_until.is_(None),
                    RecordingPostRow.claimed_until <= now,
                    RecordingPostRow.claimed_by == poster,
                ),
            )
            .values(**values)
            .returning(RecordingPostRow.id)
        )
        try:
            async with self._write() as session:
                if await session.get(ValueRow, legacy_key(meeting_id, recording_id)):
                    return None  # posted by a bot of the layout before this table
                claimed = (await session.scalars(claim)).first()
                if claimed is None:
                    claimed = (await session.scalars(take_over)).first()
                return claimed
        except SQLAlchemyError as error:
            raise StoreError(f"cannot claim a recording: {type(error).__name__}") from error

    async def recording_posted(self, claim: int, poster: str, at: datetime) -> bool:
        """The claimed recording is out: never posted again. False if `poster` had lost it."""
        return await self._settle(claim, poster, posted_at=at, claimed_until=None)

    async def release_recording(self, claim: int, poster: str) -> None:
        """The post failed: whoever comes next (the next poll) may claim it at once."""
        await self._settle(claim, poster, claimed_by=None, claimed_until=None)

    async def _settle(self, claim: int, poster: str, **values: object) -> bool:
        query = (
            update(RecordingPostRow)
            .where(
                RecordingPostRow.id == claim,
                RecordingPostRow.claimed_by == poster,
                RecordingPostRow.posted_at.is_(None),
            )
            .values(**values)
            .returning(RecordingPostRow.id)
        )
        async with self._write() as session:
            return (await session.scalars(query)).first() is not None

    async def is_recording_posted(self, meeting_id: str, recording_id: str) -> bool:
        query = select(RecordingPostRow.posted_at).where(
            RecordingPostRow.meeting_id == meeting_id,
            RecordingPostRow.recording_id == recording_id,
        )
        async with self._sessions() as session:
            if await session.get(ValueRow, legacy_key(meeting_id, recording_id)):
                return True
            return (await session.execute(query)).scalar() is not None

    async def posted_recording(self, claim: int) -> tuple[str, str] | None:
        """(meeting id, recording id) of a posted recording, by the id its buttons carry."""
        async with self._sessions() as session:
            row = await session.get(RecordingPostRow, claim)
            if row is None or row.posted_at is None:
                return None
            return row.meeting_id, row.recording_id
