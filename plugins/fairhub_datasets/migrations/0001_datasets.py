"""Datasets: datasets, dictionaries, dataset-level grants

Revision ID: datasets_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op



revision = 'datasets_0001'
down_revision = None
branch_labels = ('datasets',)
depends_on = 'core_0002'


def upgrade():
    counts = op.create_table('dataset_counts',
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('datasets', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('visibility', name=op.f('pk_dataset_counts'))
    )
    op.bulk_insert(counts, [{'visibility': v, 'datasets': 0}
                            for v in ('private', 'internal', 'public')])
    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('workflow_key', sa.String(length=64), nullable=True),
    sa.Column('catalogue', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=True),
    sa.CheckConstraint("visibility IN ('private', 'internal', 'public')", name=op.f('ck_datasets_visibility')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_datasets_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets')),
    sa.UniqueConstraint('code', name=op.f('uq_datasets_code')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index('ix_datasets_visibility', ['visibility'], unique=False)

    op.create_table('dataset_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('owner', 'manager', 'reviewer', 'editor', 'viewer')", name=op.f('ck_dataset_grants_level')),
    sa.CheckConstraint('(user_id IS NULL) <> (group_id IS NULL)', name=op.f('ck_dataset_grants_one_grantee')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_grants_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_dataset_grants_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_dataset_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataset_grants'))
    )
    with op.batch_alter_table('dataset_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_grants_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dataset_grants_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_dataset_grants_group', ['dataset_id', 'group_id'], unique=True)
        batch_op.create_index('uq_dataset_grants_user', ['dataset_id', 'user_id'], unique=True)

    op.create_table('dictionaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('lookups', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dictionaries_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dictionaries')),
    sa.UniqueConstraint('code', name=op.f('uq_dictionaries_code')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('dictionaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dictionaries_dataset_id'), ['dataset_id'], unique=False)



def downgrade():
    with op.batch_alter_table('dictionaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dictionaries_dataset_id'))

    op.drop_table('dictionaries')
    with op.batch_alter_table('dataset_grants', schema=None) as batch_op:
        batch_op.drop_index('uq_dataset_grants_user')
        batch_op.drop_index('uq_dataset_grants_group')
        batch_op.drop_index(batch_op.f('ix_dataset_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_dataset_grants_group_id'))

    op.drop_table('dataset_grants')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_datasets_visibility')

    op.drop_table('datasets')
    op.drop_table('dataset_counts')
