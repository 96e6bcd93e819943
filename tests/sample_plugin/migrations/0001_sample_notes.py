"""The sample plugin's notes table.

Revision ID: notes_0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "notes_0001"
down_revision = None
branch_labels = ("notes",)
depends_on = "core_0002"


def upgrade():
    op.create_table(
        "sample_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_notes")),
        sa.UniqueConstraint("code", name=op.f("uq_sample_notes_code")),
    )


def downgrade():
    op.drop_table("sample_notes")
