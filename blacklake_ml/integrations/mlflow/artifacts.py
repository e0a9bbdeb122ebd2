"""``BlackLakeArtifactRepository``: MLflow artifacts stored in BlackLake.

Registered for the ``blacklake`` scheme (entry point ``mlflow.artifact_repository``), so an
experiment created with ``artifact_location="blacklake://repo/main/mlflow"`` (or a tracking
server started with ``--artifacts-destination blacklake://repo/main/mlflow``) reads and
writes the branch ``main`` of ``repo`` below ``mlflow/``.

Writes. Each logging call is one commit on the branch, made before the call returns, with
the MLflow run, experiment and logged model ids in the commit metadata:

* ``log_artifact`` (``mlflow.log_artifact``, ``log_dict``, ``log_text``, ``log_figure``…):
  one file, one commit;
* ``log_artifacts``: a whole directory in one commit, not one per file. ``log_model`` (MLflow
  3) saves the model locally and uploads it with a single ``log_artifacts`` to
  ``<experiment location>/models/<model id>/artifacts``: one commit per logged model;
* ``delete_artifacts`` (``mlflow gc``): one commit removing the path (older commits keep it).

A loop of many small logging calls can be folded into one commit with
:func:`blacklake_ml.integrations.mlflow.batch`. Through a tracking server that proxies
artifacts, the MLflow client uploads a directory file by file (one HTTP request each, to any
of the server's worker processes), so there each *file* is one commit: the server cannot see
which requests belong together, and holding files back would break read-after-write across
workers.

Reads. ``list_artifacts`` / downloads resolve the ref once per call and read that commit, so
a multi-file download is consistent even while the branch moves. ``_download_file`` runs on
MLflow's thread pool; it only reads the (thread-safe) store.

Lineage: ``run --produced--> blacklake://repo/<commit>/<path>`` for every write that belongs
to a run (plus the run's inputs, see :mod:`.inputs`).
"""

from __future__ import annotations

import copy
import logging
import os
from typing import TYPE_CHECKING, Any

from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from blacklake_ml.errors import InvalidPath, PathNotFound
from blacklake_ml.integrations.mlflow import batching, inputs, tracking
from blacklake_ml.integrations.mlflow.locations import ArtifactLocation, ids_in
from blacklake_ml.integrations.mlflow.session import get_store
from blacklake_ml.integrations.mlflow.writes import (
    Write,
    WriteContext,
    commit_writes,
    record_writes,
)

if TYPE_CHECKING:
    from blacklake_ml.api import Store
    from blacklake_ml.service.repo import Repo

_log = logging.getLogger(__name__)


