"""Id lists split into batches for ``IN (...)`` queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

#: ids per ``IN (...)`` query: well under SQLite's bound-variable limit
BATCH = 500


def chunks(items: Sequence[Any], n: int = BATCH) -> Iterator[Sequence[Any]]:
    """Consecutive slices of ``items`` of at most ``n`` each."""
    for i in range(0, len(items), n):
        yield items[i:i + n]
