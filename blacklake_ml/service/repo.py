"""The :class:`Repo` handle: one repository's verbs (a cheap, lazy object).

``Repo`` is a facade over the algorithms below it, which never see it: ``history`` (ref
resolution and walks: the catalog and the repository's id), ``merge`` (three-way merges:
the object reader), ``commit`` (publishing: a :class:`~blacklake_ml.service.commit.CommitTarget`),
``digests`` (the object reader and the catalog) and the ``lifecycle`` component
(:attr:`Repo.lifecycle`). It reaches its store only through :class:`RepoStore`.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

from blacklake_ml.catalog import Catalog, CommitBatch, CommitRow, RefRow, RepoRow
from blacklake_ml.config import Config
from blacklake_ml.core import semver
from blacklake_ml.core.chunking import Chunker
from blacklake_ml.core.names import (
    join_path,
    normalize_path,
    validate_message,
    validate_meta,
    validate_ref_name,
)
from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.core.retry import LOST, MAX_ATTEMPTS, Lost, retry_cas
from blacklake_ml.errors import (
    InvalidInput,
    ObjectNotFound,
    ObjectsVanished,
    PathNotFound,
    RefMoved,
    RefNotFound,
)
from blacklake_ml.service import extraction, history, read
from blacklake_ml.service import merge as merging
from blacklake_ml.service.diff import TreeDiff, diff_trees
from blacklake_ml.service.digests import file_digests
from blacklake_ml.service.lifecycle import Lifecycle
from blacklake_ml.service.objectdb import EMPTY_TREE_ID, ObjectDB
from blacklake_ml.service.packs import PackWriter
from blacklake_ml.service.trees import lookup, walk_files
from blacklake_ml.shapes import DiffEntryDoc, entry_json
from blacklake_ml.storage import ObjectStorage

if TYPE_CHECKING:
    # the write path (ingest, chunking) loads on first use: see Repo.transaction
    from blacklake_ml.service.commit import CommitResult, CommitTarget, Transaction

_P = ParamSpec("_P")
_R = TypeVar("_R")


class RepoStore(Protocol):
    """What a :class:`Repo` needs of its store (the ``Store`` facade, which hands out repos,
    is one): storage, catalog, configuration, chunker, the object reader (read when used:
    ``fsck --rebuild`` replaces it), and whom to tell after a ref moved."""

    @property
    def storage(self) -> ObjectStorage: ...

    @property
    def catalog(self) -> Catalog: ...

    @property
    def config(self) -> Config: ...

    @property
    def chunker(self) -> Chunker: ...

    @property
    def odb(self) -> ObjectDB: ...

    def refs_changed(self, repo: Repo) -> None: ...



def _moved_to_lifecycle(method: Callable[Concatenate[Lifecycle, _P], _R]
                        ) -> Callable[Concatenate[Repo, _P], _R]:
    """``Repo.<name>``: a deprecated alias of ``repo.lifecycle.<name>`` (same signature)."""
    name = method.__name__

    @functools.wraps(method)
    def alias(self: Repo, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        warnings.warn(f"Repo.{name}() is deprecated: use repo.lifecycle.{name}()",
                      DeprecationWarning, stacklevel=2)
        return method(self.lifecycle, *args, **kwargs)

    return alias


class Repo:
    """A repository in a :class:`~blacklake_ml.Store`."""

    def __init__(self, store: RepoStore, row: RepoRow) -> None:
        self.store = store
        self._row = row
        self._lifecycle: Lifecycle | None = None

    @property
    def id(self) -> int:
        """Catalog id."""
        return self._row.id

    @property
    def name(self) -> str:
        """Repository name."""
        return self._row.name

    @property
    def description(self) -> str:
        """Free-text description."""
        return self._row.description

    def __repr__(self) -> str:
        return f"Repo({self.name!r})"

    @property
    def lifecycle(self) -> Lifecycle:
        """The model lifecycle of this repository: versions, aliases, deployments and
        deprecations (see :class:`~blacklake_ml.service.lifecycle.Lifecycle`)."""
        if self._lifecycle is None:
            self._lifecycle = Lifecycle(
                self.store.catalog, self, author=self.store.config.author,
                resolve=self.resolve, existing_commit=self._existing_commit,
                refs_changed=self._refs_changed)
        return self._lifecycle

    def _refs_changed(self) -> None:
        self.store.refs_changed(self)

    def commit_target(self) -> CommitTarget:
        """What :class:`~blacklake_ml.service.commit.Transaction` and
        :func:`~blacklake_ml.service.commit.publish` need to write commits here."""
        from blacklake_ml.service.commit import CommitTarget

        st = self.store
        return CommitTarget(self._row, st.storage, st.catalog, st.odb, st.chunker,
                            st.config.author, self._refs_changed)

    # -- refs -----------------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """Commit id of a branch, tag or commit id (prefix)."""
        return history.resolve(self.store.catalog, self, ref)

    def branch_head(self, branch: str) -> str:
        """Commit a branch points at (tags and commit ids are not branches)."""
        return history.branch_head(self.store.catalog, self, branch)

    def branches(self) -> list[RefRow]:
        """All branches."""
        return self.store.catalog.list_refs(self.id, "branch")

    def tags(self) -> list[RefRow]:
        """All tags."""
        return self.store.catalog.list_refs(self.id, "tag")

    def _existing_commit(self, ref: str) -> str:
        """Commit id of ``ref``, checking its object is still stored (not collected by gc)."""
        cid = self.resolve(ref)
        try:
            self.store.odb.commit(cid)
        except ObjectNotFound:
            raise RefNotFound(f"commit {cid[:12]} of {ref!r} is no longer stored "
                              "(garbage-collected)") from None
        return cid

    def create_branch(self, name: str, from_ref: str = "main") -> RefRow:
        """Create branch ``name`` at ``from_ref``."""
        validate_ref_name(name, "branch")
        row = self.store.catalog.create_ref(self.id, name, "branch",
                                            self._existing_commit(from_ref))
        self.store.refs_changed(self)
        return row

    def delete_branch(self, name: str) -> None:
        """Delete a branch (its commits stay reachable from other refs or go at ``gc``)."""
        validate_ref_name(name, "branch")
        self.store.catalog.delete_ref(self.id, name, "branch")
        self.store.refs_changed(self)

    def create_tag(self, name: str, ref: str) -> RefRow:
        """Tag the commit ``ref`` resolves to."""
        validate_ref_name(name, "tag")
        if semver.is_version(name):  # a version: refuse a second spelling of an existing one
            return self.lifecycle.create_version(name, ref)
        row = self.store.catalog.create_ref(self.id, name, "tag", self._existing_commit(ref))
        self.store.refs_changed(self)
        return row

    def delete_tag(self, name: str) -> None:
        """Delete a tag."""
        validate_ref_name(name, "tag")
        self.store.catalog.delete_ref(self.id, name, "tag")
        self.store.refs_changed(self)

    # -- quotas ---------------------------------------------------------------------------
    def set_quota(self, max_bytes: int | None = None, max_files: int | None = None) -> None:
        """Limit the logical size / file count of any commit in this repository."""
        for v in (max_bytes, max_files):
            if v is not None and v < 0:
                raise InvalidInput("quotas must be non-negative")
        self.store.catalog.set_quota(self.id, max_bytes, max_files)
        self._row = self.store.catalog.get_repo(self.name)

    # -- writing --------------------------------------------------------------------------
    def transaction(self, branch: str, message: str, *, meta: Mapping[str, Any] | None = None,
                    author: str | None = None, time: str | datetime | None = None,
                    progress: Progress = NULL_PROGRESS) -> Transaction:
        """Stage several changes to ``branch`` and publish them as one commit (``time``: a
        timestamp with timezone to record instead of now, for imports keeping dates)."""
        # imported here: read commands never load the write path (ingest, chunking)
        from blacklake_ml.service.commit import Transaction

        return Transaction(self.commit_target(), branch, message, meta=meta, author=author,
                           time=time, progress=progress)

    def commit_retrying(self, build: Callable[[], Transaction], *,
                        allow_empty: bool = False) -> CommitResult:
        """Run ``build() -> Transaction`` and commit it; build and commit once more if a
        concurrent gc took objects the first attempt deduplicated against
        (:class:`~blacklake_ml.errors.ObjectsVanished`). For writers that stage from
        sources they can read again (files, bytes)."""
        for attempt in range(2):
            tx = build()
            try:
                return tx.commit(allow_empty=allow_empty)
            except ObjectsVanished:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def put(self, local: str | os.PathLike[str], path: str = "", *, branch: str = "main",
            message: str, meta: Mapping[str, Any] | None = None,
            commit_meta: Mapping[str, Any] | None = None, author: str | None = None,
            progress: Progress = NULL_PROGRESS, follow_symlinks: bool = False) -> CommitResult:
        """Commit a local file, or a directory's contents, at ``path`` on ``branch``.

        A file goes to ``path`` itself, or below it (under its own name) when ``path`` is
        the root, ends with '/', or is an existing directory; a directory's contents go
        under ``path``. In a directory, a symlink leading outside it is refused
        (:class:`~blacklake_ml.errors.UnsafeSymlink`, nothing committed) unless
        ``follow_symlinks``; links that stay inside are stored as their targets' contents.
        ``local`` itself may be a symlink (it is followed: the caller named it).
        """
        local = os.fspath(local)
        validate_message(message)
        if not os.path.exists(local):
            raise PathNotFound(f"no such file or directory: {local}")
        is_dir = os.path.isdir(local)
        dest = normalize_path(path)
        if not is_dir:
            if not dest or path.endswith("/"):
                dest = normalize_path(join_path(dest, os.path.basename(local)))
            else:
                existing = lookup(self.store.odb, self._tree(self.branch_head(branch)), dest)
                if existing is not None and existing.is_dir:
                    dest = f"{dest}/{os.path.basename(local)}"

        def build() -> Transaction:
            tx = self.transaction(branch, message, meta=commit_meta, author=author,
                                  progress=progress)
            if is_dir:
                tx.put_dir(local, dest, meta, follow_symlinks=follow_symlinks)
            else:
                tx.put_file(local, dest, meta)
            return tx

        return self.commit_retrying(build)

    def put_bytes(self, data: bytes, path: str, *, branch: str = "main", message: str,
                  meta: Mapping[str, Any] | None = None,
                  commit_meta: Mapping[str, Any] | None = None) -> CommitResult:
        """Commit ``data`` as the file ``path``."""
        def build() -> Transaction:
            tx = self.transaction(branch, message, meta=commit_meta)
            tx.put_bytes(data, path, meta)
            return tx

        return self.commit_retrying(build)

    def rm(self, path: str, *, branch: str = "main", message: str,
           meta: Mapping[str, Any] | None = None) -> CommitResult:
        """Commit the removal of a file or directory."""
        path = normalize_path(path, allow_root=False)
        tx = self.transaction(branch, message, meta=meta)
        tx.delete(path)
        return tx.commit()

    # -- reading --------------------------------------------------------------------------
    def _tree(self, commit_id: str) -> str:
        return self.store.odb.commit(commit_id).tree

    def entry(self, ref: str, path: str = "") -> TreeEntry:
        """The entry at ``path`` (the root if '') at ``ref``; :class:`PathNotFound` if none."""
        path = normalize_path(path)
        return self._entry_at(self.resolve(ref), path, ref)

    def _entry_at(self, commit: str, path: str, ref: str) -> TreeEntry:
        """The entry at canonical ``path`` of ``commit`` (``ref`` names it in errors)."""
        entry = lookup(self.store.odb, self._tree(commit), path)
        if entry is None:
            raise PathNotFound(f"no such path at {ref}: {path or '/'}")
        return entry

    def ls(self, ref: str = "main", path: str = "", *, recursive: bool = False,
           safety: bool = True) -> list[dict[str, Any]]:
        """Entries at ``path``: a directory's children, or the file itself. File entries
        carry the scanner's ``"safety"`` verdict and ``"safety_reasons"`` unless
        ``safety=False``."""
        path = normalize_path(path)
        entry = self.entry(ref, path)
        odb = self.store.odb
        rows: list[DiffEntryDoc]
        if not entry.is_dir:
            rows = [entry_json(path, entry)]
        elif recursive:
            rows = [entry_json(p, e) for p, e in walk_files(odb, entry.id, path)]
        else:
            rows = [entry_json(f"{path}/{e.name}" if path else e.name, e)
                    for e in odb.tree(entry.id)]
        # the safety annotations add keys: from here on plain dicts
        out = cast("list[dict[str, Any]]", rows)
        if safety:
            self.annotate_safety(out)
        return out

    def annotate_safety(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add the facts ``ls`` shows of file contents to the file entries of an
        ``ls``-shaped listing: ``"safety"``/``"safety_reasons"`` always, and
        ``"extraction_error"`` where indexing found a file that looks like a model and is not
        a readable one."""
        from blacklake_ml.service import safety as safety_mod  # the scanner: only when asked

        index = self.store.catalog.search_index()
        safety_mod.annotate(self.store.odb, index, entries)
        return extraction.annotate(index, entries)

    def safety(self, ref: str, path: str) -> dict[str, Any]:
        """The scanner's verdict on the file at ``path``: ``{"verdict": "safe"|"unsafe"|
        "unknown", "format", "reasons"}`` (cached by content; see :mod:`.safety`)."""
        entry = self.entry(ref, path)
        if entry.is_dir:
            raise InvalidInput(f"{path} is a directory: scan its files")
        npath = normalize_path(path)
        from blacklake_ml.service import safety as safety_mod

        return safety_mod.verdicts(self.store.odb, self.store.catalog.search_index(),
                                   [(npath, entry.id)])[entry.id]

    def open(self, ref: str, path: str) -> read.BlobReader:
        """A seekable binary file object for the file at ``path``.

        Warns (:class:`~blacklake_ml.errors.DeprecatedModelWarning`) if the commit is
        deprecated.
        """
        npath = normalize_path(path)
        commit = self.resolve(ref)
        entry = self._entry_at(commit, npath, ref)
        if entry.is_dir:
            raise PathNotFound(f"{path} is a directory")
        self.lifecycle.warn_if_deprecated(commit)
        return read.BlobReader(self.store.odb, self.store.odb.file(entry.id), path)

    def read_bytes(self, ref: str, path: str) -> bytes:
        """A file's whole content."""
        with self.open(ref, path) as f:
            return f.read()

    def digests(self, ref: str, path: str, *, md5: bool = False) -> dict[str, Any]:
        """Whole-file digests of a file: ``sha256`` always; ``md5`` when asked.

        Small files carry their SHA-256 in the manifest. Neither MD5 (DVC/W&B interop) nor,
        for big files, SHA-256 (Git LFS/Hugging Face) is computed on the write path: the
        first request streams the file once (both digests in the same pass) and caches them
        in the catalog; later ones are free.
        """
        entry = self.entry(ref, path)
        if entry.is_dir:
            raise InvalidInput(f"{path} is a directory")
        return file_digests(self.store.odb, self.store.catalog, entry.id, md5=md5)

    def get(self, ref: str, path: str, out: str | os.PathLike[str], *,
            progress: Progress = NULL_PROGRESS) -> int:
        """Copy a file (to ``out``) or directory (into ``out``); returns bytes written.

        Warns (:class:`~blacklake_ml.errors.DeprecatedModelWarning`) if the commit is
        deprecated.
        """
        path = normalize_path(path)
        commit = self.resolve(ref)
        entry = self._entry_at(commit, path, ref)
        self.lifecycle.warn_if_deprecated(commit)
        out_p = Path(out)
        odb = self.store.odb
        if entry.is_dir:
            return read.export_tree(odb, walk_files(odb, entry.id), out_p, progress)
        if out_p.is_dir():
            out_p = out_p / path.rsplit("/", 1)[-1]
        out_p.parent.mkdir(parents=True, exist_ok=True)
        progress.start(entry.size, "B", f"get {path}")
        try:
            read.write_file(odb, odb.file(entry.id), out_p, progress)
        finally:
            progress.finish()
        return entry.size

    def checkout(self, ref: str, dest: str | os.PathLike[str], *, path: str = "",
                 force: bool = False, progress: Progress = NULL_PROGRESS) -> int:
        """Write the tree at ``ref`` (or its subdirectory ``path``) into ``dest``.

        Warns (:class:`~blacklake_ml.errors.DeprecatedModelWarning`) if the commit is
        deprecated.
        """
        npath = normalize_path(path)
        commit = self.resolve(ref)
        entry = self._entry_at(commit, npath, ref)
        if not entry.is_dir:
            raise InvalidInput(f"{path} is a file: use get")
        self.lifecycle.warn_if_deprecated(commit)
        return read.checkout(self.store.odb, entry.id, Path(dest), force=force,
                             progress=progress)

    def log(self, ref: str = "main", *, path: str | None = None,
            limit: int | None = None) -> list[CommitRow]:
        """Commits reachable from ``ref``, newest first; only those touching ``path``."""
        if limit is not None and limit < 0:
            raise InvalidInput("-n must be non-negative")
        head = self.resolve(ref)
        touching = None
        if path is not None and normalize_path(path):
            touching = self.store.catalog.commits_touching(self.id, normalize_path(path))
        out: list[CommitRow] = []
        for row in history.iter_history(self.store.catalog, self, head):
            if limit is not None and len(out) >= limit:
                break
            if touching is None or row.id in touching:
                out.append(row)
        return out

    def diff(self, ref_a: str, ref_b: str, *, path: str = "") -> TreeDiff:
        """Files added/removed/modified from ``ref_a`` to ``ref_b`` (below ``path``)."""
        path = normalize_path(path)
        odb = self.store.odb
        ta, tb = self._tree(self.resolve(ref_a)), self._tree(self.resolve(ref_b))
        if path:
            ea, eb = lookup(odb, ta, path), lookup(odb, tb, path)
            if ea is None and eb is None:
                raise PathNotFound(f"no such path in either ref: {path}")
            if (ea and not ea.is_dir) or (eb and not eb.is_dir):
                d = TreeDiff()
                if ea and eb and (ea.id != eb.id or dict(ea.meta) != dict(eb.meta)):
                    d.modified[path] = (ea, eb)
                elif ea and not eb:
                    d.removed[path] = ea
                elif eb and not ea:
                    d.added[path] = eb
                return d
            return diff_trees(odb, ea.id if ea else None, eb.id if eb else None, path)
        return diff_trees(odb, ta, tb)

    # -- merging --------------------------------------------------------------------------
    def _land(self, branch: str, compute: Any, message: str,
              meta: Mapping[str, Any] | None) -> CommitResult:
        """Compute a tree against the branch head and publish it; recompute on lost races."""
        from blacklake_ml.service.commit import CommitResult, publish

        target = self.commit_target()

        def attempt() -> CommitResult | Lost:
            # Each try computes afresh against the branch head it read: a lost race means
            # the head moved under us, so the next try recomputes from the new one.
            head = self.branch_head(branch)
            with PackWriter(self.store.storage, self.store.catalog) as writer:
                outcome = compute(head, writer)
                if outcome is None:  # nothing to do
                    return CommitResult(head, created=False)
                root, parents = outcome
                if isinstance(root, str):  # fast-forward to an existing commit
                    try:
                        # The target commit must still be stored when the ref moves
                        # (gc barrier): never fast-forward onto a collected commit.
                        self.store.catalog.update_ref(self.id, branch, head,
                                                      _empty_batch(required=(root,)), root)
                    except RefMoved:
                        return LOST
                    self.store.refs_changed(self)
                    # No commit is created: the branch now points at an existing one.
                    return CommitResult(root, created=False, fast_forward=True,
                                        parents=self.store.odb.commit(root).parents)
                try:
                    cid = publish(target, branch, head, root, parents, message, writer=writer,
                                  meta=meta)
                except RefMoved:
                    return LOST
                return CommitResult(cid, parents=parents)

        return retry_cas(attempt, give_up=lambda: RefMoved(
            f"gave up after {MAX_ATTEMPTS} lost races on {branch!r}"))

    def merge(self, source: str, target: str = "main", *, message: str | None = None,
              strategy: merging.Strategy = None, no_ff: bool = False,
              meta: Mapping[str, Any] | None = None) -> CommitResult:
        """Merge ``source`` (any ref) into branch ``target``.

        Fast-forwards when ``target`` is an ancestor of ``source`` (unless ``no_ff``);
        raises :class:`~blacklake_ml.errors.MergeConflict` listing conflicting paths unless
        ``strategy`` (``"ours"``, ``"theirs"`` or ``{glob: side}``) resolves them.
        """
        strategy = merging.check_strategy(strategy)
        validate_ref_name(target, "branch")
        meta = validate_meta(meta)
        src = self._existing_commit(source)
        msg = validate_message(f"Merge {source} into {target}" if message is None else message)

        def compute(head: str, writer: PackWriter) -> Any:
            catalog = self.store.catalog
            if history.is_ancestor(catalog, self, src, head):
                return None  # already contains source
            if not no_ff and history.is_ancestor(catalog, self, head, src):
                return src, (head,)
            base = history.merge_base(catalog, self, head, src)
            base_tree = self._tree(base) if base else None
            out = merging.three_way(self.store.odb, base_tree, self._tree(head), self._tree(src),
                                    writer=writer, strategy=strategy)
            return out.root, (head, src)

        return self._land(target, compute, msg, meta)

    def cherry_pick(self, commit: str, target: str, *, message: str | None = None
                    ) -> CommitResult:
        """Apply the change ``commit`` made (vs its first parent) onto branch ``target``."""
        cid = self.resolve(commit)
        c = self.store.odb.commit(cid)
        parent_tree = self._tree(c.parents[0]) if c.parents else None
        msg = validate_message(f"{c.message}\n\n(cherry picked from commit {cid})"
                               if message is None else message)

        def compute(head: str, writer: PackWriter) -> Any:
            out = merging.three_way(self.store.odb, parent_tree, self._tree(head), c.tree,
                                    writer=writer)
            if out.root.id == self._tree(head):
                return None
            return out.root, (head,)

        return self._land(target, compute, msg, None)

    def revert(self, commit: str, branch: str, *, message: str | None = None) -> CommitResult:
        """Commit the inverse of ``commit``'s change onto ``branch``."""
        cid = self.resolve(commit)
        c = self.store.odb.commit(cid)
        parent_tree = self._tree(c.parents[0]) if c.parents else None
        first_line = c.message.splitlines()[0] if c.message else ""
        msg = validate_message(f'Revert "{first_line}"\n\nThis reverts commit {cid}.'
                               if message is None else message)

        def compute(head: str, writer: PackWriter) -> Any:
            out = merging.three_way(self.store.odb, c.tree, self._tree(head),
                                    parent_tree or EMPTY_TREE_ID, writer=writer)
            if out.root.id == self._tree(head):
                return None
            return out.root, (head,)

        return self._land(branch, compute, msg, None)

    # -- deprecated: the lifecycle verbs moved to repo.lifecycle ---------------------------
    # Thin aliases kept for one release, for code written against the old Repo verbs (the
    # docs show repo.lifecycle); each warns (DeprecationWarning) and calls the same method
    # of ``self.lifecycle``. Not counted among Repo's verbs; remove in the next minor.
    create_version = _moved_to_lifecycle(Lifecycle.create_version)
    versions = _moved_to_lifecycle(Lifecycle.versions)
    resolve_version = _moved_to_lifecycle(Lifecycle.resolve_version)
    aliases = _moved_to_lifecycle(Lifecycle.aliases)
    set_alias = _moved_to_lifecycle(Lifecycle.set_alias)
    delete_alias = _moved_to_lifecycle(Lifecycle.delete_alias)
    alias_history = _moved_to_lifecycle(Lifecycle.alias_history)
    rollback_alias = _moved_to_lifecycle(Lifecycle.rollback_alias)
    rollforward_alias = _moved_to_lifecycle(Lifecycle.rollforward_alias)
    deploy = _moved_to_lifecycle(Lifecycle.deploy)
    deployments = _moved_to_lifecycle(Lifecycle.deployments)
    deployment_history = _moved_to_lifecycle(Lifecycle.deployment_history)
    rollback_deployment = _moved_to_lifecycle(Lifecycle.rollback_deployment)
    rollforward_deployment = _moved_to_lifecycle(Lifecycle.rollforward_deployment)
    deprecate = _moved_to_lifecycle(Lifecycle.deprecate)
    undeprecate = _moved_to_lifecycle(Lifecycle.undeprecate)
    deprecation = _moved_to_lifecycle(Lifecycle.deprecation)
    deprecations = _moved_to_lifecycle(Lifecycle.deprecations)


def _empty_batch(required: tuple[str, ...] = ()) -> CommitBatch:
    return CommitBatch(commits=[], required_objects=required)
