"""Store maintenance: ``stats``, ``gc`` and ``fsck`` (with ``--rebuild``).

The functions take the store as the small :class:`StoreParts` protocol below (storage,
catalog, object reader), so this module never imports the ``Store`` facade that calls it.

gc is mark-and-sweep with a barrier. Mark walks everything reachable from every ref. Sweep
then runs inside the catalog's gc lock: it re-reads the refs, marks whatever commits landed
since the first mark, and only then drops index rows. Writers check, atomically with their
ref update and under the same lock, that the objects they deduplicated against are still
indexed (``CommitBatch.required_objects``), so a commit can never reference a swept object.
Packs younger than the grace period are never swept (writers' fresh objects live there), and
retired packs stay on storage for the grace period so in-flight readers can finish.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from blacklake_ml.catalog import (
    BlobRow,
    Catalog,
    CommitBatch,
    CommitRow,
    ObjectLocation,
    PackRow,
)
from blacklake_ml.core.ids import Kind, verify
from blacklake_ml.core.names import validate_repo_name
from blacklake_ml.core.objects import Commit
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import BlacklakeError, CorruptObject
from blacklake_ml.service.diff import diff_trees
from blacklake_ml.service.objectdb import ObjectDB
from blacklake_ml.service.packs import (
    PACK_PREFIX,
    PackWriter,
    decode_index,
    idx_key,
    pack_key,
)
from blacklake_ml.storage import LocalStorage, ObjectStorage


class StoreParts(Protocol):
    """What maintenance needs of a store: storage, catalog and the object reader. ``odb`` is
    settable: ``fsck --rebuild`` replaces it (its caches describe the old index)."""

    storage: ObjectStorage
    catalog: Catalog
    odb: ObjectDB


@dataclass
class Live:
    """Reachable objects, by kind (chunks with their lengths)."""

    commits: set[str] = field(default_factory=set)
    trees: set[str] = field(default_factory=set)
    files: dict[str, int] = field(default_factory=dict)
    chunks: dict[str, int] = field(default_factory=dict)

    def ids(self) -> set[str]:
        """Every live object id."""
        return self.commits | self.trees | set(self.files) | set(self.chunks)


def mark(store: StoreParts, roots: Iterable[str], live: Live | None = None, *,
         trees: Iterable[str] = (), files: Iterable[str] = ()) -> Live:
    """Everything reachable from the commits ``roots`` (and from extra ``trees`` and
    ``files``), extending ``live`` if given."""
    live = live if live is not None else Live()
    odb = store.odb
    stack = [r for r in roots if r not in live.commits]
    tstack = [t for t in trees if t not in live.trees]
    new_files = [f for f in dict.fromkeys(files) if f not in live.files]
    for fid in new_files:
        live.files[fid] = 0  # size filled in below from the manifest
    while stack or tstack:
        if stack:
            cid = stack.pop()
            if cid in live.commits:
                continue
            live.commits.add(cid)
            c = odb.commit(cid)
            stack.extend(p for p in c.parents if p not in live.commits)
            tstack.append(c.tree)
        while tstack:
            tid = tstack.pop()
            if tid in live.trees:
                continue
            live.trees.add(tid)
            for e in odb.tree(tid):
                if e.is_dir:
                    tstack.append(e.id)
                elif e.id not in live.files:
                    live.files[e.id] = e.size
                    new_files.append(e.id)
    odb.prefetch_files(new_files)
    for fid in new_files:
        m = odb.file(fid)
        live.files[fid] = m.size
        for cid, n in m.chunks:
            live.chunks[cid] = n
    return live


def mark_young(store: StoreParts, live: Live, cutoff: float) -> None:
    """Treat everything in packs newer than ``cutoff`` as a root, with all it references.

    Writers publish objects before the commit that references them; a young pack may hold
    the trees of a commit still in flight (a merge, say, whose trees reuse subtrees of an
    unreachable commit). Keeping the closure of every young object keeps the invariant
    "an indexed object's whole graph is indexed", which a committing writer relies on when
    it checks (under the gc lock) only the objects its new objects point at directly.
    """
    commits: list[str] = []
    trees: list[str] = []
    files: list[str] = []
    by_kind = {Kind.COMMIT.code: commits, Kind.TREE.code: trees, Kind.FILE.code: files}
    for p in store.catalog.list_packs():
        if p.state != "live" or p.created <= cutoff:
            continue
        for o in store.catalog.pack_objects(p.id):
            bucket = by_kind.get(o.kind)
            if bucket is not None:
                bucket.append(o.id)
            elif o.kind == Kind.CHUNK.code:
                live.chunks.setdefault(o.id, o.length)
    mark(store, commits, live, trees=trees, files=files)


# -- stats --------------------------------------------------------------------------------
def stats(store: StoreParts, repo_name: str | None = None) -> dict[str, Any]:
    """Logical bytes (every distinct file version, whole) vs bytes actually stored."""
    catalog = store.catalog
    if repo_name is not None:
        validate_repo_name(repo_name)
        repo = catalog.get_repo(repo_name)  # RepoNotFound if none
        roots = [r.commit for r in catalog.list_refs(repo.id)]
        repos = 1
    else:
        roots = [r.commit for _, r in catalog.all_refs()]
        repos = len(catalog.list_repos())
    live = mark(store, roots)
    logical = sum(live.files.values())
    stored = sum(live.chunks.values())
    out: dict[str, Any] = {
        "repo": repo_name, "repos": repos, "commits": len(live.commits),
        "file_versions": len(live.files), "chunks": len(live.chunks),
        "logical_bytes": logical, "stored_bytes": stored,
        "dedup_ratio": round(logical / stored, 3) if stored else 1.0,
    }
    if repo_name is None:
        packs = [p for p in catalog.list_packs() if p.state == "live"]
        out["packs"] = len(packs)
        out["pack_bytes"] = sum(p.size for p in packs)
    return out


# -- gc -----------------------------------------------------------------------------------
def gc(store: StoreParts, *, grace: float, repack_below: float = 0.5, dry_run: bool = False,
       progress: Progress = NULL_PROGRESS) -> dict[str, Any]:
    """Drop unreachable objects, repack sparse packs, delete dead pack files."""
    catalog, storage = store.catalog, store.storage
    started = time.time()
    cutoff = started - grace
    # Deployed commits are roots too: what runs in an environment must stay loadable.
    roots = {r.commit for _, r in catalog.all_refs()} | catalog.deployed_commits()
    live = mark(store, roots)
    live_ids = live.ids()
    packs = [p for p in catalog.list_packs() if p.state == "live"]
    progress.start(len(packs), "packs", "scanning packs")
    drop: dict[str, list[str]] = {}          # pack -> dead object ids
    retire: list[str] = []                   # packs with nothing live
    repack: dict[str, list[ObjectLocation]] = {}  # pack -> live objects to copy
    dead_commits: list[str] = []
    freed = 0
    for p in packs:
        progress.advance(1)
        if p.created > cutoff:
            continue
        objs = catalog.pack_objects(p.id)
        dead = [o for o in objs if o.id not in live_ids]
        if not dead and objs:
            continue
        live_objs = [o for o in objs if o.id in live_ids]
        drop[p.id] = [o.id for o in dead]
        dead_commits.extend(o.id for o in dead if o.kind == Kind.COMMIT.code)
        freed += sum(o.length for o in dead)
        if not live_objs:
            retire.append(p.id)
        elif sum(o.length for o in live_objs) < repack_below * max(1, p.size):
            repack[p.id] = live_objs
    progress.finish()
    report: dict[str, Any] = {"packs_scanned": len(packs), "objects_dropped": 0,
                              "packs_retired": 0, "packs_repacked": 0, "packs_deleted": 0,
                              "bytes_freed": 0, "dry_run": dry_run}
    if dry_run:
        report.update(objects_dropped=sum(len(v) for v in drop.values()),
                      packs_retired=len(retire) + len(repack), packs_repacked=len(repack),
                      bytes_freed=freed)
        return report
    # Copy live objects out of sparse packs before anything is dropped.
    moved: dict[str, list[ObjectLocation]] = {}
    if repack:
        with PackWriter(storage, catalog) as writer:
            for pid, objs in repack.items():
                for o in objs:
                    kind = Kind.from_code(o.kind)
                    body = storage.get_bytes(pack_key(pid), o.offset, o.offset + o.length)
                    verify(kind, o.id, body)
                    writer.add(kind, o.id, body)
            writer.flush()
            new_locs = catalog.locate(o.id for objs in repack.values() for o in objs)
        for pid, objs in repack.items():
            moved[pid] = [new_locs[o.id] for o in objs if o.id in new_locs]
    with catalog.gc_exclusive() as session:
        # The barrier: commits that landed since the mark keep what they reference.
        now_roots = {r.commit for _, r in session.all_refs()} | session.deployed_commits()
        mark(store, now_roots - roots, live)
        # ... and so does whatever young packs hold (commits still on their way).
        mark_young(store, live, cutoff)
        live_ids = live.ids()
        dropped = 0
        for pid, ids in drop.items():
            still_dead = [i for i in ids if i not in live_ids]
            # Only rows still in the swept pack: a writer may have written the same object
            # again since the mark, moving its row to a young pack its commit will use.
            session.drop_objects(still_dead, pid)
            dropped += len(still_dead)
        # Swept commits leave the commit index too, so their ids stop resolving.
        session.forget_commits([c for c in dead_commits if c not in live_ids])
        # A pack whose dead object turned live stays, unless that object's row has moved to a
        # newer copy (a writer wrote it again): then this pack no longer serves it.
        resurrected = set()
        for pid, ids in drop.items():
            revived = [i for i in ids if i in live_ids]
            if revived and any(loc.pack == pid for loc in catalog.locate(revived).values()):
                resurrected.add(pid)
        for pid, locs in moved.items():
            session.move_objects(locs, pid)
        to_retire = [p for p in retire if p not in resurrected] + \
            [p for p in repack if p not in resurrected]
        session.retire_packs(to_retire, time.time())
    report.update(objects_dropped=dropped, packs_retired=len(to_retire),
                  packs_repacked=len(repack), bytes_freed=freed)
    report["packs_deleted"] = _delete_retired(store, cutoff if grace > 0 else time.time())
    report["orphans_deleted"] = _delete_orphans(store, cutoff)
    return report


def _delete_retired(store: StoreParts, cutoff: float) -> int:
    catalog, storage = store.catalog, store.storage
    doomed = [p for p in catalog.list_packs()
              if p.state == "retired" and (p.retired_at or 0) <= cutoff]
    ids = [p.id for p in doomed]
    # Forget first, then delete files: a crash in between leaves orphans gc removes later.
    catalog.delete_packs(ids)
    for pid in ids:
        storage.delete(idx_key(pid))
        storage.delete(pack_key(pid))
    return len(ids)


#: Pack files no catalog row knows are only deleted after this long whatever the grace
#: period: a writer publishes the pack file before its catalog rows.
ORPHAN_MIN_AGE = 3600.0


def _delete_orphans(store: StoreParts, cutoff: float) -> int:
    """Pack files no catalog row knows (crashed writers), and stale temp files."""
    cutoff = min(cutoff, time.time() - ORPHAN_MIN_AGE)
    known = {p.id for p in store.catalog.list_packs()}
    n = 0
    if isinstance(store.storage, LocalStorage):
        for path in store.storage.stale_temp_files(cutoff):
            path.unlink(missing_ok=True)
            n += 1
    for item in store.storage.list(PACK_PREFIX):
        name = item.key[len(PACK_PREFIX):]
        pid = name.split(".", 1)[0]
        if pid in known or item.mtime > cutoff:
            continue
        store.storage.delete(item.key)
        n += 1
    return n


# -- fsck ---------------------------------------------------------------------------------
def fsck(store: StoreParts, *, rebuild: bool = False,
         progress: Progress = NULL_PROGRESS) -> dict[str, Any]:
    """Verify every indexed object's hash and every ref's reachable graph."""
    if rebuild:
        rebuilt = rebuild_catalog(store, progress)
    catalog, storage = store.catalog, store.storage
    problems: list[dict[str, Any]] = []
    checked = 0
    packs = catalog.list_packs()
    progress.start(sum(p.size for p in packs), "B", "verifying packs")
    for p in packs:
        objs = catalog.pack_objects(p.id)
        if not objs:
            continue
        try:
            _, idx_objs = decode_index(storage.get_bytes(idx_key(p.id)))
            listed = {o.id for o in idx_objs}
            for o in objs:
                if o.id not in listed:
                    problems.append({"problem": "not in pack index", "object": o.id,
                                     "pack": p.id})
        except BlacklakeError as exc:
            problems.append({"problem": f"pack index unreadable: {exc}", "pack": p.id})
        try:
            data = storage.get_bytes(pack_key(p.id))
        except BlacklakeError as exc:
            problems.append({"problem": f"pack unreadable: {exc}", "pack": p.id,
                             "objects": len(objs)})
            continue
        view = memoryview(data)
        for o in objs:
            checked += 1
            kind = Kind.from_code(o.kind)
            if o.offset + o.length > len(data):
                problems.append({"problem": "truncated", "object": o.id, "kind": kind.value,
                                 "pack": p.id})
                continue
            try:
                verify(kind, o.id, view[o.offset:o.offset + o.length])
            except CorruptObject:
                problems.append({"problem": "hash mismatch", "object": o.id,
                                 "kind": kind.value, "pack": p.id, "offset": o.offset})
        progress.advance(p.size)
    progress.finish()
    bad = {pr.get("object") for pr in problems}
    for repo in catalog.list_repos():
        for ref in catalog.list_refs(repo.id):
            problems.extend(_check_graph(store, repo.name, ref.name, ref.commit, bad))
        heads = [r.commit for r in catalog.list_refs(repo.id)]
        indexed = catalog.get_commits(repo.id, heads)
        for ref in catalog.list_refs(repo.id):
            if ref.commit not in indexed:
                problems.append({"problem": "ref commit not in commit index", "repo": repo.name,
                                 "ref": ref.name, "object": ref.commit})
    out: dict[str, Any] = {"ok": not problems, "objects_checked": checked,
                           "packs": len(packs), "problems": problems}
    if rebuild:
        out["rebuilt"] = rebuilt
    return out


def _check_graph(store: StoreParts, repo: str, ref: str, head: str,
                 bad: set[Any]) -> list[dict[str, Any]]:
    """Walk one ref's graph; report missing or undecodable objects with where they are."""
    odb, catalog = store.odb, store.catalog
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    stack: list[tuple[str, str, str]] = [(head, "commit", "")]
    while stack:
        oid, kind, path = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        where = {"repo": repo, "ref": ref, "path": path or "/"}
        if oid in bad:
            problems.append({"problem": f"{kind} is corrupt", "object": oid, **where})
            continue
        try:
            if kind == "commit":
                c = odb.commit(oid)
                stack.extend((p, "commit", "") for p in c.parents)
                stack.append((c.tree, "tree", ""))
            elif kind == "tree":
                for e in odb.tree(oid):
                    sub = f"{path}/{e.name}" if path else e.name
                    stack.append((e.id, "tree" if e.is_dir else "file", sub))
            else:
                m = odb.file(oid)
                locs = catalog.locate(c for c, _ in m.chunks)
                for cid, _ in m.chunks:
                    if cid not in locs:
                        problems.append({"problem": "chunk missing", "object": cid, **where})
                    elif cid in bad:
                        problems.append({"problem": "chunk corrupt", "object": cid, **where})
        except BlacklakeError as exc:
            problems.append({"problem": f"{kind} unreadable: {exc}", "object": oid, **where})
    return problems


