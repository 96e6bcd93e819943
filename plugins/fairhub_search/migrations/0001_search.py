"""Search: documents, vocabulary, saved searches, search log

Revision ID: search_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from fairhub.db import UTCDateTime
from fairhub_search.backends import create_index, drop_index


revision = 'search_0001'
down_revision = None
branch_labels = ('search',)
depends_on = 'datasets_0001'


def upgrade():
    op.create_table('search_words',
    sa.Column('word', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words'))
    )
    op.create_table('saved_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches'))
    )
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_searches_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_saved_searches_user_name', ['user_id', 'name'], unique=True)

    op.create_table('search_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_search_log_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_log'))
    )
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_log_user_id'), ['user_id'], unique=False)

    op.create_table('search_documents',
    sa.Column('dataset_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('keyword', sa.Text(), nullable=False),
    sa.Column('publisher', sa.Text(), nullable=False),
    sa.Column('creator', sa.Text(), nullable=False),
    sa.Column('dictionary', sa.Text(), nullable=False),
    sa.Column('field_names', sa.Text(), nullable=False),
    sa.Column('field_text', sa.Text(), nullable=False),
    sa.Column('extra', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_search_documents_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_search_documents'))
    )
    create_index(op.get_bind())


def downgrade():
    drop_index(op.get_bind())
    op.drop_table('search_documents')
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_search_log_created_at'))

    op.drop_table('search_log')
    with op.batch_alter_table('saved_searches', schema=None) as batch_op:
        batch_op.drop_index('uq_saved_searches_user_name')
        batch_op.drop_index(batch_op.f('ix_saved_searches_user_id'))

    op.drop_table('saved_searches')
    op.drop_table('search_words')
