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
    """Open (and by default create or upgrade) the catalog at an SQLAlchemy ``url``."""
    from blacklake_ml.catalog.sql import SqlCatalog

    catalog = SqlCatalog(url)
    if migrate:
        catalog.migrate()
    return catalog
