"""Read-side documents of the REST API, built from store verbs (no tornado here).

Each function takes the :class:`~blacklake_ml.Store` first and returns one JSON-ready
document; the handlers run them on the store thread (see :mod:`.runner`). Every shape is
built by and described in :mod:`blacklake_ml.shapes` (the CLI's ``--json`` shapes, which
these documents only add fields to; ``SearchHit.to_json`` and ``SimilarHit.to_json`` for
search hits). ``docs/rest-api.md`` is the reference.
"""

from __future__ import annotations

import codecs
import difflib
import posixpath
from typing import TYPE_CHECKING, Any, cast

from blacklake_ml import __version__, shapes
from blacklake_ml.catalog import RefRow
from blacklake_ml.catalog.search_base import CardDoc
from blacklake_ml.core.names import join_path, normalize_path
from blacklake_ml.core.redact import redact_url
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.jupyter.params import Page
from blacklake_ml.search.engine import dense_available
from blacklake_ml.search.indexer import Indexer
from blacklake_ml.service import lifecycle, read
from blacklake_ml.service.diff import TreeDiff
from blacklake_ml.service.repo import Repo
from blacklake_ml.shapes import card_json, ref_detail_json, repo_json

if TYPE_CHECKING:
    from blacklake_ml.api import Store

API_VERSION = 1
#: text files up to this size come with their content (file view) or a unified diff (diff)
PREVIEW_BYTES = 256 * 1024
#: bytes sampled to decide whether a larger file is text
SNIFF_BYTES = 8192
#: at most this many bytes are read for text diffs in one diff response
TEXT_DIFF_BUDGET = 8 * 1024 * 1024
#: facts diffs are computed for at most this many modified entries of one diff page
FACTS_DIFF_LIMIT = 200
#: facets whose most common values come with search results (for the filter UI)
SEARCH_FACETS = ("kind", "task", "framework", "format", "license_family", "license",
                 "language", "tags", "library", "repo")
REF_KINDS = ("branch", "tag", "alias")


# -- helpers -----------------------------------------------------------------------------------
def default_branch(branches: list[RefRow]) -> str | None:
    """``main``, else ``master``, else the first branch by name (None without branches)."""
    names = sorted(b.name for b in branches)
    for name in ("main", "master"):
        if name in names:
            return name
    return names[0] if names else None


def read_prefix(store: Store, file_id: str, n: int) -> bytes:
    """The first ``n`` bytes of a stored file (verified, like every read)."""
    odb = store.odb
    with read.BlobReader(odb, odb.file(file_id)) as f:
        return f.read(n) or b""


def as_text(data: bytes, *, complete: bool) -> str | None:
    """``data`` decoded as UTF-8 if it looks like text (no NUL, valid UTF-8), else None.

    With ``complete`` False, ``data`` is a prefix, so a multi-byte character cut at its end
    is not held against it.
    """
    if b"\x00" in data:
        return None
    try:
        if complete:
            return data.decode("utf-8")
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _resolve(store: Store, repo: str, ref: str) -> tuple[Repo, str]:
    r = store.repo(repo)
    return r, r.resolve(ref)


def indexed_ref(store: Store, r: Repo, ref: str, commit: str) -> str | None:
    """A branch or tag the search index holds at ``commit`` (``ref`` itself preferred)."""
    heads = store.catalog.search_index().heads(r.id)
    if heads.get(ref) == commit:
        return ref
    same = sorted(n for n, c in heads.items() if c == commit)
    return same[0] if same else None


def _asset(store: Store, r: Repo, commit: str, path: str, ref: str) -> CardDoc | None:
    return Indexer(store).asset_card(r, commit, path, ref=ref)


# -- status and repositories ---------------------------------------------------------------------
def status(store: Store) -> dict[str, Any]:
    """Extension version, where the store lives, whether dense search works, counts."""
    repos = len(store.list_repos())
    where = store.describe()
    # describe() masks already; masking again here keeps the answer safe whatever a storage
    # backend's display_url does (this goes to the browser)
    where.update({k: redact_url(where[k]) for k in ("storage", "catalog") if where.get(k)})
    return {"ok": True, "extension": "blacklake_ml", "version": __version__,
            "api_version": API_VERSION, "store": where,
            "dense_search": dense_available(),
            "counts": {"repos": repos, "cards": store.catalog.search_index().count_cards()},
            "empty": repos == 0}


def list_repos(store: Store, page: Page) -> dict[str, Any]:
    """Repositories by name."""
    rows = store.list_repos()
    return page.doc([repo_json(r) for r in page.slice(rows)], total=len(rows))


