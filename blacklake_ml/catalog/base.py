"""The catalog interface: repositories, refs (the only mutable state), and query indexes.

The catalog is the source of truth for repositories and refs. Everything else in it (the
object/pack index, the commit index, path changes, file digests) is derivable from storage
and can be rebuilt by ``fsck --rebuild``. The docstrings here are the spec; one conformance
suite (``tests/test_catalog_conformance.py``) runs against SQLite and PostgreSQL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from blacklake_ml.core.redact import redact_url

if TYPE_CHECKING:
    from blacklake_ml.catalog.lineage_base import LineageIndex
    from blacklake_ml.catalog.search_base import SearchIndex


@dataclass(frozen=True)
class RepoRow:
    """A repository."""

    id: int
    name: str
    description: str
    created: float
    max_bytes: int | None = None
    max_files: int | None = None


@dataclass(frozen=True)
class RefRow:
    """A branch or tag. ``kind`` is ``"branch"`` or ``"tag"``."""

    name: str
    kind: str
    commit: str
    updated: float


@dataclass(frozen=True)
class CommitRow:
    """Index entry of a commit in one repository (mirrors the commit object)."""

    id: str
    tree: str
    parents: tuple[str, ...]
    author: str
    committer: str
    time: str
    message: str
    meta: dict[str, str] = field(default_factory=dict)
    generation: int = 1
    size: int = 0
    nfiles: int = 0


@dataclass(frozen=True)
class ObjectLocation:
    """Where an object's body lives: ``length`` bytes at ``offset`` of pack ``pack``."""

    id: str
    kind: int
    pack: str
    offset: int
    length: int


@dataclass(frozen=True)
class PackRow:
    """A pack file (``packs/<id>.pack`` + ``.idx``). ``state``: ``live`` or ``retired``."""

    id: str
    size: int
    nobjects: int
    created: float
    state: str = "live"
    retired_at: float | None = None


@dataclass(frozen=True)
class BlobRow:
    """Interop digests of a file object, filled lazily where the write path does not
    compute them: ``md5`` always, ``sha256`` for big files (whose manifests carry none)."""

    id: str
    size: int
    sha256: str | None
    md5: str | None = None


@dataclass(frozen=True)
class PathChange:
    """A file path a commit added (``A``), modified (``M``) or deleted (``D``).

    Relative to the commit's first parent.
    """

    path: str
    change: str


@dataclass
class CommitBatch:
    """Everything one ref update publishes atomically with the compare-and-swap."""

    commits: list[CommitRow]
    changes: dict[str, list[PathChange]] = field(default_factory=dict)
    blobs: list[BlobRow] = field(default_factory=list)
    #: Objects the new commit references that existed before this writer started: they must
    #: still be in the index when the ref moves, or a concurrent gc took them.
    required_objects: Sequence[str] = ()
    #: Packs this writer published, with their object counts, and the ids it wrote there.
    #: If every such pack still indexes all its objects (one query), they are all present;
    #: only otherwise are ``own_objects`` checked one by one.
    own_packs: Mapping[str, int] = field(default_factory=dict)
    own_objects: Sequence[str] = ()


@dataclass(frozen=True)
class AliasEvent:
    """One change of an alias, as recorded in its history.

    ``action`` is ``create``, ``move``, ``rollback``, ``rollforward`` or ``delete``;
    ``from_commit`` is None for ``create`` and ``to_commit`` is None for ``delete``. Labels
    are the version tag names that named the commits when the event happened (or None).
    ``seq`` counts from 1 per alias and never restarts (not even after a delete).
    """

    alias: str
    seq: int
    action: str
    from_commit: str | None
    to_commit: str | None
    from_label: str | None
    to_label: str | None
    by: str
    at: float
    reason: str = ""


@dataclass(frozen=True)
class DeploymentRow:
    """A deployment record: ``commit`` started running in ``environment`` at ``at``.

    ``action`` is ``deploy``, ``rollback`` or ``rollforward``; ``label`` is the version tag
    name of the commit at the time (or None). The latest row of an environment is what runs
    there now.
    """

    environment: str
    seq: int
    commit: str
    label: str | None
    action: str
    by: str
    at: float
    note: str = ""


