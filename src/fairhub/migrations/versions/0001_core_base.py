"""Start of the core branch, which every plugin branch depends on.

Revision ID: core_0001
Revises:
Create Date: 2026-11-25
"""

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
