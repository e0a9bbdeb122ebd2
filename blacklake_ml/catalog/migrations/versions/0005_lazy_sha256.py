"""Big files are stored without an inline SHA-256: ``blobs.sha256`` becomes nullable (filled
on first request, like ``md5``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter a column in place (the table is copied, which also
    # keeps the index on sha256)
    with op.batch_alter_table("blobs") as batch:
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=True)


def downgrade() -> None:
    # blobs rows are derived data (``fsck --rebuild`` recomputes them): rows without a
    # digest cannot satisfy NOT NULL and are dropped
    op.execute(sa.text("DELETE FROM blobs WHERE sha256 IS NULL"))
    with op.batch_alter_table("blobs") as batch:
        batch.alter_column("sha256", existing_type=sa.String(64), nullable=False)
