"""Search: entries (visibility, facet values and, on PostgreSQL, the vector per dataset), facet values, letter pairs of words

Revision ID: search_0002
Revises: search_0001
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from fairhub_search.backends import move_vectors, move_vectors_back
from fairhub_search.indexer import entry, facet_values, value_key
from fairhub_search.query import grams


revision = 'search_0002'
down_revision = 'search_0001'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    entries = op.create_table('search_entries',
    sa.Column('dataset_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('facets', sa.Text(), nullable=False),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['search_documents.dataset_id'], name=op.f('fk_search_entries_dataset_id_search_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_search_entries'))
    )
    values = op.create_table('search_facet_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('facet', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_facet_values')),
    sa.UniqueConstraint('key', name=op.f('uq_search_facet_values_key')),
    sqlite_autoincrement=True
    )
    letter_pairs = op.create_table('search_grams',
    sa.Column('gram', sa.String(length=2), nullable=False),
    sa.Column('word', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('gram', 'word', name=op.f('pk_search_grams')),
    sqlite_with_rowid=False
    )
    move_vectors(op.get_bind())
    _fill(op.get_bind(), entries, values, letter_pairs)


def _fill(connection, entries, values, letter_pairs):
    """Index what is already there: every dataset's entry, every word's letter pairs."""
    datasets = sa.table('datasets', sa.column('id', sa.Integer), sa.column('visibility'),
                        sa.column('catalogue', sa.JSON))
    ids, last = {}, 0
    while rows := connection.execute(sa.select(datasets).where(datasets.c.id > last)
                                     .order_by(datasets.c.id).limit(BATCH)).all():
        facets = {row.id: facet_values(row.visibility, row.catalogue) for row in rows}
        new = {value_key(*pair): pair for pairs in facets.values() for pair in pairs
               if pair not in ids}
        if new:
            before = max(ids.values(), default=0)
            connection.execute(values.insert(), [{'key': k, 'facet': f, 'value': v}
                                                 for k, (f, v) in sorted(new.items())])
            found = sa.select(values.c.key, values.c.id).where(values.c.id > before)
            ids.update((new[key], id_) for key, id_ in connection.execute(found))
        connection.execute(entries.insert(), [
            entry(row.id, row.visibility, [(pair[0], ids[pair]) for pair in facets[row.id]])
            for row in rows])
        last = rows[-1].id
    words = sa.table('search_words', sa.column('word', sa.String))
    last = ''
    while found := connection.execute(sa.select(words.c.word).where(words.c.word > last)
                                      .order_by(words.c.word).limit(BATCH)).scalars().all():
        connection.execute(letter_pairs.insert(), [{'gram': g, 'word': w} for w in found
                                            for g in sorted(grams(w))])
        last = found[-1]


def downgrade():
    move_vectors_back(op.get_bind())
    op.drop_table('search_grams')
    op.drop_table('search_facet_values')
    op.drop_table('search_entries')
