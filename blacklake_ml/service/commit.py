"""Publishing commits: objects first, the ref last, by compare-and-swap.

:class:`Transaction` stages puts and deletes against one branch and turns them into one
commit. If another writer moved the branch meanwhile, the change set is re-applied on the new
head when the two touched disjoint paths (an automatic rebase), and a
:class:`~blacklake_ml.errors.CommitConflict` names the paths when they overlap. A crash at any
point leaves either the old ref (plus unreferenced objects for ``gc``) or the new one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from typing_extensions import Self

from blacklake_ml.catalog import BlobRow, Catalog, CommitBatch, CommitRow, RepoRow
from blacklake_ml.core.chunking import Chunker
from blacklake_ml.core.collector import collector_paused
from blacklake_ml.core.ids import Kind
from blacklake_ml.core.names import (
    join_path,
    normalize_path,
    overlapping,
    validate_message,
    validate_meta,
)
from blacklake_ml.core.objects import FILE, Commit, FileManifest, TreeEntry
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.core.retry import LOST, MAX_ATTEMPTS, Lost, retry_cas
from blacklake_ml.errors import (
    CommitConflict,
    InvalidInput,
    InvalidPath,
    PathNotFound,
    QuotaExceeded,
    RefMoved,
)
from blacklake_ml.service.diff import diff_trees
from blacklake_ml.service.history import branch_head
from blacklake_ml.service.ingest import Ingestor
from blacklake_ml.service.localtree import scan_dir
from blacklake_ml.service.objectdb import EMPTY_TREE_ID, ObjectDB
from blacklake_ml.service.packs import PackWriter
from blacklake_ml.service.trees import Root, TreeBuilder, lookup
from blacklake_ml.shapes import format_time, now_iso
from blacklake_ml.storage import ObjectStorage


def commit_time(value: str | datetime) -> str:
    """A given commit time (an import preserving the source's dates) in the form
    :func:`~blacklake_ml.shapes.now_iso` writes; it must say its timezone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"commit time {value!r} is not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("a commit time needs a timezone (e.g. 2026-11-26T10:00:00+01:00)")
    return format_time(value)


@dataclass(frozen=True)
class CommitTarget:
    """What writing commits to one repository needs: no ``Repo`` or ``Store``, just the
    repository's catalog row (id, name, quotas), the storage and catalog, the object reader,
    the chunker, the default author, and whom to tell after its ref moved."""

    repo: RepoRow
    storage: ObjectStorage
    catalog: Catalog
    odb: ObjectDB
    chunker: Chunker
    author: str
    refs_changed: Callable[[], None]


def check_quota(repo: RepoRow, root: Root) -> None:
    """Raise :class:`QuotaExceeded` if a snapshot with ``root`` breaks a quota of ``repo``."""
    if repo.max_bytes is not None and root.size > repo.max_bytes:
        raise QuotaExceeded(f"repository {repo.name!r} quota: {root.size} bytes would "
                            f"exceed the limit of {repo.max_bytes}")
    if repo.max_files is not None and root.nfiles > repo.max_files:
        raise QuotaExceeded(f"repository {repo.name!r} quota: {root.nfiles} files would "
                            f"exceed the limit of {repo.max_files}")


@dataclass
class CommitResult:
    """What a commit did. ``created`` is False when there was nothing to change."""

    commit: str
    files: int = 0
    bytes: int = 0
    new_bytes: int = 0
    created: bool = True
    rebased: int = 0
    parents: tuple[str, ...] = ()
    #: a merge that only moved the branch forward to an existing commit
    fast_forward: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``put --json`` document."""
        return {"commit": self.commit, "files": self.files, "bytes": self.bytes,
                "new_bytes": self.new_bytes, "created": self.created,
                "fast_forward": self.fast_forward}


def publish(target: CommitTarget, branch: str, expected: str, root: Root,
            parents: tuple[str, ...], message: str, *, writer: PackWriter,
            meta: Mapping[str, str] | None = None, author: str | None = None,
            blobs: Iterable[BlobRow] = (), required: Iterable[str] = (),
            time: str | None = None) -> str:
    """Write the commit object and move ``branch`` from ``expected`` to it.

    Raises :class:`RefMoved` if the branch moved (the caller decides: rebase or conflict).
    """
    check_quota(target.repo, root)
    who = author or target.author
    commit = Commit(tree=root.id, parents=parents, author=who, committer=who,
                    time=time or now_iso(),
                    message=message, meta=dict(meta or {}), size=root.size,
                    nfiles=root.nfiles)
    body = commit.encode()
    cid = commit.id
    writer.add(Kind.COMMIT, cid, body)
    writer.flush()
    parent_rows = target.catalog.get_commits(target.repo.id, parents)
    generation = 1 + max((r.generation for r in parent_rows.values()), default=0)
    first_parent_tree = target.odb.commit(parents[0]).tree if parents else None
    d = diff_trees(target.odb, first_parent_tree, root.id)
    changes = d.path_changes()
    row = CommitRow(id=cid, tree=root.id, parents=parents, author=who, committer=who,
                    time=commit.time, message=message, meta=dict(commit.meta),
                    generation=generation, size=root.size, nfiles=root.nfiles)
    # Everything this commit points at that its first parent may not: objects found in the
    # store (deduplicated), the ones this writer published and whatever its new trees point
    # at. gc keeps every indexed object's whole graph indexed, so if these are still indexed
    # under the gc lock, the commit is complete; if a concurrent gc swept any of them, the
    # ref must not move (see maintenance.gc).
    needed = (set(required) | writer.referenced | set(parents) | {root.id}) - writer.written
    needed.discard(EMPTY_TREE_ID)
    batch = CommitBatch(commits=[row], changes={cid: changes}, blobs=list(blobs),
                        required_objects=sorted(needed),
                        own_packs={p.id: p.nobjects for p in writer.published},
                        own_objects=sorted(writer.written))
    target.catalog.update_ref(target.repo.id, branch, expected, batch, cid)
    target.refs_changed()
    return cid


def _same_content_id(odb: ObjectDB, base_tree: str, path: str, fid: str,
                     manifest: FileManifest) -> str:
    """The id to commit for a big file: the one already at ``path`` if that is the same
    content stored in the older manifest format (with an inline SHA-256), so putting an
    unchanged file again still changes nothing."""
    old = lookup(odb, base_tree, path)
    if old is None or old.is_dir or old.id == fid or old.size != manifest.size:
        return fid
    return old.id if odb.file(old.id).same_content(manifest) else fid


@dataclass
class _Put:
    path: str
    meta: dict[str, str]
    local: str | None = None
    data: bytes | None = None
    size: int = 0


class Transaction:
    """Stage changes to a branch and publish them as one commit.

    Use as a context manager: leaving the block normally commits, an exception (including
    Ctrl-C) discards everything staged and nothing is published::

        with repo.transaction("main", "add eval set") as tx:
            tx.put_file("eval.parquet", "data/eval.parquet")
            tx.delete("data/old.parquet")
    """

    def __init__(self, target: CommitTarget, branch: str, message: str, *,
                 meta: Mapping[str, Any] | None = None, author: str | None = None,
                 time: str | datetime | None = None,
                 progress: Progress = NULL_PROGRESS) -> None:
        self.target = target
        #: the commit's time when given (imports keep the source's dates), else "now"
        self.time = commit_time(time) if time is not None else None
        self.branch = branch
        self.message = validate_message(message)
        self.meta = validate_meta(meta)
        self.author = author
        self.progress = progress
        self.base = branch_head(target.catalog, target.repo, branch)
        self._puts: dict[str, _Put] = {}
        self._deletes: set[str] = set()
        self.result: CommitResult | None = None
        self._closed = False

    # -- staging --------------------------------------------------------------------------
    def _stage(self, put: _Put) -> None:
        self._deletes.discard(put.path)
        self._puts[put.path] = put

    def put_file(self, local: str | os.PathLike[str], path: str,
                 meta: Mapping[str, Any] | None = None) -> None:
        """Stage the local file ``local`` at repository ``path``."""
        local = os.fspath(local)
        if not os.path.isfile(local):
            raise PathNotFound(f"no such file: {local}")
        self._stage(_Put(normalize_path(path, allow_root=False), validate_meta(meta), local,
                         size=os.path.getsize(local)))

    def put_bytes(self, data: bytes, path: str, meta: Mapping[str, Any] | None = None) -> None:
        """Stage ``data`` at repository ``path``."""
        self._stage(_Put(normalize_path(path, allow_root=False), validate_meta(meta),
                         data=bytes(data), size=len(data)))

    def put_dir(self, local_dir: str | os.PathLike[str], prefix: str = "",
                meta: Mapping[str, Any] | None = None, *,
                follow_symlinks: bool = False) -> int:
        """Stage every file below ``local_dir`` under ``prefix``; returns how many.

        A symlink leading outside ``local_dir`` is refused
        (:class:`~blacklake_ml.errors.UnsafeSymlink`) unless ``follow_symlinks``; links that
        stay inside are stored as their targets' contents (see
        :mod:`blacklake_ml.service.localtree`). Nothing is staged when any entry is refused.
        """
        local_dir = os.fspath(local_dir)
        prefix = normalize_path(prefix)
        meta_v = validate_meta(meta)
        puts: list[_Put] = []
        for f in scan_dir(local_dir, follow_symlinks=follow_symlinks):
            try:
                repo_path = normalize_path(join_path(prefix, f.rel), allow_root=False)
            except InvalidPath as exc:
                shown = os.path.join(local_dir, f.rel)
                raise InvalidPath(f"{shown!r}: {exc}") from None
            puts.append(_Put(repo_path, meta_v, f.path, size=f.size))
        for put in puts:  # all or nothing: a refused entry leaves the staging as it was
            self._stage(put)
        return len(puts)

    def delete(self, path: str) -> None:
        """Stage removal of a file or a whole directory."""
        path = normalize_path(path, allow_root=False)
        self._puts.pop(path, None)
        self._deletes.add(path)

    # -- publishing -----------------------------------------------------------------------
    def commit(self, *, allow_empty: bool = False) -> CommitResult:
        """Store staged contents and publish the commit (retrying lost ref races)."""
        if self._closed:
            raise RuntimeError("transaction already finished")
        self._closed = True
        target = self.target
        puts = list(self._puts.values())
        with PackWriter(target.storage, target.catalog,
                        on_published=target.odb.remember_locations) as writer:
            ingestor = Ingestor(target.catalog, writer, target.chunker, self.progress,
                                remember_chunk=target.odb.remember_chunk)
            try:
                total = sum(p.size for p in puts)
                self.progress.start(total, "B", f"storing {len(puts)} files")
                from_disk = [p for p in puts if p.local is not None]
                from_mem = [p for p in puts if p.local is None]
                with collector_paused():
                    stored = ingestor.store_paths([p.local for p in from_disk],  # type: ignore[misc]
                                                  [p.size for p in from_disk])
                    stored += ingestor.store_bytes([p.data for p in from_mem])  # type: ignore[misc]
            finally:
                self.progress.finish()
                ingestor.close()
            changes: dict[str, TreeEntry | None] = {}
            base_tree = target.odb.commit(self.base).tree
            for p, (fid, manifest) in zip(from_disk + from_mem, stored):
                target.odb.remember_file(fid, manifest)
                if manifest.sha256 is None:
                    fid = _same_content_id(target.odb, base_tree, p.path, fid, manifest)
                name = p.path.rsplit("/", 1)[-1]
                changes[p.path] = TreeEntry(name, FILE, fid, manifest.size, 1, p.meta)
            for path in self._deletes:
                changes[path] = None
            parent = self.base
            rebased = 0

            def attempt() -> CommitResult | Lost:
                # Each try applies the change set to the current parent; a lost race on the
                # branch rebases onto the new head unless the concurrent commit touched the
                # same paths (then it is a conflict: never silently overwrite theirs).
                nonlocal parent, rebased
                head = target.odb.commit(parent)
                root = TreeBuilder(target.odb, writer).apply(head.tree, changes)
                if root.id == head.tree and not allow_empty:
                    writer.flush()
                    return CommitResult(parent, ingestor.files, ingestor.bytes,
                                        writer.bytes_written, created=False,
                                        parents=head.parents)
                try:
                    cid = publish(target, self.branch, parent, root, (parent,), self.message,
                                  writer=writer, meta=self.meta, author=self.author,
                                  blobs=ingestor.blobs.values(), required=ingestor.required,
                                  time=self.time)
                except RefMoved:
                    moved_to = branch_head(target.catalog, target.repo, self.branch)
                    theirs = diff_trees(target.odb, head.tree,
                                        target.odb.commit(moved_to).tree).paths()
                    clash = overlapping(changes.keys(), theirs)
                    if clash:
                        raise CommitConflict(
                            f"branch {self.branch!r} was changed concurrently at the same "
                            f"paths: {', '.join(sorted(clash)[:10])}", clash) from None
                    parent = moved_to
                    rebased += 1
                    return LOST
                return CommitResult(cid, ingestor.files, ingestor.bytes,
                                    writer.bytes_written, rebased=rebased, parents=(parent,))

            self.result = retry_cas(attempt, give_up=lambda: CommitConflict(
                f"gave up after {MAX_ATTEMPTS} lost races on {self.branch!r}", changes.keys()))
            return self.result

    def abort(self) -> None:
        """Discard everything staged."""
        self._closed = True
        self._puts.clear()
        self._deletes.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._closed:
            self.commit()


__all__ = ["CommitResult", "CommitTarget", "Transaction", "check_quota", "publish"]
