"""Layout 3, the baseline: every table as meetbot had them when migrations began.

Each table is made only when missing: a store written before migrations (by `create_all`,
which added tables as meetbot grew without changing the layout's number) may lack some of
them, and this revision is how such a store is brought to the baseline before it is stamped.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

LAYOUT_KEY = "meetbot.schema_version"


def _meeting_id() -> sa.Column[str]:
    return sa.Column(
        "meeting_id",
        sa.String(64),
        sa.ForeignKey("meetings.id", ondelete="CASCADE"),
        nullable=False,
    )


def _table(name: str, *columns: sa.schema.SchemaItem) -> bool:
    """Make the table unless it is there; True when it was made (its indexes follow)."""
    if sa.inspect(op.get_bind()).has_table(name):
        return False
    op.create_table(name, *columns)
    return True


def upgrade() -> None:
    if _table(
        "meetings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_key", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("room", sa.JSON(), nullable=False),
        sa.Column("creator_key", sa.String(256), nullable=False),
        sa.Column("creator_name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("invitees", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
    ):
        op.create_index("ix_meetings_tenant_channel", "meetings", ["tenant_key", "channel_id"])
        op.create_index(
            "ix_meetings_tenant_title", "meetings", ["tenant_key", sa.text("lower(title)")]
        )
    if _table(
        "cards",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("ref", sa.String(256), nullable=False),
    ):
        op.create_index("ux_cards_meeting_ref", "cards", ["meeting_id", "ref"], unique=True)
    if _table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("attendee_count", sa.Integer(), nullable=True),
    ):
        op.create_index("ix_sessions_meeting_id", "sessions", ["meeting_id"])
    if _table(
        "join_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("user_key", sa.String(256), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    ):
        op.create_index("ix_join_log_meeting_id", "join_log", ["meeting_id"])
    _table(
        "dm_channels",
        sa.Column("user_key", sa.String(256), primary_key=True),
        sa.Column("channel_id", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    if _table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    ):
        op.create_index("ix_reminders_meeting_id", "reminders", ["meeting_id"])
        op.create_index("ix_reminders_due_at", "reminders", ["due_at"])
    _table(
        "kv",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    # The numbered layout, for meetbots from before migrations, which read it and refuse a
    # store of a layout they do not know; a revision that changes the layout raises it.
    kv = sa.table("kv", sa.column("key"), sa.column("value"))
    known = op.get_bind().execute(sa.select(kv.c.value).where(kv.c.key == LAYOUT_KEY)).first()
    if known is None:
        op.bulk_insert(kv, [{"key": LAYOUT_KEY, "value": "3"}])
    _table(
        "removals",
        sa.Column(
            "meeting_id",
            sa.String(64),
            sa.ForeignKey("meetings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_key", sa.String(256), primary_key=True),
        sa.Column("removed_by", sa.String(256), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    if _table(
        "attendance",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("person", sa.String(256), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    ):
        op.create_index(
            "ux_attendance_person",
            "attendance",
            ["meeting_id", "session_id", "person"],
            unique=True,
        )
    if _table(
        "seen_requests",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    ):
        op.create_index("ix_seen_requests_expires_at", "seen_requests", ["expires_at"])
    if _table(
        "occurrences",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("session_id", sa.String(128), nullable=True),
    ):
        op.create_index(
            "ux_occurrence_slot", "occurrences", ["meeting_id", "starts_at"], unique=True
        )
    if _table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        _meeting_id(),
        sa.Column(
            "occurrence_id",
            sa.Integer(),
            sa.ForeignKey("occurrences.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    ):
        op.create_index("ux_job_per_occurrence", "jobs", ["kind", "occurrence_id"], unique=True)
        op.create_index("ix_jobs_pending", "jobs", ["done_at", "due_at"])
    _table(
        "user_zones",
        sa.Column("user_key", sa.String(256), primary_key=True),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
    )
    if _table(
        "recording_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _meeting_id(),
        sa.Column("recording_id", sa.String(256), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
    ):
        op.create_index(
            "ux_recording_post", "recording_posts", ["meeting_id", "recording_id"], unique=True
        )


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: start from an empty store instead")
