"""Turns staged DVC uploads into commits, in batches, on one background thread.

A batch of a repository is committed when it holds ``batch_files`` objects or
``batch_bytes`` bytes, when no upload arrived for ``quiet`` seconds (the push is over), or
when its oldest object has waited ``max_wait`` seconds (a push that never pauses still lands
regularly). A push of 10,000 files is therefore about ten commits, not 10,000.

Commits of the remote run only here (or in :meth:`BatchCommitter.flush`, under the same
lock), so two batches never race for the branch. A failed commit (quota, storage trouble)
keeps the batch staged — the uploads were acknowledged — and is retried with back-off; the
error is kept in :attr:`BatchCommitter.last_error`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from blacklake_ml.errors import RefExists, RepoExists, RepoNotFound
from blacklake_ml.integrations.dvc.staging import Staged, StagingArea, oid_of

if TYPE_CHECKING:
    from blacklake_ml.service.commit import CommitResult, Transaction
    from blacklake_ml.service.repo import Repo
    from blacklake_ml.service.store import Store

_log = logging.getLogger(__name__)

#: commit a repository's staged objects once this many are waiting
BATCH_FILES = 1000
#: ... or once they add up to this many bytes
BATCH_BYTES = 512 * 1024 * 1024
#: ... or once no upload came for this many seconds
QUIET_SECONDS = 1.0
#: ... or once the oldest has waited this long
MAX_WAIT_SECONDS = 30.0


class BatchCommitter:
    """Commits what a :class:`StagingArea` holds to ``branch`` of each repository."""

    def __init__(self, store: Store, staging: StagingArea, *, branch: str,
                 create_repos: bool = True, batch_files: int = BATCH_FILES,
                 batch_bytes: int = BATCH_BYTES, quiet: float = QUIET_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.store = store
        self.staging = staging
        self.branch = branch
        self.create_repos = create_repos
        self.batch_files = batch_files
        self.batch_bytes = batch_bytes
        self.quiet = quiet
        self.max_wait = max_wait
        #: the last commit failure (None after a success)
        self.last_error: BaseException | None = None
        self.commits = 0
        #: the head commit this committer made last, per repository (read by the remote's
        #: existence checks to know a cached head is outdated)
        self.heads: dict[str, str] = {}
        self._commit_lock = threading.Lock()
        self._cond = threading.Condition()
        self._last_upload: dict[str, float] = {}
        self._first_pending: dict[str, float] = {}
        self._retry_at: dict[str, float] = {}
        self._stopping = False
        now = time.monotonic()
        for repo in staging.repos():  # leftovers of a previous run: commit them soon
            self._first_pending[repo] = self._last_upload[repo] = now
        self._thread = threading.Thread(target=self._run, name="blacklake-dvc-committer",
                                        daemon=True)
        self._thread.start()

    # -- signals from the request threads -------------------------------------------------
    def notify(self, repo: str) -> None:
        """An object of ``repo`` was just staged."""
        now = time.monotonic()
        with self._cond:
            self._last_upload[repo] = now
            self._first_pending.setdefault(repo, now)
            self._cond.notify()

    # -- committing -----------------------------------------------------------------------
    def flush(self, repo: str | None = None) -> list[CommitResult]:
        """Commit everything staged (for ``repo``) now; the commits made."""
        out = []
        for name in [repo] if repo is not None else self.staging.repos():
            result = self._commit_repo(name)
            if result is not None:
                out.append(result)
        return out

    def _due(self, now: float) -> list[str]:
        due = []
        for repo in self.staging.repos():
            if now < self._retry_at.get(repo, 0.0):
                continue
            count, size = self.staging.totals(repo)
            first = self._first_pending.get(repo, now)
            if (count >= self.batch_files
                    or size >= self.batch_bytes
                    or now - self._last_upload.get(repo, 0.0) >= self.quiet
                    or now - first >= self.max_wait):
                due.append(repo)
        return due

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._cond.wait(timeout=min(self.quiet, 0.5) or 0.05)
                if self._stopping:
                    return
            for repo in self._due(time.monotonic()):
                try:
                    self._commit_repo(repo)
                except Exception as exc:  # noqa: BLE001 - keep serving; the batch stays staged
                    self.last_error = exc
                    self._retry_at[repo] = time.monotonic() + 5.0
                    _log.error("dvc remote: committing %s failed (kept staged, will "
                               "retry): %s", repo, exc)

    def _commit_repo(self, name: str) -> CommitResult | None:
        with self._commit_lock:
            items = self.staging.pending(name)
            if not items:
                return None
            with self._cond:
                self._first_pending.pop(name, None)
            repo = self._target(name)
            total = sum(i.size for i in items)
            message = (f"dvc push: {len(items)} object{'s' if len(items) != 1 else ''}, "
                       f"{total} bytes")
            result = self._commit(repo, items, message,
                                  {"source": "dvc-remote", "dvc.objects": len(items)})
            self._remember_md5(repo, result.commit, items)
            self.heads[name] = result.commit  # before the staged copies go (see remote)
            self.staging.remove(items)
            self.commits += int(result.created)
            self.last_error = None
            self._retry_at.pop(name, None)
            with self._cond:
                if self.staging.pending(name):  # uploads that came during the commit
                    self._first_pending.setdefault(name, time.monotonic())
            return result

    def _commit(self, repo: Repo, items: list[Staged], message: str,
                meta: Mapping[str, object]) -> CommitResult:
        def build() -> Transaction:
            tx = repo.transaction(self.branch, message, meta=meta)
            for item in items:
                tx.put_file(item.local, item.oid_path)
            return tx

        return repo.commit_retrying(build)

    def _remember_md5(self, repo: Repo, commit: str, items: list[Staged]) -> None:
        """Cache each object's MD5 (its name) on its file object: later MD5 questions
        (W&B digests, a DVC import of the same data) cost nothing."""
        from blacklake_ml.service.trees import lookup

        odb = self.store.odb
        tree = odb.commit(commit).tree
        for item in items:
            entry = lookup(odb, tree, item.oid_path)
            if entry is not None:
                self.store.catalog.set_md5(entry.id, oid_of(item.oid_path))

    def _target(self, name: str) -> Repo:
        """The repository, with the remote's branch (created at the repository's root
        commit, so it holds DVC objects only)."""
        try:
            repo = self.store.repo(name)
        except RepoNotFound:
            if not self.create_repos:
                raise
            try:
                repo = self.store.create_repo(name, "DVC remote (blacklake serve-dvc)")
            except RepoExists:
                repo = self.store.repo(name)
        if self.store.catalog.get_ref(repo.id, self.branch) is None:
            try:
                repo.create_branch(self.branch, root_commit(repo))
            except RefExists:
                pass
        return repo

    # -- lifecycle ------------------------------------------------------------------------
    def close(self, *, flush: bool = True) -> None:
        """Stop the thread; commit what is staged unless ``flush`` is False (it then stays
        staged for the next server)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()
        if flush:
            self.flush()


def root_commit(repo: Repo) -> str:
    """The parentless commit at the start of the repository's first branch (its empty
    initial commit for repositories BlackLake created)."""
    branches = repo.branches()
    if not branches:
        raise RepoNotFound(f"repository {repo.name!r} has no branch")
    odb = repo.store.odb
    cid = branches[0].commit
    while True:
        parents = odb.commit(cid).parents
        if not parents:
            return cid
        cid = parents[0]