@dataclass(frozen=True)
class DeprecationRow:
    """A deprecation of one commit, or of the whole repository (``commit`` None).

    ``sunset`` is an ISO date (``YYYY-MM-DD``) or None.
    """

    commit: str | None
    label: str | None
    reason: str
    sunset: str | None
    by: str
    at: float


class GcSession(ABC):
    """What ``gc`` may do while it holds the gc lock (one transaction)."""

    @abstractmethod
    def all_refs(self) -> list[tuple[int, RefRow]]:
        """Every ref of every repository, read inside the lock."""

    @abstractmethod
    def drop_objects(self, ids: Sequence[str], pack: str | None = None) -> None:
        """Remove objects from the index (with ``pack``: only those still located in it)."""

    @abstractmethod
    def move_objects(self, locations: Sequence[ObjectLocation], from_pack: str) -> None:
        """Point objects still located in ``from_pack`` at their new (repacked) locations."""

    @abstractmethod
    def forget_commits(self, ids: Sequence[str]) -> None:
        """Remove swept commits from the commit index (of every repository)."""

    @abstractmethod
    def retire_packs(self, ids: Sequence[str], when: float) -> None:
        """Mark packs retired: no object points into them; files deleted after a grace time."""

    @abstractmethod
    def deployed_commits(self) -> set[str]:
        """Commits currently deployed anywhere (gc roots besides refs), read inside the lock."""


