"""The safety verdict of stored files (``ls --json`` ``"safety"``, search hits, the panel).

A verdict is a fact of a file's *content*, so it is cached by file id in the catalog's facts
cache (key ``safety:<scanner version>``; derivable, so ``fsck --rebuild`` and a scanner
upgrade simply recompute it). It is computed on first request by scanning the stored bytes
through ranged, verified reads — never on the write path — and a file whose verdict cannot be
computed is ``unknown``, never ``safe``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

import orjson

from blacklake_ml.catalog.search_base import SearchIndex
from blacklake_ml.scan import SCANNER_VERSION, UNKNOWN, Verdict, scan_source
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.sources import StoredSource

KEY = f"safety:{SCANNER_VERSION}"


def _doc(v: Verdict) -> dict[str, Any]:
    return {"verdict": v.verdict, "format": v.format, "reasons": v.reasons[:50]}


def verdicts(odb: ObjectDB, index: SearchIndex, files: Iterable[tuple[str, str]]
             ) -> dict[str, dict[str, Any]]:
    """``{file id: {"verdict", "format", "reasons"}}`` for ``(path, file id)`` pairs: cached
    ones in one catalog round trip per batch, the rest scanned now and cached."""
    pairs = list(files)
    ids = sorted({fid for _, fid in pairs})
    out: dict[str, dict[str, Any]] = {}
    for fid, raw in index.cached_facts(ids, KEY).items():
        out[fid] = dict(orjson.loads(raw))
    todo: dict[str, str] = {}
    for path, fid in pairs:
        if fid not in out and fid not in todo:
            todo[fid] = path
    rows: list[tuple[str, str]] = []
    for fid, path in todo.items():
        try:
            v = scan_source(StoredSource(odb, fid, posixpath.basename(path)))
        except Exception as e:  # noqa: BLE001 - an unreadable object: not safe, not cached
            out[fid] = {"verdict": UNKNOWN, "format": "unknown",
                        "reasons": [f"could not be read: {type(e).__name__}: {e}"[:300]]}
            continue
        out[fid] = _doc(v)
        rows.append((fid, orjson.dumps(out[fid]).decode()))
    if rows:
        index.cache_facts(KEY, rows)
    return out


def annotate(odb: ObjectDB, index: SearchIndex, entries: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
    """Add ``"safety"`` (the verdict) and ``"safety_reasons"`` to every file entry of an
    ``ls`` listing (folders get neither: their files carry their own)."""
    files = [(e["path"], e["id"]) for e in entries if e.get("kind") == "file"]
    if not files:
        return entries
    found = verdicts(odb, index, files)
    for e in entries:
        if e.get("kind") == "file":
            doc = found.get(e["id"], {"verdict": UNKNOWN, "reasons": ["not scanned"]})
            e["safety"] = doc["verdict"]
            e["safety_reasons"] = list(doc.get("reasons", []))
    return entries
