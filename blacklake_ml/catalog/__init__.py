"""Catalog backends (SQLAlchemy: SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

from blacklake_ml.catalog.base import (
    AliasEvent,
    BlobRow,
    Catalog,
    CommitBatch,
    CommitRow,
    DeploymentRow,
    DeprecationRow,
    GcSession,
    ObjectLocation,
    PackRow,
    PathChange,
    RefRow,
    RepoRow,
)

__all__ = [
    "AliasEvent",
    "BlobRow",
    "Catalog",
    "CommitBatch",
    "CommitRow",
    "DeploymentRow",
    "DeprecationRow",
    "GcSession",
    "ObjectLocation",
    "PackRow",
    "PathChange",
    "RefRow",
    "RepoRow",
    "open_catalog",
]


def open_catalog(url: str, *, migrate: bool = True) -> Catalog:
    """Open (and by default create or upgrade) the catalog at an SQLAlchemy ``url``.

    An existing SQLite file at the current revision opens without SQLAlchemy (its common
    reads go through ``sqlite3``; see :mod:`~blacklake_ml.catalog.sqlite_fast`), so a read
    command does not pay SQLAlchemy's import.
    """
    from blacklake_ml.catalog.sqlite_fast import open_fast

    fast = open_fast(url)
    if fast is not None:
        return fast
    from blacklake_ml.catalog.sql import SqlCatalog

    catalog = SqlCatalog(url)
    if migrate:
        catalog.migrate()
    return catalog
