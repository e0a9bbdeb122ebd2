"""Extraction outcomes of stored files as facts of a listing (``ls --json``, the panel).

The search indexer reads every file whose name or first bytes look like a model or a table
and caches what the extractor found by content id (keys ``file:<extractor>:<version>``).
When that failed — a ``.pt`` that is not a PyTorch file, a truncated ONNX graph — the error
is a fact of the file, shown where the file is listed, instead of a line on the stderr of
whichever process happened to index it.
"""

from __future__ import annotations

from typing import Any

import orjson

from blacklake_ml.catalog.search_base import SearchIndex

FILE_KEY_PREFIX = "file:"


def annotate(index: SearchIndex, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``"extraction_error"`` (``"<extractor>: <message>"``) to the file entries whose
    cached extraction failed; entries without one are left as they are."""
    ids = sorted({e["id"] for e in entries if e.get("kind") == "file"})
    if not ids:
        return entries
    errors: dict[str, str] = {}
    for fid, rows in index.cached_facts_like(ids, FILE_KEY_PREFIX).items():
        for key, raw in sorted(rows):
            try:
                facts = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(facts, dict) and facts.get("error"):
                name = facts.get("extractor") or key.split(":")[1]
                errors[fid] = f"{name}: {facts['error']}"
                break
    for e in entries:
        if e.get("kind") == "file" and e["id"] in errors:
            e["extraction_error"] = errors[e["id"]]
    return entries
