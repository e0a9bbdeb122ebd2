"""Search: cards, full-text index, vectors, extraction cache, chunk sketches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _ctext() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _repo_fk() -> sa.Column[int]:
    return sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "search_heads",
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("ref", sa.String(128), primary_key=True),
        sa.Column("commit_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "search_cards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _repo_fk(),
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
    )
    op.create_index("ix_search_cards_object", "search_cards", ["object_id"])
    op.create_index("ix_search_cards_hash", "search_cards", ["text_hash"])
    op.create_index("ix_search_cards_params", "search_cards", ["parameters"])
    op.create_table(
        "search_facets",
        sa.Column("card_id", sa.Integer,
                  sa.ForeignKey("search_cards.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_index("ix_search_facets_kv", "search_facets", ["key", "value", "card_id"])
    op.create_index("ix_search_facets_card", "search_facets", ["card_id"])
    op.create_table(
        "search_vectors",
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "search_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card_id", sa.Integer, nullable=False),
        sa.Column("op", sa.String(1), nullable=False),
    )
    op.create_table(
        "search_facts",
        sa.Column("object_id", sa.String(64), primary_key=True),
        sa.Column("extractor_key", sa.String(128), primary_key=True),
        sa.Column("facts", sa.Text, nullable=False),
    )
    op.create_table(
        "search_sketches",
        sa.Column("file_id", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("nchunks", sa.Integer, nullable=False),
        sa.Column("sig", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "search_bands",
        sa.Column("band", sa.SmallInteger, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_search_bands_bucket", "search_bands", ["band", "bucket"])
    op.create_index("ix_search_bands_file", "search_bands", ["file_id"])
    op.create_table(
        "search_files",
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("ref", sa.String(128), primary_key=True),
        sa.Column("path", _ctext(), primary_key=True),
        sa.Column("file_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_search_files_file", "search_files", ["file_id"])
    if op.get_bind().dialect.name == "sqlite":
        # BM25 with per-column weights; porter stemming so "recognizer" finds "recognition".
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "name, keywords, body, tokenize='porter unicode61 remove_diacritics 2')")
        # Document frequencies per stemmed term, for idf-weighted match evidence.
        op.execute("CREATE VIRTUAL TABLE search_fts_vocab USING fts5vocab(search_fts, row)")
    else:
        op.execute(
            "CREATE TABLE search_text ("
            " card_id INTEGER PRIMARY KEY REFERENCES search_cards(id) ON DELETE CASCADE,"
            " tsv tsvector NOT NULL)")
        op.execute("CREATE INDEX ix_search_text_tsv ON search_text USING GIN (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts_vocab")
        op.execute("DROP TABLE search_fts")
    else:
        op.execute("DROP TABLE search_text")
    for name in ("search_files", "search_bands", "search_sketches", "search_facts",
                 "search_changes", "search_vectors", "search_facets", "search_cards",
                 "search_heads"):
        op.drop_table(name)
