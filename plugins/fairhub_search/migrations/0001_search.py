"""Search: documents, vocabulary, saved searches, search log

Revision ID: search_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op



revision = 'search_0001'
down_revision = None
branch_labels = ('search',)
depends_on = 'datasets_0001'

# The full-text index over search_documents as this revision makes it (frozen: the plugin's
# own code may change, this may not).
COLUMNS = ('title', 'description', 'keyword', 'publisher', 'creator', 'dictionary',
           'field_names', 'field_text', 'extra')
PG_LABELS = {'title': 'A', 'keyword': 'B', 'publisher': 'B', 'creator': 'B', 'description': 'C',
             'dictionary': 'C', 'field_names': 'D', 'field_text': 'D', 'extra': 'D'}
WORD_TYPES = 'asciihword, asciiword, hword, hword_asciipart, hword_part, word'


def vector(config, row):
    """The weighted vector of the document ``row`` as SQL."""
    return ' || '.join(
        f"setweight(to_tsvector('{config}', public.unaccent(coalesce({row}.{c}, ''))), "
        f"'{label}')" for c, label in PG_LABELS.items())


def sqlite_ddl():
    columns = ', '.join(COLUMNS)
    new = ', '.join(f'new.{c}' for c in COLUMNS)
    old = ', '.join(f'old.{c}' for c in COLUMNS)
    add = f'INSERT INTO search_fts(rowid, {columns}) VALUES (new.dataset_id, {new});'
    remove = (f'INSERT INTO search_fts(search_fts, rowid, {columns}) '
              f"VALUES ('delete', old.dataset_id, {old});")
    return [
        f"CREATE VIRTUAL TABLE search_fts USING fts5({columns}, content='search_documents', "
        "content_rowid='dataset_id', tokenize='porter unicode61 remove_diacritics 2')",
        f'CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN {add} END',
        f'CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN {remove} END',
        f'CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents '
        f'BEGIN {remove} {add} END',
    ]


def pg_ddl():
    return [
        'CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public',
        'ALTER TABLE search_documents ADD COLUMN tsv tsvector',
        'CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)',
        'CREATE FUNCTION search_documents_tsv() RETURNS trigger LANGUAGE plpgsql AS $$ '
        f"BEGIN NEW.tsv := {vector('english', 'NEW')}; RETURN NEW; END $$",
        'CREATE TRIGGER search_documents_tsv BEFORE INSERT OR UPDATE ON search_documents '
        'FOR EACH ROW EXECUTE FUNCTION search_documents_tsv()',
        'CREATE TEXT SEARCH CONFIGURATION search_headline (COPY = pg_catalog.english)',
        f'ALTER TEXT SEARCH CONFIGURATION search_headline ALTER MAPPING FOR {WORD_TYPES} '
        'WITH public.unaccent, english_stem',
    ]


PG_DROP = ['DROP TRIGGER IF EXISTS search_documents_tsv ON search_documents',
           'DROP FUNCTION IF EXISTS search_documents_tsv()',
           'ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv',
           'DROP TEXT SEARCH CONFIGURATION IF EXISTS search_headline']
SQLITE_DROP = ['DROP TABLE IF EXISTS search_fts']


def run(statements):
    for statement in statements:
        op.execute(statement)


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
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
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
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
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
    run(sqlite_ddl() if op.get_context().dialect.name == 'sqlite' else pg_ddl())


def downgrade():
    run(SQLITE_DROP if op.get_context().dialect.name == 'sqlite' else PG_DROP)
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