def repo_detail(store: Store, name: str) -> dict[str, Any]:
    """Everything the repository view shows at once (a handful of catalog queries)."""
    r = store.repo(name)
    catalog = store.catalog
    refs = catalog.list_refs(r.id)
    label = r.lifecycle.labeler()
    branches = [x for x in refs if x.kind == "branch"]
    default = default_branch(branches)
    head: dict[str, Any] | None = None
    if default is not None:
        commit = next(b.commit for b in branches if b.name == default)
        row = catalog.get_commits(r.id, [commit]).get(commit)
        head = {"branch": default, "commit": commit,
                "size": row.size if row else None, "files": row.nfiles if row else None,
                "time": row.time if row else None}
    doc: dict[str, Any] = {**repo_json(catalog.get_repo(name))}
    doc.update(
        default_branch=default,
        branches=[ref_detail_json(x) for x in branches],
        tags=[ref_detail_json(x) for x in refs if x.kind == "tag"],
        aliases=[ref_detail_json(x, label(x.commit, None)) for x in refs
                 if x.kind == "alias"],
        versions=r.lifecycle.versions_overview(),
        deployments=[shapes.deployment_json(d) for d in r.lifecycle.deployments()],
        deprecations=[shapes.deprecation_json(d) for d in r.lifecycle.deprecations()],
        stats={"commits": catalog.count_commits(r.id), "branches": len(branches),
               "tags": sum(1 for x in refs if x.kind == "tag"),
               "aliases": sum(1 for x in refs if x.kind == "alias"), "head": head},
    )
    return doc


def list_refs(store: Store, repo: str, kind: str | None, page: Page) -> dict[str, Any]:
    """Branches, tags and aliases by name (``kind`` narrows to one kind)."""
    if kind is not None and kind not in REF_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(REF_KINDS)}, got {kind[:40]!r}")
    r = store.repo(repo)
    rows = [x for x in store.catalog.list_refs(r.id) if x.kind in REF_KINDS]
    if kind is not None:
        rows = [x for x in rows if x.kind == kind]
    label = r.lifecycle.labeler()
    items = [ref_detail_json(x, label(x.commit, None)) for x in page.slice(rows)]
    return page.doc(items, total=len(rows))


def alias_detail(store: Store, repo: str, name: str, page: Page) -> dict[str, Any]:
    """An alias, where it points, and its history (newest first, paginated)."""
    r = store.repo(repo)
    lifecycle.validate_alias_name(name)
    history = r.lifecycle.alias_history(name)  # NotFound for an alias that never existed
    row = store.catalog.get_ref(r.id, name)
    current = row if row is not None and row.kind == "alias" else None
    label = r.lifecycle.labeler()
    doc: dict[str, Any] = {
        "name": name, "commit": current.commit if current else None,
        "label": label(current.commit, None) if current else None,
        "updated": shapes.format_time(current.updated) if current else None}
    doc.update(page.doc([shapes.alias_event_json(e) for e in page.slice(history)],
                        total=len(history)))
    return doc


# -- trees and files -------------------------------------------------------------------------------
def tree(store: Store, repo: str, ref: str, path: str, page: Page) -> dict[str, Any]:
    """A directory's entries at ``ref``: directories first, then files, each by name.

    ``asset`` on an entry tells whether it is a model/dataset card of the search index (null
    when the index holds no branch or tag at this commit).
    """
    r, commit = _resolve(store, repo, ref)
    path = normalize_path(path)
    entry = r.entry(commit, path)
    if not entry.is_dir:
        raise InvalidInput(f"{path} is a file, not a directory (use the file endpoint)")
    children = sorted(store.odb.tree(entry.id), key=lambda e: (not e.is_dir, e.name))
    items = cast("list[dict[str, Any]]", [shapes.tree_entry_json(join_path(path, e.name), e)
                                          for e in page.slice(children)])
    indexed = indexed_ref(store, r, ref, commit)
    cards = store.catalog.search_index().card_keys(
        r.id, indexed, [d["path"] for d in items]) if indexed and items else {}
    for d in items:
        d["asset"] = (d["path"] in cards) if indexed else None
    # the scanner's verdict on every file row ("safety", "safety_reasons")
    r.annotate_safety(items)
    doc: dict[str, Any] = {"repo": r.name, "ref": ref, "commit": commit, "path": path}
    doc.update(page.doc(items, total=len(children)))
    return doc


def _readme(store: Store, r: Repo, commit: str, directory: str) -> dict[str, Any] | None:
    """The README.md of ``directory`` (raw markdown, at most PREVIEW_BYTES)."""
    e = r.entry(commit, directory)
    if not e.is_dir:
        return None
    found = next((x for x in store.odb.tree(e.id)
                  if not x.is_dir and x.name.lower() == "readme.md"), None)
    if found is None:
        return None
    data = read_prefix(store, found.id, PREVIEW_BYTES)
    truncated = found.size > PREVIEW_BYTES
    text = as_text(data, complete=not truncated)
    if text is None:
        return None
    return {"path": join_path(directory, found.name), "text": text, "truncated": truncated}


