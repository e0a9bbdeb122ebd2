"""What the indexes on the SQL catalog need from it: transactions and the dialect.

:class:`~blacklake_ml.catalog.sql.SqlCatalog` builds its search and lineage indexes
(:mod:`.search_sql`, :mod:`.lineage_sql`) on itself; they run their statements in its
transactions. They depend on this protocol, which ``SqlCatalog`` satisfies, rather than on
``SqlCatalog`` itself, so the catalog module imports the index modules and never the reverse.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.engine import Connection


class SqlTransactions(Protocol):
    """A SQL catalog as its indexes see it."""

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite (FTS5, ``json_each``), False on PostgreSQL."""
        ...

    def _tx(self, write: bool = False) -> AbstractContextManager[Connection]:
        """A transaction; ``write`` takes SQLite's write lock up front (see ``SqlCatalog``)."""
        ...