class Catalog(ABC):
    """Catalog operations used by the service layer. Implementations must be thread-safe."""

    url: str

    @property
    def display_url(self) -> str:
        """The URL with any password masked (for messages and ``init``)."""
        return redact_url(self.url)

    # -- lifecycle ------------------------------------------------------------------------
    @abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema to the current version (idempotent, concurrency-safe)."""

    @abstractmethod
    def search_index(self) -> SearchIndex:
        """The search tables of this catalog (cards, full text, vectors, sketches)."""

    @abstractmethod
    def lineage_index(self) -> LineageIndex:
        """The lineage graph of this catalog (nodes, edges)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    # -- repositories ---------------------------------------------------------------------
    @abstractmethod
    def create_repo(self, name: str, description: str = "", *, max_bytes: int | None = None,
                    max_files: int | None = None, initial_commit: CommitRow | None = None,
                    default_branch: str = "main") -> RepoRow:
        """Create a repository (and its default branch at ``initial_commit``).

        Raises :class:`~blacklake_ml.errors.RepoExists` if the name is taken.
        """

    @abstractmethod
    def get_repo(self, name: str) -> RepoRow:
        """The repository called ``name``; raises :class:`~blacklake_ml.errors.RepoNotFound`."""

    @abstractmethod
    def list_repos(self) -> list[RepoRow]:
        """All repositories, by name."""

    @abstractmethod
    def delete_repo(self, name: str) -> None:
        """Delete a repository with its refs and index rows (objects stay until ``gc``)."""

    @abstractmethod
    def set_quota(self, repo_id: int, max_bytes: int | None, max_files: int | None) -> None:
        """Set or clear a repository's quotas."""

    # -- refs -----------------------------------------------------------------------------
    @abstractmethod
    def get_ref(self, repo_id: int, name: str) -> RefRow | None:
        """The branch or tag called ``name``, or None."""

    @abstractmethod
    def list_refs(self, repo_id: int, kind: str | None = None) -> list[RefRow]:
        """Refs of a repository (optionally only ``branch`` or ``tag``), by name."""

    @abstractmethod
    def create_ref(self, repo_id: int, name: str, kind: str, commit: str) -> RefRow:
        """Create a ref at a stored commit.

        Raises :class:`~blacklake_ml.errors.RefExists` if the name is taken and
        :class:`~blacklake_ml.errors.RefNotFound` if the commit object is not indexed (checked
        under the gc barrier, like :meth:`update_ref`).
        """

    @abstractmethod
    def delete_ref(self, repo_id: int, name: str, kind: str) -> None:
        """Delete a ref; raises :class:`~blacklake_ml.errors.RefNotFound` if absent."""

    @abstractmethod
    def update_ref(self, repo_id: int, name: str, expected: str, batch: CommitBatch,
                   new: str) -> None:
        """Atomically index ``batch`` and move branch ``name`` from ``expected`` to ``new``.

        Raises :class:`~blacklake_ml.errors.RefMoved` (and changes nothing) if the branch no
        longer points at ``expected``, :class:`~blacklake_ml.errors.RefNotFound` if it is
        gone, and :class:`~blacklake_ml.errors.ObjectsVanished` if any of
        ``batch.required_objects`` left the object index. Serialises against
        :meth:`gc_exclusive`.
        """

    # -- commit index ---------------------------------------------------------------------
    @abstractmethod
    def get_commits(self, repo_id: int, ids: Iterable[str]) -> dict[str, CommitRow]:
        """Index rows of the given commits that belong to the repository."""

    @abstractmethod
    def find_commits(self, repo_id: int, prefix: str, limit: int = 2) -> list[str]:
        """Ids of the repository's commits starting with hex ``prefix`` (at most ``limit``)."""

    @abstractmethod
    def index_commits(self, repo_id: int, batch: CommitBatch) -> None:
        """Add commits (and their path changes) to the index without moving any ref."""

    @abstractmethod
    def commits_touching(self, repo_id: int, path: str) -> set[str]:
        """Ids of commits whose path changes include ``path`` or anything below it."""

    @abstractmethod
    def count_commits(self, repo_id: int | None = None) -> int:
        """Number of indexed commits (of one repository, or all)."""

    # -- objects and packs ----------------------------------------------------------------
    @abstractmethod
    def add_pack(self, pack: PackRow, objects: Sequence[ObjectLocation]) -> None:
        """Register a pack and its objects; objects already indexed move to this newer copy."""

    @abstractmethod
    def locate(self, ids: Iterable[str]) -> dict[str, ObjectLocation]:
        """Locations of the given objects that are indexed."""

    @abstractmethod
    def existing(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` present in the object index."""

    @abstractmethod
    def list_packs(self) -> list[PackRow]:
        """Every registered pack."""

    @abstractmethod
    def pack_objects(self, pack: str) -> list[ObjectLocation]:
        """Objects whose current location is in ``pack``."""

    @abstractmethod
    def iter_object_ids(self, kind: int | None = None) -> Iterable[tuple[str, int]]:
        """Every indexed ``(id, kind)`` (optionally of one kind)."""

    # -- gc -------------------------------------------------------------------------------
    @abstractmethod
    def gc_exclusive(self) -> AbstractContextManager[GcSession]:
        """Hold the gc lock (which :meth:`update_ref` honours) for one transaction.

        Everything done through the yielded :class:`GcSession` commits together on exit.
        """

    @abstractmethod
    def all_refs(self) -> list[tuple[int, RefRow]]:
        """Every ref of every repository as ``(repo_id, ref)``."""

    @abstractmethod
    def delete_packs(self, ids: Iterable[str]) -> None:
        """Forget packs (and any objects still located in them)."""

    # -- file digests ---------------------------------------------------------------------
    @abstractmethod
    def get_blob(self, file_id: str) -> BlobRow | None:
        """Digests of a file object."""

    @abstractmethod
    def set_md5(self, file_id: str, md5: str) -> None:
        """Cache the MD5 of a file object."""

    @abstractmethod
    def set_sha256(self, file_id: str, sha256: str) -> None:
        """Cache the SHA-256 of a file object (a no-op for an unknown id, like
        :meth:`set_md5`)."""

    # -- rebuild --------------------------------------------------------------------------
    @abstractmethod
    def reset_derived(self) -> None:
        """Drop every derivable row (objects, packs, commits, path changes, blobs)."""

    # -- model lifecycle ------------------------------------------------------------------
    # Not derivable from storage: reset_derived() leaves these rows alone, and deleting a
    # repository deletes them with it.
    @abstractmethod
    def create_tag_exclusive(self, repo_id: int, name: str, commit: str,
                             equivalent: Sequence[str]) -> RefRow:
        """Create tag ``name`` as :meth:`create_ref` does, unless a ref in ``equivalent`` exists.

        Check and insert are atomic against every other call for the same repository: two
        spellings of one version (``v1.2.3``, ``1.2.3``) can never both be created. Raises
        :class:`~blacklake_ml.errors.RefExists` naming the existing ref, and
        :class:`~blacklake_ml.errors.RefNotFound` if the commit is not stored.
        """

    @abstractmethod
    def move_alias(self, repo_id: int, name: str, expected: str | None, new: str | None, *,
                   action: str, by: str, reason: str = "", from_label: str | None = None,
                   to_label: str | None = None, after_seq: int | None = None) -> AliasEvent:
        """Create, move or delete alias ``name`` by compare-and-swap, recording the event.

        ``expected`` None creates the alias at ``new``; ``new`` None deletes it; both given
        move it from ``expected`` to ``new``. The ref change and the appended
        :class:`AliasEvent` (``seq`` = last + 1, carrying ``expected``/``new`` as
        ``from_commit``/``to_commit``) commit in one transaction: history never misses a
        move nor records one that did not happen.

        Raises, changing nothing: :class:`~blacklake_ml.errors.RefExists` when creating and
        any ref has that name; :class:`~blacklake_ml.errors.RefMoved` when the alias does
        not point at ``expected``, or when ``after_seq`` is given and the alias's last event
        is not ``after_seq`` (0: no events; this guards rollbacks computed from history);
        :class:`~blacklake_ml.errors.RefNotFound` when there is no alias ``name`` to move or
        delete (a branch or tag is not one) or ``new`` is not a stored commit (checked under
        the gc barrier, as in :meth:`create_ref`).
        """

    @abstractmethod
    def alias_history(self, repo_id: int, name: str) -> list[AliasEvent]:
        """Every event of alias ``name`` (kept after a delete), oldest first."""

    @abstractmethod
    def record_deployment(self, repo_id: int, environment: str, commit: str, *, action: str,
                          by: str, label: str | None = None, note: str = "",
                          after_seq: int | None = None) -> DeploymentRow:
        """Append a deployment record for ``environment`` (``seq`` = last + 1) and return it.

        Raises :class:`~blacklake_ml.errors.RefNotFound` if ``commit`` is not stored (checked
        under the gc barrier: deployed commits are gc roots). With ``after_seq``, raises
        :class:`~blacklake_ml.errors.RefMoved` unless the environment's last record is
        ``after_seq`` (0: none); without it, concurrent records all land, in some order.
        """

    @abstractmethod
    def deployment_history(self, repo_id: int, environment: str) -> list[DeploymentRow]:
        """The records of one environment, oldest first (empty if it has none)."""

    @abstractmethod
    def current_deployments(self, repo_id: int) -> list[DeploymentRow]:
        """The latest record of each environment of the repository, by environment name."""

    @abstractmethod
    def deployed_commits(self) -> set[str]:
        """Commits of the latest record of every environment of every repository (gc roots)."""

    @abstractmethod
    def set_deprecation(self, repo_id: int, commit: str | None, *, reason: str,
                        sunset: str | None, by: str, label: str | None = None
                        ) -> DeprecationRow:
        """Deprecate ``commit`` (None: the whole repository), replacing an earlier one."""

    @abstractmethod
    def clear_deprecation(self, repo_id: int, commit: str | None) -> bool:
        """Remove the deprecation of ``commit`` (None: the repository); False if none."""

    @abstractmethod
    def find_deprecations(self, repo_id: int, commit: str | None = None
                          ) -> list[DeprecationRow]:
        """Deprecations of the repository, the repository-wide one first.

        With ``commit``, only those applying to it (its own and the repository-wide one) in
        one indexed query: this runs on every model load.
        """