def file_info(store: Store, repo: str, ref: str, path: str, *, md5: bool = False
              ) -> dict[str, Any]:
    """Everything the file (or asset directory) view shows.

    The entry itself; for files the digests, whether it is text and, for text files up to
    :data:`PREVIEW_BYTES`, their content; the card of the asset holding it (the path or its
    nearest enclosing asset directory) with every extracted fact; the asset's README.md (or
    the directory's own); the deprecation applying to the commit.
    """
    r, commit = _resolve(store, repo, ref)
    path = normalize_path(path)
    e = r.entry(commit, path)
    doc: dict[str, Any] = {"repo": r.name, "ref": ref, "commit": commit,
                           "uri": str(BlacklakeURI(r.name, ref, path))}
    doc.update(shapes.tree_entry_json(path, e))
    doc["name"] = posixpath.basename(path)
    card = _asset(store, r, commit, path, ref)
    doc["asset"] = card_json(card, r.name, ref) if card is not None else None
    # The README of the asset directory (a file asset has none), else of the directory itself.
    asset_is_dir = card is not None and (card.path != path or e.is_dir)
    readme_dir = card.path if card is not None and asset_is_dir else \
        (path if e.is_dir else None)
    doc["readme"] = _readme(store, r, commit, readme_dir) if readme_dir is not None else None
    dep = r.lifecycle.deprecation(commit)
    doc["deprecation"] = shapes.deprecation_json(dep) if dep is not None else None
    if e.is_dir:
        doc.update(sha256=None, text=False, content=None, content_truncated=False)
        return doc
    digests = r.digests(commit, path, md5=md5)
    doc["sha256"] = digests["sha256"]
    verdict = r.safety(commit, path)
    doc["safety"] = verdict["verdict"]
    doc["safety_reasons"] = verdict["reasons"]
    doc["safety_format"] = verdict["format"]
    # a file that looks like a model but could not be read as one says why (None otherwise)
    listed = r.annotate_safety([{"kind": "file", "path": path, "id": e.id}])[0]
    doc["extraction_error"] = listed.get("extraction_error")
    if md5:
        doc["md5"] = digests["md5"]
    small = e.size <= PREVIEW_BYTES
    data = read_prefix(store, e.id, e.size if small else SNIFF_BYTES)
    text = as_text(data, complete=small)
    doc["text"] = text is not None
    doc["content"] = text if small else None
    doc["content_truncated"] = text is not None and not small
    return doc


# -- history ------------------------------------------------------------------------------------------
def log(store: Store, repo: str, ref: str, path: str, page: Page) -> dict[str, Any]:
    """Commits reachable from ``ref`` newest first (only those touching ``path``), each with
    its parents (to draw the graph) and the refs pointing at it."""
    r, commit = _resolve(store, repo, ref)
    only = normalize_path(path) or None
    rows = r.log(commit, path=only, limit=page.offset + page.limit + 1)
    more = len(rows) > page.offset + page.limit
    by_commit: dict[str, list[shapes.RefLabelDoc]] = {}
    for x in store.catalog.list_refs(r.id):
        by_commit.setdefault(x.commit, []).append({"name": x.name, "kind": x.kind})
    items = []
    for row in page.slice(rows):
        d = shapes.commit_json(row)
        d["refs"] = by_commit.get(row.id, [])
        items.append(d)
    doc: dict[str, Any] = {"repo": r.name, "ref": ref, "commit": commit, "path": only or ""}
    doc.update(page.doc(items, has_more=more))
    return doc


