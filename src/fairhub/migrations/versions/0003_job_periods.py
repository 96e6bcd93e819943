"""Jobs: the last minute each periodic job was claimed for.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


revision = 'core_0003'
down_revision = 'core_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_periods',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('period', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_periods'))
    )


def downgrade():
    op.drop_table('job_periods')