def rebuild_catalog(store: StoreParts, progress: Progress = NULL_PROGRESS) -> dict[str, int]:
    """Re-derive the object, pack and commit indexes from storage; refs are kept."""
    catalog, storage = store.catalog, store.storage
    catalog.reset_derived()
    sizes = {i.key: i for i in storage.list(PACK_PREFIX)}
    n_packs = n_objects = 0
    for key, item in sorted(sizes.items()):
        if not key.endswith(".idx"):
            continue
        pid, objs = decode_index(storage.get_bytes(key))
        pack_item = sizes.get(pack_key(pid))
        if pack_item is None:
            continue
        catalog.add_pack(PackRow(pid, pack_item.size, len(objs), pack_item.mtime), objs)
        n_packs += 1
        n_objects += len(objs)
    store.odb = type(store.odb)(storage, catalog)  # drop caches of the old index
    n_commits = 0
    for repo in catalog.list_repos():
        heads = [r.commit for r in catalog.list_refs(repo.id)]
        heads += [d.commit for d in catalog.current_deployments(repo.id)]  # gc roots too
        commits: dict[str, Commit] = {}
        stack = list(heads)
        while stack:
            cid = stack.pop()
            if cid in commits:
                continue
            try:
                commits[cid] = store.odb.commit(cid)
            except BlacklakeError:
                continue
            stack.extend(commits[cid].parents)
        gen: dict[str, int] = {}
        for cid in commits:
            _generation(cid, commits, gen)
        rows, changes, blobs = [], {}, []
        for cid, c in commits.items():
            rows.append(CommitRow(id=cid, tree=c.tree, parents=c.parents, author=c.author,
                                  committer=c.committer, time=c.time, message=c.message,
                                  meta=dict(c.meta), generation=gen[cid], size=c.size,
                                  nfiles=c.nfiles))
            first = commits[c.parents[0]].tree if c.parents and c.parents[0] in commits \
                else None
            d = diff_trees(store.odb, first, c.tree)
            changes[cid] = d.path_changes()
            for e in list(d.added.values()) + [b for _, b in d.modified.values()]:
                m = store.odb.file(e.id)
                blobs.append(BlobRow(e.id, m.size, m.sha256))
        catalog.index_commits(repo.id, CommitBatch(commits=rows, changes=changes, blobs=blobs))
        n_commits += len(rows)
    return {"packs": n_packs, "objects": n_objects, "commits": n_commits}


def _generation(cid: str, commits: dict[str, Commit], gen: dict[str, int]) -> int:
    stack = [cid]
    while stack:
        top = stack[-1]
        if top in gen:
            stack.pop()
            continue
        pending = [p for p in commits[top].parents if p in commits and p not in gen]
        if pending:
            stack.extend(pending)
            continue
        gen[top] = 1 + max((gen[p] for p in commits[top].parents if p in gen), default=0)
        stack.pop()
    return gen[cid]

