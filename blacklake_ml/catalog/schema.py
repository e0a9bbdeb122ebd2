"""SQLAlchemy table definitions of the catalog (schema version = the Alembic head).

Text columns compared by range (commit id prefixes, path prefixes) use the "C" collation on
PostgreSQL so ``>=``/``<`` follow byte order, as SQLite's default BINARY collation does.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _ctext(length: int | None = None) -> sa.types.TypeEngine[str]:
    """A string column with byte-order comparison on every backend."""
    base = sa.String(length) if length else sa.Text()
    c_collated = sa.String(length, collation="C") if length else sa.Text(collation="C")
    return base.with_variant(c_collated, "postgresql")


repos = sa.Table(
    "repos", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(63), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("max_bytes", sa.BigInteger, nullable=True),
    sa.Column("max_files", sa.BigInteger, nullable=True),
)

refs = sa.Table(
    "refs", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("commit_id", sa.String(64), nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

commits = sa.Table(
    "commits", metadata,
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

path_changes = sa.Table(
    "path_changes", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("commit_id", sa.String(64), nullable=False),
    sa.Column("path", _ctext(), nullable=False),
    sa.Column("change", sa.String(1), nullable=False),
    sa.Index("ix_path_changes_path", "repo_id", "path"),
    sa.Index("ix_path_changes_commit", "repo_id", "commit_id"),
)

packs = sa.Table(
    "packs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("nobjects", sa.Integer, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("state", sa.String(8), nullable=False, default="live"),
    sa.Column("retired_at", sa.Float, nullable=True),
)

objects = sa.Table(
    "objects", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("pack", sa.String(32), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Index("ix_objects_pack", "pack"),
)

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    # NULL until first asked for, for files stored without an inline SHA-256 (migration 0005)
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("md5", sa.String(32), nullable=True),
    sa.Index("ix_blobs_sha256", "sha256"),
)

# One row; writers lock it shared and gc exclusively (PostgreSQL) so a commit's last-moment
# check of its deduplicated objects cannot interleave with gc's sweep.
gc_lock = sa.Table(
    "gc_lock", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_gc", sa.Float, nullable=True),
)

# -- model lifecycle (revision 0002) ----------------------------------------------------------
# Not derivable from storage: fsck --rebuild keeps these (see Catalog.reset_derived).

# Every change of an alias (a ref of kind "alias"), appended in the transaction that moves it;
# rollback/roll-forward replay this log. `seq` counts per (repo, alias) from 1.
alias_events = sa.Table(
    "alias_events", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("from_commit", sa.String(64), nullable=True),
    sa.Column("to_commit", sa.String(64), nullable=True),
    sa.Column("from_label", sa.String(128), nullable=True),
    sa.Column("to_label", sa.String(128), nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
)

# Deployment records: the latest row of an environment is what runs there now.
deployments = sa.Table(
    "deployments", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("environment", sa.String(128), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("commit_id", sa.String(64), nullable=False),
    sa.Column("label", sa.String(128), nullable=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
)

# Deprecations of one commit, or of the whole repository: commit_id '' (primary-key columns
# cannot be NULL, and '' keeps "one deprecation per target" a plain key).
deprecations = sa.Table(
    "deprecations", metadata,
    sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("commit_id", sa.String(64), primary_key=True),
    sa.Column("label", sa.String(128), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("sunset", sa.String(10), nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
