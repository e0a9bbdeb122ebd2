"""Model lifecycle: aliases history, deployments, deprecations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _repo_id() -> sa.Column[int]:
    return sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
                     primary_key=True)


def upgrade() -> None:
    # Aliases themselves are rows of `refs` (kind "alias"); this is their event log.
    op.create_table(
        "alias_events",
        _repo_id(),
        sa.Column("alias", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_commit", sa.String(64), nullable=True),
        sa.Column("to_commit", sa.String(64), nullable=True),
        sa.Column("from_label", sa.String(128), nullable=True),
        sa.Column("to_label", sa.String(128), nullable=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "deployments",
        _repo_id(),
        sa.Column("environment", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "deprecations",
        _repo_id(),
        # '' = the whole repository (primary-key columns cannot be NULL)
        sa.Column("commit_id", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("sunset", sa.String(10), nullable=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("deprecations", "deployments", "alias_events"):
        op.drop_table(table)
