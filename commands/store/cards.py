"""Where a meeting's cards were posted (platform message refs), to update them in place.

A card is a row of its own, added by one INSERT that skips a ref already there: two posts
remembered at once (a reminder and a command's card) never overwrite each other, as a
read-modify-write of a list on the meeting's row did. Cards remembered at once go in one
transaction (see `commands.store.batching`); a reminder's card is written with its job's end.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from commands.store.dialects import insert
from commands.store.records import CardRef, StoreBase
from commands.store.schema import CardRow, MeetingRow


class CardTables(StoreBase):
    async def card_refs(self, meeting_id: str) -> tuple[str, ...]:
        """The refs of the meeting's cards, in the order they were posted. By id alone: the
        caller has the meeting (and so knows its tenant)."""
        query = select(CardRow.ref).where(CardRow.meeting_id == meeting_id).order_by(CardRow.id)
        async with self._sessions() as session:
            return tuple((await session.scalars(query)).all())

    async def remember_card(self, meeting_id: str, ref: str) -> None:
        """Remember where a card of the meeting was posted (nothing if it is known, or if the
        meeting was deleted meanwhile)."""
        if self._turns.mine():
            # Inside this task's own write (a unit): the batch would wait for it forever.
            await self._write_cards([CardRef(meeting_id, ref)])
            return
        await self._card_writes(CardRef(meeting_id, ref))

    async def _write_cards(self, cards: list[CardRef]) -> list[None]:
        async with self._write() as session:
            await add_cards(session, cards)
        return [None] * len(cards)


async def add_cards(session: AsyncSession, cards: Sequence[CardRef]) -> None:
    """Add the cards not yet known, in `session`, skipping those of meetings that are gone."""
    if not cards:
        return
    wanted = {card.meeting_id for card in cards}
    query = select(MeetingRow.id).where(MeetingRow.id.in_(wanted))
    live = set((await session.scalars(query)).all())
    rows = [{"meeting_id": c.meeting_id, "ref": c.ref} for c in cards if c.meeting_id in live]
    if not rows:
        return
    table = CardRow.__table__
    assert isinstance(table, Table)
    statement = insert(session.get_bind().dialect, table).on_conflict_do_nothing(
        index_elements=[table.c.meeting_id, table.c.ref]
    )
    # The rows as the parameters of one statement: compiled once, whatever their number; on
    # the table, not the mapped class (the ORM's bulk insert cost 15% of a reminder burst).
    await session.execute(statement, rows)
