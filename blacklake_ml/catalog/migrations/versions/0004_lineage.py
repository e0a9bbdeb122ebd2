"""Lineage graph: nodes (stored objects, runs, external artifacts) and edges.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ctext() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "lineage_nodes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", _ctext(), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("uri", sa.Text, nullable=True),
        sa.Column("repo", sa.String(63), nullable=True),
        sa.Column("path", _ctext(), nullable=True),
        sa.Column("commit_id", sa.String(64), nullable=True),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("system", sa.String(32), nullable=True),
        sa.Column("facets", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_lineage_nodes_repo_path", "lineage_nodes", ["repo", "path"])
    op.create_table(
        "lineage_edges",
        sa.Column("source_id", sa.Integer,
                  sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.Integer,
                  sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("facets", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("ix_lineage_edges_target", "lineage_edges", ["target_id"])


def downgrade() -> None:
    op.drop_table("lineage_edges")
    op.drop_table("lineage_nodes")
