"""Requests: access requests with their dictionaries, history and comments; grants; request
forms; the mail outbox; request counts

Revision ID: requests_0001
Revises:
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op



revision = 'requests_0001'
down_revision = None
branch_labels = ('requests',)
depends_on = 'datasets_0001'


def upgrade():
    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('request_code', sa.String(length=32), nullable=True),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_mail_outbox_sent_at'), 'mail_outbox', ['sent_at'], unique=False)
    op.create_table('request_counts',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('approvals', sa.Integer(), nullable=False),
    sa.Column('rejections', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'ref_id', name=op.f('pk_request_counts'))
    )
    op.create_table('workflow_forms',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_workflow_forms_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_workflow_forms'))
    )
    op.create_table('access_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('workflow_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('project_name', sa.String(length=500), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('output', sa.String(length=16), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('rights_accepted', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_access_requests_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_access_requests_requester_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_requests')),
    sa.UniqueConstraint('code', name=op.f('uq_access_requests_code')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_access_requests_archived_at'), 'access_requests', ['archived_at'], unique=False)
    op.create_index(op.f('ix_access_requests_dataset_id'), 'access_requests', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_access_requests_requester_id'), 'access_requests', ['requester_id'], unique=False)
    op.create_index(op.f('ix_access_requests_status'), 'access_requests', ['status'], unique=False)
    op.create_table('access_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('request_code', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('dictionary_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_access_grants_dataset_id_datasets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dictionary_id'], ['dictionaries.id'], name=op.f('fk_access_grants_dictionary_id_dictionaries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by'], ['users.id'], name=op.f('fk_access_grants_granted_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_access_grants_request_id_access_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_access_grants_revoked_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_access_grants_dataset_id'), 'access_grants', ['dataset_id'], unique=False)
    op.create_index(op.f('ix_access_grants_dictionary_id'), 'access_grants', ['dictionary_id'], unique=False)
    op.create_index(op.f('ix_access_grants_request_id'), 'access_grants', ['request_id'], unique=False)
    op.create_index('ix_access_grants_user_dictionary', 'access_grants', ['user_id', 'dictionary_id'], unique=False)
    op.create_table('access_request_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_access_request_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_access_request_comments_request_id_access_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_request_comments'))
    )
    op.create_index(op.f('ix_access_request_comments_author_id'), 'access_request_comments', ['author_id'], unique=False)
    op.create_index(op.f('ix_access_request_comments_request_id'), 'access_request_comments', ['request_id'], unique=False)
    op.create_table('access_request_dictionaries',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('dictionary_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dictionary_id'], ['dictionaries.id'], name=op.f('fk_access_request_dictionaries_dictionary_id_dictionaries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_access_request_dictionaries_request_id_access_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'dictionary_id', name=op.f('pk_access_request_dictionaries'))
    )
    op.create_index(op.f('ix_access_request_dictionaries_dictionary_id'), 'access_request_dictionaries', ['dictionary_id'], unique=False)
    op.create_table('access_request_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_access_request_history_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'], name=op.f('fk_access_request_history_request_id_access_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_request_history'))
    )
    op.create_index(op.f('ix_access_request_history_actor_id'), 'access_request_history', ['actor_id'], unique=False)
    op.create_index(op.f('ix_access_request_history_request_id'), 'access_request_history', ['request_id'], unique=False)


def downgrade():
    for table in ('access_grants', 'access_request_comments', 'access_request_history',
                  'access_request_dictionaries', 'access_requests', 'workflow_forms',
                  'request_counts', 'mail_outbox'):
        op.drop_table(table)
