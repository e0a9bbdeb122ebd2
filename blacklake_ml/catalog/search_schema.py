"""Catalog tables of the search index (all derivable: ``fsck --rebuild``/``reindex`` refill them).

Cards are per (repo, ref, path) for the heads of branches and tags; ``search_heads`` records
the commit each ref was indexed at, so indexing is a reconcile (diff old head -> new head)
that a crash or a failed hook merely postpones. The full-text side lives in a dialect-specific
table created by the migration (SQLite: FTS5 ``search_fts``; PostgreSQL: ``search_text`` with
a weighted ``tsvector``), keyed by card id.
"""

from __future__ import annotations

import sqlalchemy as sa

from blacklake_ml.catalog.schema import _ctext, metadata

search_heads = sa.Table(
    "search_heads", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("ref", sa.String(128), primary_key=True),
    sa.Column("commit_id", sa.String(64), nullable=False),
)

search_cards = sa.Table(
    "search_cards", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("ref", sa.String(128), nullable=False),
    sa.Column("path", _ctext(), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("parameters", sa.BigInteger, nullable=True),
    sa.Column("facts", sa.Text, nullable=False),
    sa.Column("dense_text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.UniqueConstraint("repo_id", "ref", "path", name="uq_search_cards_loc"),
    sa.Index("ix_search_cards_object", "object_id"),
    sa.Index("ix_search_cards_hash", "text_hash"),
    sa.Index("ix_search_cards_params", "parameters"),
)

search_facets = sa.Table(
    "search_facets", metadata,
    sa.Column("card_id", sa.Integer, sa.ForeignKey("search_cards.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("key", sa.String(32), nullable=False),
    sa.Column("value", sa.String(256), nullable=False),
    # Covering (key, value, card_id): a facet filter is an index-only range scan.
    sa.Index("ix_search_facets_kv", "key", "value", "card_id"),
    sa.Index("ix_search_facets_card", "card_id"),
)

# Embeddings by (model, hash of the embedded text): a card copied to a new branch, or a
# re-commit of identical text, costs no new embedding.
search_vectors = sa.Table(
    "search_vectors", metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

# Append-only log of card changes; vector indexes (FAISS files) replay it from the sequence
# number they last applied, so several processes converge without sharing memory.
search_changes = sa.Table(
    "search_changes", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("card_id", sa.Integer, nullable=False),
    sa.Column("op", sa.String(1), nullable=False),
)

# Extraction results by content (file id or tree id) and extractor version: re-indexing
# unchanged content never re-reads it.
search_facts = sa.Table(
    "search_facts", metadata,
    sa.Column("object_id", sa.String(64), primary_key=True),
    sa.Column("extractor_key", sa.String(128), primary_key=True),
    sa.Column("facts", sa.Text, nullable=False),
)

# MinHash sketches of files' chunk sets, and their LSH band buckets for candidate lookup.
search_sketches = sa.Table(
    "search_sketches", metadata,
    sa.Column("file_id", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("nchunks", sa.Integer, nullable=False),
    sa.Column("sig", sa.LargeBinary, nullable=False),
)

search_bands = sa.Table(
    "search_bands", metadata,
    sa.Column("band", sa.SmallInteger, nullable=False),
    sa.Column("bucket", sa.BigInteger, nullable=False),
    sa.Column("file_id", sa.String(64), nullable=False),
    sa.Index("ix_search_bands_bucket", "band", "bucket"),
    sa.Index("ix_search_bands_file", "file_id"),
)

# Where sketched files sit on indexed heads (file id -> repo/ref/path).
search_files = sa.Table(
    "search_files", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("ref", sa.String(128), primary_key=True),
    sa.Column("path", _ctext(), primary_key=True),
    sa.Column("file_id", sa.String(64), nullable=False),
    sa.Index("ix_search_files_file", "file_id"),
)
