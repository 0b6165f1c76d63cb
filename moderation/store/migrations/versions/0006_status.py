"""status: planned-maintenance and outage announcements (Decree 64/2007 Art. 16)

Revision ID: 0006_status
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import moderation.store.base


revision = "0006_status"
down_revision = "0001"
branch_labels = ("status",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_announcements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("starts_at", moderation.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", moderation.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expected_recovery", moderation.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_vi", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("components", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("notice_working_days", sa.Integer(), nullable=True),
        sa.Column("created_at", moderation.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", moderation.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_announcements")),
    )
    with op.batch_alter_table("status_announcements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_announcements_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_announcements_ends_at"), ["ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("status_announcements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_announcements_ends_at"))
        batch_op.drop_index(batch_op.f("ix_status_announcements_starts_at"))
    op.drop_table("status_announcements")
