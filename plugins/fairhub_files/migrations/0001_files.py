"""Files: uploads, attachments, data files and table loads

Revision ID: files_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op



revision = 'files_0001'
down_revision = None
branch_labels = ('files',)
depends_on = 'datasets_0001'


def upgrade():
    op.create_table('files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('dictionary_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('upload_metadata', sa.JSON(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('viewing', sa.String(length=16), nullable=False),
    sa.Column('transfer', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('writer', sa.String(length=32), nullable=True),
    sa.Column('writing_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_files_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_files_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dictionary_id'], ['dictionaries.id'], name=op.f('fk_files_dictionary_id_dictionaries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
    sa.UniqueConstraint('upload_id', name=op.f('uq_files_upload_id')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_files_created_by'), ['created_by'], unique=False)
        batch_op.create_index('ix_files_dataset_kind', ['dataset_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_dictionary_id'), ['dictionary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_expires_at'), ['expires_at'], unique=False)


def downgrade():
    op.drop_table('files')
