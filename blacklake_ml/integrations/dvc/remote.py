"""BlackLake as a DVC HTTP remote: the ``/dvc/<repo>/files/md5/…`` routes of the gateway.

Configure a DVC project with::

    dvc remote add -d bl http://127.0.0.1:8700/dvc/<repo>
    dvc remote modify --local bl auth basic
    dvc remote modify --local bl user blacklake        # any name; DVC insists on one
    dvc remote modify --local bl password <token>

and ``dvc push`` / ``pull`` / ``fetch`` / ``status -c`` talk to :class:`DvcRemote`. The
protocol is the one dvc-http (fsspec's HTTP filesystem) speaks; objects live at DVC 3 paths
``files/md5/<2 hex>/<30 hex>`` (``.dir`` suffix for directory listings):

* existence: ``GET`` (any status below 400 means present; DVC does not read the body) and
  ``HEAD`` — both answered from the staged uploads or the remote branch;
* upload: ``POST`` (or ``PUT`` with ``dvc remote modify bl method PUT``), chunked with no
  ``Content-Length``. The body's MD5 must equal the name (``.dir`` bodies must be JSON
  listings), else 400 and nothing is kept;
* download: ``GET``, with ``Range: bytes=a-b`` answered ``206`` + ``Content-Range``.

Storage design. Objects are files of an ordinary BlackLake repository ``<repo>`` on the branch
``dvc-remote`` (created at the repository's root commit, so it holds DVC objects only), at
their DVC paths, so they are chunked and deduplicated against everything else in the store
and browsable with every BlackLake tool. Uploads are not committed one by one: each is
verified and made durable in a staging area under ``$BLACKLAKE_HOME/dvc-remote/`` (fsync +
rename before the 2xx, see ``staging.py``), where reads see it at once, and a committer thread
turns staged objects into one commit per batch (``committer.py``: 1,000 objects, 512 MiB, or
one quiet second). A killed server loses nothing acknowledged: the next one commits the
leftovers on start. Each object's MD5 — its name — is cached on its file object in the
catalog (``repo.digests(..., md5=True)`` is then free).

Thread safety. The gateway answers requests on a fixed pool of worker threads and DVC
transfers with several jobs. Request threads only *read* the store (ref lookup, tree walk,
chunk reads: the catalog hands each thread its own connection, the object caches are
locked) and *stage* uploads
(separate temp files; the staged index is locked); every store *write* happens on the single
committer thread (``flush`` takes the same lock). Verified by
``tests/integrations/dvc/test_dvc_remote.py::test_parallel_push_pull_many_files``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from blacklake_ml.errors import PathNotFound, RepoNotFound
from blacklake_ml.gateway import Gateway, HttpError, Limits, Request, Route
from blacklake_ml.gateway.files import stored_pieces
from blacklake_ml.integrations.dvc.committer import (
    BATCH_BYTES,
    BATCH_FILES,
    MAX_WAIT_SECONDS,
    QUIET_SECONDS,
    BatchCommitter,
)
from blacklake_ml.integrations.dvc.staging import OID_PATH, StagingArea, oid_of

if TYPE_CHECKING:
    from typing_extensions import Self

    from blacklake_ml.service.commit import CommitResult
    from blacklake_ml.service.store import Store

#: the branch of ``<repo>`` that holds the remote's objects
REMOTE_BRANCH = "dvc-remote"
#: URL prefix of the remote's routes
PREFIX = "/dvc"
#: seconds a branch head read from the catalog answers existence checks (see _head)
HEAD_TTL = 1.0
_READ = 1024 * 1024
_REPO = r"(?P<repo>[^/]+)"
_OID = r"(?P<oid>files/md5/[0-9a-f]{2}/[0-9a-f]{30}(?:\.dir)?)"


class DvcRemote:
    """The DVC HTTP remote over one store: :meth:`routes` for a :class:`Gateway`, or
    :meth:`serve` for a ready gateway. Close it (or use ``with``) to commit what is staged.
    """

    def __init__(self, store: Store, *, branch: str = REMOTE_BRANCH,
                 staging_dir: str | os.PathLike[str] | None = None,
                 create_repos: bool = True, batch_files: int = BATCH_FILES,
                 batch_bytes: int = BATCH_BYTES, quiet: float = QUIET_SECONDS,
                 max_wait: float = MAX_WAIT_SECONDS) -> None:
        from blacklake_ml.core.names import validate_ref_name

        self.store = store
        self.branch = validate_ref_name(branch, "branch")
        root = Path(staging_dir) if staging_dir is not None else \
            Path(store.config.home) / "dvc-remote"
        self.staging = StagingArea(root, fsync=store.config.fsync)
        try:
            self.committer = BatchCommitter(store, self.staging, branch=self.branch,
                                            create_repos=create_repos,
                                            batch_files=batch_files,
                                            batch_bytes=batch_bytes, quiet=quiet,
                                            max_wait=max_wait)
        except BaseException:
            self.staging.close()
            raise
        self._heads: dict[str, tuple[float, str | None]] = {}
        self._heads_lock = threading.Lock()
        self._closed = False

    # -- the HTTP surface -----------------------------------------------------------------
    def routes(self, prefix: str = PREFIX) -> list[Route]:
        """The gateway routes: ``GET``/``HEAD``, ``POST`` and ``PUT`` on objects, and a
        catch-all that answers 404 for any other path below ``prefix``."""
        obj = f"{prefix}/{_REPO}/{_OID}"
        return [
            Route.of("GET", obj, self._get),
            Route.of("POST", obj, self._upload),
            Route.of("PUT", obj, self._upload),
            Route.of("GET", f"{prefix}/{_REPO}(?P<rest>/.*)?", self._not_an_object),
            Route.of("POST", f"{prefix}/{_REPO}(?P<rest>/.*)?", self._bad_upload),
            Route.of("PUT", f"{prefix}/{_REPO}(?P<rest>/.*)?", self._bad_upload),
        ]

    def serve(self, *, token: str, host: str = "127.0.0.1", port: int = 0,
              limits: Limits | None = None) -> Gateway:
        """A gateway serving this remote (not started: call ``start()`` or
        ``serve_forever()``); ``limits``: its worker pool and timeouts (defaults: see
        :class:`~blacklake_ml.gateway.Limits`)."""
        return Gateway(self.routes(), token=token, host=host, port=port, limits=limits)

    def _upload(self, req: Request) -> None:
        repo, oid_path = req.params["repo"], req.params["oid"]
        if not self.committer.create_repos:
            self.store.repo(repo)  # 404 before reading the body
        self.staging.stage(repo, oid_path, req.iter_body())
        self.committer.notify(repo)
        req.send(200, b"")

    @staticmethod
    def _not_an_object(req: Request) -> None:
        raise HttpError(404, f"not a DVC object path: {req.path}")

    @staticmethod
    def _bad_upload(req: Request) -> None:
        raise HttpError(400, f"not a DVC object path (files/md5/<2 hex>/<30 hex>[.dir]): "
                             f"{req.path}")

    def _get(self, req: Request) -> None:
        repo, oid_path = req.params["repo"], req.params["oid"]
        etag = f'"{oid_of(oid_path)}"'
        staged = self.staging.lookup(repo, oid_path)
        if staged is not None:
            try:
                fd = os.open(staged.local, os.O_RDONLY)
            except FileNotFoundError:
                pass  # committed and dropped just now: the branch has it
            else:
                try:
                    size = os.fstat(fd).st_size
                    req.send_ranged(size, lambda a, b: _read_fd(fd, a, b),
                                    headers={"ETag": etag})
                finally:
                    os.close(fd)
                return
        found = self.find(repo, oid_path)
        if found is None:
            raise HttpError(404, f"no object {oid_path} in the DVC remote of {repo!r}")
        manifest = self.store.odb.file(found)
        req.send_ranged(manifest.size, stored_pieces(self.store.odb, manifest, oid_path),
                        headers={"ETag": etag})

    # -- the Python surface ---------------------------------------------------------------
    def find(self, repo: str, oid_path: str) -> str | None:
        """The file object id of a committed object, or None (staged objects excluded)."""
        from blacklake_ml.service.trees import lookup

        if OID_PATH.fullmatch(oid_path) is None:
            return None
        head = self._head(repo)
        if head is None:
            return None
        odb = self.store.odb
        entry = lookup(odb, odb.commit(head).tree, oid_path)
        return entry.id if entry is not None and not entry.is_dir else None

    def _head(self, repo: str) -> str | None:
        """The remote branch's head commit in ``repo`` (None: no repo or no branch).

        Read from the catalog at most every :data:`HEAD_TTL` seconds per repository: a push
        or pull of thousands of objects asks once per object, and two catalog queries per
        request were most of a GET's cost. Never stale in the harmful direction: the
        committer records each head it makes *before* it drops the staged copies, and a
        cached head that differs from it is re-read, so an object is always either staged
        or in the head used. Another process moving the branch is seen within the TTL.
        """
        now = time.monotonic()
        made = self.committer.heads.get(repo)
        with self._heads_lock:
            hit = self._heads.get(repo)
            if hit is not None and now - hit[0] < HEAD_TTL and (made is None or
                                                                 hit[1] == made):
                return hit[1]
        try:
            r = self.store.repo(repo)
        except RepoNotFound:
            head = None
        else:
            ref = self.store.catalog.get_ref(r.id, self.branch)
            head = ref.commit if ref is not None else None
        with self._heads_lock:
            self._heads[repo] = (now, head)
        return head

    def exists(self, repo: str, oid_path: str) -> bool:
        """Whether the remote holds the object (staged or committed)."""
        return self.staging.lookup(repo, oid_path) is not None or \
            self.find(repo, oid_path) is not None

    def flush(self, repo: str | None = None) -> list[CommitResult]:
        """Commit the staged uploads (of ``repo``) now instead of at the next batch."""
        return self.committer.flush(repo)

    def close(self) -> None:
        """Commit what is staged and release the staging area."""
        if self._closed:
            return
        self._closed = True
        try:
            self.committer.close()
        finally:
            self.staging.close()

    def abandon(self) -> None:
        """Stop without committing (staged uploads wait for the next server: what a kill
        leaves behind; used by tests and on a failing shutdown)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.committer.close(flush=False)
        finally:
            self.staging.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_fd(fd: int, start: int, end: int) -> Iterator[bytes]:
    pos = start
    while pos < end:
        piece = os.pread(fd, min(_READ, end - pos), pos)
        if not piece:
            raise PathNotFound("a staged DVC object shrank while being read")
        pos += len(piece)
        yield piece

