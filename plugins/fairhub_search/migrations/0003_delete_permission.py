"""Search: the permission to delete saved searches is search/delete (was search/destroy) in custom roles

Revision ID: search_0003
Revises: search_0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op


revision = 'search_0003'
down_revision = 'search_0002'
branch_labels = None
depends_on = None

roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('permissions', sa.JSON))


def upgrade():
    _rename(op.get_bind(), 'search/destroy', 'search/delete')


def downgrade():
    _rename(op.get_bind(), 'search/delete', 'search/destroy')


def _rename(connection, old, new):
    """Give every custom role holding ``old`` ``new`` instead (roles store their permissions
    sorted, each once)."""
    for role_id, permissions in connection.execute(sa.select(roles.c.id, roles.c.permissions)):
        if permissions and old in permissions:
            renamed = sorted({new if name == old else name for name in permissions})
            connection.execute(roles.update().where(roles.c.id == role_id)
                               .values(permissions=renamed))
