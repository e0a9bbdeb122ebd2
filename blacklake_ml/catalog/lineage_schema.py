"""Lineage tables (see :mod:`blacklake_ml.catalog.lineage_base`)."""

from __future__ import annotations

import sqlalchemy as sa

from blacklake_ml.catalog.schema import _ctext, metadata

lineage_nodes = sa.Table(
    "lineage_nodes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", _ctext(), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("uri", sa.Text, nullable=True),
    # stored objects: no foreign key to repos, lineage outlives a deleted repository
    sa.Column("repo", sa.String(63), nullable=True),
    sa.Column("path", _ctext(), nullable=True),
    sa.Column("commit_id", sa.String(64), nullable=True),
    sa.Column("object_id", sa.String(64), nullable=True),
    sa.Column("system", sa.String(32), nullable=True),
    sa.Column("facets", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Index("ix_lineage_nodes_repo_path", "repo", "path"),
)

lineage_edges = sa.Table(
    "lineage_edges", metadata,
    sa.Column("source_id", sa.Integer, sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("target_id", sa.Integer, sa.ForeignKey("lineage_nodes.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("facets", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Index("ix_lineage_edges_target", "target_id"),
)
