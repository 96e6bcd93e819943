"""The search plugin's tables: searchable text per dataset, what a search filters and counts
by, the vocabulary, saved searches and the log of searches performed.

The full-text index is the database's own (see :mod:`.backends`): an FTS5 table over
``search_documents`` kept by triggers on SQLite, a weighted ``tsvector`` column of
``search_entries`` with a GIN index on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fairhub import UTCDateTime, db, utcnow

# The indexed columns, in the order the FTS5 table and the weights use them.
COLUMNS = ("title", "description", "keyword", "publisher", "creator", "dictionary",
           "field_names", "field_text", "extra")


class SearchDocument(db.Model):
    """The searchable text of one dataset, one column per kind of text."""

    __tablename__ = "search_documents"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    keyword: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str] = mapped_column(Text, default="")
    dictionary: Mapped[str] = mapped_column(Text, default="")
    field_names: Mapped[str] = mapped_column(Text, default="")
    field_text: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[str] = mapped_column(Text, default="")


class SearchEntry(db.Model):
    """What a search filters, counts and facets by, in one narrow row per dataset, written with
    its document: a copy of the dataset's visibility and the ids of its facet values."""

    __tablename__ = "search_entries"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("search_documents.dataset_id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    visibility: Mapped[str] = mapped_column(String(16))
    # " 3 17 42 " (search_facet_values ids), the keywords apart from the other facets, whose
    # few combinations many datasets share: a search concatenates those of every match in one
    # pass and counts each combination once (counting rows of dataset and value would sort).
    facets: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text)

    # PostgreSQL's weighted vector of the document and its index, kept by a trigger (see
    # backends).
    __table_args__ = ({"info": {"fairhub_unmodelled": ("tsv", "ix_search_entries_tsv")}},)


class SearchFacetValue(db.Model):
    """A value of a facet (a keyword, a publisher...), known by a short id."""

    __tablename__ = "search_facet_values"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A hash of the facet and the value: unique where the value itself may be too long to index.
    key: Mapped[str] = mapped_column(String(16), unique=True)
    facet: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = ({"sqlite_autoincrement": True},)  # an id never names another value


class SearchWord(db.Model):
    """A word of the index, lower-cased and accent-free: what fuzzy terms are matched to."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)


class SearchGram(db.Model):
    """A pair of adjacent letters of a word (``^`` and ``$`` mark its ends): the words a fuzzy
    term may match share most of its pairs, so they are found through this index."""

    __tablename__ = "search_grams"

    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    word: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class SavedSearch(db.Model):
    """A user's named query with its filters."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("uq_saved_searches_user_name", "user_id", "name", unique=True),)


class SearchLog(db.Model):
    """One search performed: for the metrics to come."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    query: Mapped[str] = mapped_column(Text)
    results: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
