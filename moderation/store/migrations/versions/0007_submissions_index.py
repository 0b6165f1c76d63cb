"""submissions: drop ix_submissions_platform_id (the unique index on platform_id, kind, external_id, revision
already starts with platform_id; the extra index only cost a write on every intake insert)

Revision ID: 0007_submissions_index
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0007_submissions_index"
down_revision = "0001"
branch_labels = ("submissions_index",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_platform_id")


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index("ix_submissions_platform_id", ["platform_id"], unique=False)
