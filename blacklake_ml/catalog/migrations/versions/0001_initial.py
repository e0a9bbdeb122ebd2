"""Initial catalog schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ctext(length: int | None = None) -> sa.types.TypeEngine[str]:
    base = sa.String(length) if length else sa.Text()
    collated = sa.String(length, collation="C") if length else sa.Text(collation="C")
    return base.with_variant(collated, "postgresql")


def upgrade() -> None:
    op.create_table(
        "repos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("max_bytes", sa.BigInteger, nullable=True),
        sa.Column("max_files", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "refs",
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "commits",
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("id", _ctext(64), primary_key=True),
        sa.Column("tree", sa.String(64), nullable=False),
        sa.Column("parents", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("committer", sa.Text, nullable=False),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("nfiles", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "path_changes",
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("path", _ctext(), nullable=False),
        sa.Column("change", sa.String(1), nullable=False),
    )
    op.create_index("ix_path_changes_path", "path_changes", ["repo_id", "path"])
    op.create_index("ix_path_changes_commit", "path_changes", ["repo_id", "commit_id"])
    op.create_table(
        "packs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("nobjects", sa.Integer, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("retired_at", sa.Float, nullable=True),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("pack", sa.String(32), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_objects_pack", "objects", ["pack"])
    op.create_table(
        "blobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=True),
    )
    op.create_index("ix_blobs_sha256", "blobs", ["sha256"])
    op.create_table(
        "gc_lock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_gc", sa.Float, nullable=True),
    )
    op.execute("INSERT INTO gc_lock (id, last_gc) VALUES (1, NULL)")


def downgrade() -> None:
    for table in ("gc_lock", "blobs", "objects", "packs", "path_changes", "commits", "refs",
                  "repos"):
        op.drop_table(table)