class BlackLakeArtifactRepository(ArtifactRepository):
    """MLflow artifact repository on ``blacklake://<repo>/<branch>[/<prefix>]``."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None,
                 registry_uri: str | None = None, **kwargs: Any) -> None:
        # Parse first: a malformed URI fails here, with one clear error, before MLflow
        # starts threads for this repository.
        self.location = ArtifactLocation.parse(artifact_uri)
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        #: the commit reads use on a pinned view (see download_artifacts); None: the ref
        self._commit: str | None = None

    # -- helpers ---------------------------------------------------------------------------
    def _store(self) -> Store:
        return get_store()

    def _repo(self) -> Repo:
        return self._store().repo(self.location.repo)

    def _write(self, op: str, rel: str, dest: str, local: str | None) -> None:
        store = self._store()
        loc = self.location
        repo = store.repo(loc.repo)
        repo.branch_head(loc.ref)  # a tag or commit id is read-only: fail before any work
        write = Write(op, rel, dest, local, WriteContext.of(dest, self.tracking_uri),
                      self.tracking_uri)
        if op != "delete_artifacts" and batching.stage(store, loc.repo, loc.ref, write):
            return
        if batching.has_pending(store, loc.repo, loc.ref):
            batching.flush(store, loc.repo, loc.ref)
        result = commit_writes(store, loc.repo, loc.ref, [write])
        record_writes(store, loc.repo, result.commit, [write])

    def _read_commit(self) -> str:
        """The commit reads use: pinned on a download view, else the ref's current head."""
        if self._commit is not None:
            return self._commit
        store = self._store()
        if batching.has_pending(store, self.location.repo, self.location.ref):
            batching.flush(store, self.location.repo, self.location.ref)
        return self._repo().resolve(self.location.ref)

    def _pinned_view(self) -> BlackLakeArtifactRepository:
        """A shallow copy reading one commit (shares MLflow's thread pool)."""
        view = copy.copy(self)
        view._commit = self._read_commit()
        return view

    # -- writing ---------------------------------------------------------------------------
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Commit one local file at ``<prefix>/<artifact_path>/<file name>``."""
        local = os.fspath(local_file)
        if not os.path.isfile(local):
            raise PathNotFound(f"no such file: {local}")
        name = os.path.basename(local)
        dest = self.location.path(artifact_path, name)
        rel = "/".join(p for p in (artifact_path or "", name) if p)
        self._write("log_artifact", rel, dest, local)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Commit every file below ``local_dir`` under ``<prefix>/<artifact_path>``: one
        commit for the whole directory."""
        local = os.fspath(local_dir)
        if not os.path.isdir(local):
            raise PathNotFound(f"no such directory: {local}")
        dest = self.location.path(artifact_path)
        self._write("log_artifacts", artifact_path or "", dest, local)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Commit the removal of a file or directory (a no-op if it is not there)."""
        dest = self.location.path(artifact_path)
        if not dest:
            raise InvalidPath("refusing to delete the whole repository: the artifact URI "
                              f"{self.artifact_uri} has no path below the branch")
        try:
            self._repo().entry(self.location.ref, dest)
        except PathNotFound:
            return
        self._write("delete_artifacts", artifact_path or "", dest, None)

    # -- reading ---------------------------------------------------------------------------
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Entries directly below ``path`` (``FileInfo.path`` relative to the artifact URI);
        empty for a file or a path that does not exist."""
        full = self.location.path(path)
        repo = self._repo()
        commit = self._read_commit()
        try:
            entry = repo.entry(commit, full)
        except PathNotFound:
            return []
        if not entry.is_dir:
            return []
        infos = []
        for child in self._store().odb.tree(entry.id):
            child_path = f"{full}/{child.name}" if full else child.name
            infos.append(FileInfo(self.location.relative(child_path), child.is_dir,
                                  None if child.is_dir else child.size))
        return infos

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Write the file at ``remote_file_path`` (relative) to ``local_path``."""
        full = self.location.path(remote_file_path)
        repo = self._repo()
        commit = self._read_commit()
        if repo.entry(commit, full).is_dir:
            raise PathNotFound(f"{remote_file_path} is a directory, not a file")
        repo.get(commit, full, local_path)

    def download_artifacts(self, artifact_path: str, dst_path: str | None = None) -> str:
        """Download a file or directory, all of it from one commit; the read is noticed as
        an input of the active run unless it is that run's own artifact."""
        view = self._pinned_view()
        self._notice_read(view, artifact_path)
        return ArtifactRepository.download_artifacts(view, artifact_path, dst_path)

    def _notice_read(self, view: BlackLakeArtifactRepository, artifact_path: str | None) -> None:
        if tracking.in_tracking_server():
            return
        full = self.location.path(artifact_path)
        store = self._store()
        assert view._commit is not None
        uri = self.location.uri(full, view._commit)
        try:
            inp = inputs.pin(store, uri)
        except PathNotFound:
            return  # MLflow reports the missing path itself
        active = tracking.active_run_id()
        if active is not None:
            ids = ids_in(full)
            owner = ids.run_id
            if ids.model_id:
                owner = tracking.logged_model_run(ids.model_id, self.tracking_uri)[0]
            if owner == active:
                return  # a run reading back its own artifact is not an input
        inputs.notice(inp, active)
        if active is not None:
            inputs.sync_run(active, store=store, tracking_uri=self.tracking_uri)