def _flatten(facts: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested fact dicts as dotted keys (three levels; lists and deeper values whole)."""
    out: dict[str, Any] = {}
    if not isinstance(facts, dict):
        return out
    for k, v in facts.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and depth < 2:
            out.update(_flatten(v, key + ".", depth + 1))
        else:
            out[key] = v
    return out


def facts_diff(before: CardDoc | None, after: CardDoc | None) -> dict[str, list[Any]]:
    """``{key: [before, after]}`` of the facts that differ (dotted keys for nested facts)."""
    fa = _flatten(dict(before.facts)) if before is not None else {}
    fb = _flatten(dict(after.facts)) if after is not None else {}
    return {k: [fa.get(k), fb.get(k)] for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k)}


def text_diff(a: bytes, b: bytes, path: str) -> str | None:
    """A unified diff of two small text files (None if either is not text)."""
    ta, tb = as_text(a, complete=True), as_text(b, complete=True)
    if ta is None or tb is None:
        return None
    lines = difflib.unified_diff(ta.splitlines(keepends=True), tb.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}", n=3)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def diff(store: Store, repo: str, a: str, b: str, path: str, page: Page, *,
         details: bool = True) -> dict[str, Any]:
    """Files added, removed and modified from ``a`` to ``b`` (below ``path``), paginated.

    The page is a window over all changed paths in path order, returned split into the
    ``TreeDiff`` lists. With ``details``, modified entries carry the asset they belong to,
    a ``facts_diff`` of its card, and a unified ``text_diff`` for small text files.
    """
    r = store.repo(repo)
    ca, cb = r.resolve(a), r.resolve(b)
    path = normalize_path(path)
    full = r.diff(ca, cb, path=path)
    status = {p: "added" for p in full.added}
    status.update({p: "removed" for p in full.removed})
    status.update({p: "modified" for p in full.modified})
    window = page.slice(sorted(status))
    part = TreeDiff(added={p: full.added[p] for p in window if status[p] == "added"},
                    removed={p: full.removed[p] for p in window if status[p] == "removed"},
                    modified={p: full.modified[p] for p in window
                              if status[p] == "modified"})
    doc: dict[str, Any] = {"repo": r.name, "a": {"ref": a, "commit": ca},
                           "b": {"ref": b, "commit": cb}, "path": path}
    doc.update(part.to_json())
    if details:
        _diff_details(store, r, ca, cb, a, b, part, doc["modified"])
    doc.update(offset=page.offset, limit=page.limit, total=len(status),
               has_more=page.offset + len(window) < len(status),
               counts={"added": len(full.added), "removed": len(full.removed),
                       "modified": len(full.modified)})
    return doc


def _diff_details(store: Store, r: Repo, ca: str, cb: str, a: str, b: str, part: TreeDiff,
                  modified: list[dict[str, Any]]) -> None:
    budget = TEXT_DIFF_BUDGET
    cards: dict[tuple[str, str], CardDoc | None] = {}

    def card(commit: str, ref: str, p: str) -> CardDoc | None:
        key = (commit, p)
        if key not in cards:
            cards[key] = _asset(store, r, commit, p, ref)
        return cards[key]

    for i, doc in enumerate(modified):
        p = doc["path"]
        ea, eb = part.modified[p]
        doc["asset"] = None
        doc["facts_diff"] = None
        if i < FACTS_DIFF_LIMIT:
            before, after = card(ca, a, p), card(cb, b, p)
            if before is not None or after is not None:
                doc["asset"] = (after or before).path  # type: ignore[union-attr]
                doc["facts_diff"] = facts_diff(before, after)
        doc["text_diff"] = None
        if ea.id != eb.id and max(ea.size, eb.size) <= PREVIEW_BYTES and \
                ea.size + eb.size <= budget:
            budget -= ea.size + eb.size
            doc["text_diff"] = text_diff(read_prefix(store, ea.id, ea.size),
                                         read_prefix(store, eb.id, eb.size), p)


# -- search and maintenance ----------------------------------------------------------------------------
def search(store: Store, query: str, *, repo: str | None, filters: list[str], mode: str,
           page: Page, facets: bool = True) -> dict[str, Any]:
    """Search hits best first (``SearchHit.to_json``) and facet counts for the filter UI."""
    k = min(page.offset + page.limit + 1, 1000)
    hits = store.search(query, k=k, repo=repo or None, filters=filters,
                        mode=mode)  # type: ignore[arg-type]  # validated by the searcher
    doc: dict[str, Any] = {"query": query, "mode": mode}
    doc.update(page.doc([h.to_json() for h in page.slice(hits)],
                        has_more=len(hits) > page.offset + page.limit))
    if facets:
        index = store.catalog.search_index()
        doc["facets"] = {key: [{"value": v, "count": n} for v, n in index.facet_counts(key, 20)]
                         for key in SEARCH_FACETS}
    return doc


def similar(store: Store, uri: str, page: Page) -> dict[str, Any]:
    """Files sharing chunks with the file at ``uri`` and its card lineage."""
    hits = store.similar(uri, limit=min(page.offset + page.limit + 1, 1000))
    doc: dict[str, Any] = {"uri": uri}
    doc.update(page.doc([h.to_json() for h in page.slice(hits)],
                        has_more=len(hits) > page.offset + page.limit))
    return doc


def stats(store: Store, repo: str | None) -> dict[str, Any]:
    """Logical vs stored bytes and the dedup ratio (a full mark: can take a while)."""
    return store.stats(repo or None)
