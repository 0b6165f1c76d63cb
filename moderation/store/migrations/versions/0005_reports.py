"""reports: stored, frozen semiannual and ad-hoc reports (Circular 07/2008 §6), one row per generated version

Revision ID: 0005_reports
Revises: 0001
Create Date: 2026-11-23 12:30:42.916637
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import moderation.store.base

revision = "0005_reports"
down_revision = "0001"
branch_labels = ("reports",)
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('platform_id', sa.String(length=40), nullable=True),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('regime', sa.String(length=100), nullable=False),
    sa.Column('period_key', sa.String(length=100), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('generated_at', moderation.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('generated_by', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], name=op.f('fk_reports_platform_id_platforms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('scope', 'kind', 'period_key', 'version', name=op.f('uq_reports_scope_kind_period_key_version'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_platform_period', ['platform_id', 'kind', 'period_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_sha256'))
        batch_op.drop_index('ix_reports_platform_period')

    op.drop_table('reports')
