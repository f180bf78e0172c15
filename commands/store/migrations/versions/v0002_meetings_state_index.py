"""The watch's index: it reads the running meetings page by page, by id, every tick, and
without an index on their state that read scanned the whole table.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a store opened by a meetbot between the index and this revision has it.
    op.create_index("ix_meetings_state", "meetings", ["state", "id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_meetings_state", table_name="meetings")
