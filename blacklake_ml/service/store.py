"""The :class:`Store` facade: opens storage + catalog from configuration, hands out repos.

The top of the service layer: it builds :class:`Repo` handles and the ``lineage``
component, and runs ``maintenance``; none of them imports this module (they take the few
things they use of a store as small protocols: ``RepoStore``, ``LineageStore``,
``StoreParts``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import orjson
from typing_extensions import Self

from blacklake_ml.catalog import Catalog, CommitRow, RepoRow, open_catalog
from blacklake_ml.config import Config, load_config
from blacklake_ml.core.chunking import DEFAULT_PARAMS, Chunker
from blacklake_ml.core.ids import FORMAT, Kind
from blacklake_ml.core.names import validate_repo_name
from blacklake_ml.core.objects import Commit
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.core.redact import install_log_redaction
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput, ObjectNotFound, StorageError
from blacklake_ml.service import maintenance
from blacklake_ml.service.lineage import Lineage
from blacklake_ml.service.objectdb import EMPTY_TREE_ID, ObjectDB
from blacklake_ml.service.packs import PackWriter
from blacklake_ml.service.read import BlobReader
from blacklake_ml.service.repo import Repo
from blacklake_ml.shapes import now_iso
from blacklake_ml.storage import LocalStorage, ObjectStorage, open_storage

MARKER = "blacklake.json"
#: a listener's exception text may quote a store URL: the filter masks credentials
_log = install_log_redaction(logging.getLogger(__name__))


class Store:
    """A BlackLake store: many repositories sharing one deduplicated object space."""

    def __init__(self, storage: ObjectStorage, catalog: Catalog, config: Config) -> None:
        self.storage = storage
        self.catalog = catalog
        self.config = config
        self.chunker = Chunker(DEFAULT_PARAMS)
        self.odb = ObjectDB(storage, catalog)
        #: called with a :class:`Repo` after any of its branches or tags moved, appeared or
        #: went away (e.g. the search indexer). A listener's failure never fails the write:
        #: the ref has already moved, so it is logged and the listener catches up later.
        self.ref_listeners: list[Callable[[Repo], None]] = []
        self._lineage: Lineage | None = None

    @property
    def lineage(self) -> Lineage:
        """The recorded lineage graph (runs, what they consumed and produced)."""
        if self._lineage is None:
            self._lineage = Lineage(self)
        return self._lineage

    def refs_changed(self, repo: Repo) -> None:
        """Tell every listener that ``repo``'s refs changed."""
        for listener in list(self.ref_listeners):
            try:
                listener(repo)
            except Exception as exc:  # noqa: BLE001 - a listener must not fail a landed write
                _log.warning("ref listener %r failed for %s: %s", listener, repo.name, exc,
                             exc_info=_log.isEnabledFor(logging.DEBUG))
        # the small bodies a put kept were for these listeners to read back: no longer held
        self.odb.forget_recent_bodies()

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, *, storage: str | None = None,
             catalog: str | None = None, storage_options: dict[str, Any] | None = None,
             config: Config | None = None) -> Store:
        """Open (creating on first use) the store configured by arguments/env/config file."""
        cfg = config or load_config(home)
        cfg = cfg.with_overrides(storage=storage, catalog=catalog,
                                 storage_options=storage_options)
        opts = dict(cfg.storage_options)
        url = cfg.storage
        if "://" not in url or url.startswith("file://"):
            opts.setdefault("fsync", cfg.fsync)
        st = open_storage(url, **opts)
        cat = open_catalog(cfg.catalog)
        store = cls(st, cat, cfg)
        store._check_marker()
        return store

    def _check_marker(self) -> None:
        want = {"format": FORMAT, "chunker": vars(DEFAULT_PARAMS)}
        try:
            have = orjson.loads(self.storage.get_bytes(MARKER))
        except ObjectNotFound:
            self.storage.put_bytes(MARKER, orjson.dumps(want, option=orjson.OPT_INDENT_2))
            return
        except orjson.JSONDecodeError:
            raise StorageError(f"{MARKER} in {self.storage.display_url} is damaged") from None
        if have.get("format", {}).get("version") != FORMAT["version"]:
            raise StorageError(f"store at {self.storage.display_url} has format "
                               f"{have.get('format')}, this version reads {FORMAT}")

    def close(self) -> None:
        """Release connections and file handles."""
        self.storage.close()
        self.catalog.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Where this store lives (URLs with their credentials masked: this is shown)."""
        where = self.storage.root if isinstance(self.storage, LocalStorage) else None
        return {"home": str(self.config.home), "storage": self.storage.display_url,
                "catalog": self.catalog.display_url,
                "objects_dir": str(where) if where else None}

    # -- repositories ---------------------------------------------------------------------
    def create_repo(self, name: str, description: str = "", *, max_bytes: int | None = None,
                    max_files: int | None = None, default_branch: str = "main") -> Repo:
        """Create a repository with ``default_branch`` at an empty initial commit."""
        validate_repo_name(name)
        if not isinstance(description, str) or len(description) > 4096:
            raise InvalidInput("description must be a string of at most 4096 characters")
        for v in (max_bytes, max_files):
            if v is not None and v < 0:
                raise InvalidInput("quotas must be non-negative")
        who = self.config.author
        commit = Commit(tree=EMPTY_TREE_ID, parents=(), author=who, committer=who,
                        time=now_iso(), message="Initialize repository",
                        meta={"repo": name})
        with PackWriter(self.storage, self.catalog) as writer:
            writer.add(Kind.COMMIT, commit.id, commit.encode())
            writer.flush()
        row = CommitRow(id=commit.id, tree=commit.tree, parents=(), author=who, committer=who,
                        time=commit.time, message=commit.message, meta=dict(commit.meta))
        repo_row = self.catalog.create_repo(name, description, max_bytes=max_bytes,
                                            max_files=max_files, initial_commit=row,
                                            default_branch=default_branch)
        return Repo(self, repo_row)

    def repo(self, name: str) -> Repo:
        """The repository ``name`` (:class:`~blacklake_ml.errors.RepoNotFound` if none)."""
        validate_repo_name(name)
        return Repo(self, self.catalog.get_repo(name))

    def list_repos(self) -> list[RepoRow]:
        """All repositories."""
        return self.catalog.list_repos()

    def delete_repo(self, name: str) -> None:
        """Delete a repository (its objects are reclaimed by ``gc``)."""
        validate_repo_name(name)
        self.catalog.delete_repo(name)

    # -- URIs -----------------------------------------------------------------------------
    def resolve_uri(self, uri: str | BlacklakeURI) -> tuple[Repo, str, str]:
        """``(repo, commit id, path)`` for a ``blacklake://`` URI."""
        u = uri if isinstance(uri, BlacklakeURI) else BlacklakeURI.parse(uri)
        repo = self.repo(u.repo)
        return repo, repo.resolve(u.ref), u.path

    def open_uri(self, uri: str) -> BlobReader:
        """A seekable binary file object for the file a URI names."""
        repo, commit, path = self.resolve_uri(uri)
        return repo.open(commit, path)

    # -- maintenance ----------------------------------------------------------------------
    def stats(self, repo: str | None = None) -> dict[str, Any]:
        """Logical vs stored bytes and dedup ratio, for one repository or the store."""
        return maintenance.stats(self, repo)

    def gc(self, *, grace: float | None = None, repack_below: float = 0.5,
           dry_run: bool = False, progress: Progress = NULL_PROGRESS) -> dict[str, Any]:
        """Collect unreachable objects and repack sparse packs (safe with live writers)."""
        return maintenance.gc(self, grace=self.config.gc_grace if grace is None else grace,
                              repack_below=repack_below, dry_run=dry_run, progress=progress)

    def fsck(self, *, rebuild: bool = False, progress: Progress = NULL_PROGRESS
             ) -> dict[str, Any]:
        """Verify every object and reference; ``rebuild`` re-derives catalog indexes."""
        return maintenance.fsck(self, rebuild=rebuild, progress=progress)
