"""The DVC remote's durable staging area: acknowledged uploads wait here for their commit.

A DVC push is thousands of small uploads; committing each one would make thousands of
commits. Instead an upload is verified (its MD5 must equal its name), written to a temp file,
``fsync``-ed and renamed to ``<root>/<repo>/files/md5/<2>/<30>[.dir]`` *before* the 2xx goes
out, so an acknowledged upload survives a kill. A committer (``committer.py``) later turns a
batch of staged objects into one commit and only then removes them; whoever opens the area
next (a restarted server) finds leftovers and commits them (committing twice is harmless:
the same path with the same content changes nothing).

Only one process may stage into an area at a time (an exclusive ``flock`` on ``<root>/LOCK``
held for the life of the object): two servers committing the same paths to the same branch
would conflict. Everything here is thread-safe: the gateway calls :meth:`stage` and
:meth:`lookup` from its request threads while the committer drains.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from blacklake_ml.core.names import validate_repo_name
from blacklake_ml.errors import ConflictError, InvalidInput
from blacklake_ml.storage.local import fsync_dir

#: a DVC 3 object path below the remote root: ``files/md5/<2 hex>/<30 hex>[.dir]``
OID_PATH = re.compile(r"files/md5/(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{30})(?P<dir>\.dir)?")
_COPY = 1024 * 1024


def oid_of(oid_path: str) -> str:
    """The MD5 an object path names (``files/md5/ab/cd…[.dir]`` -> ``abcd…``)."""
    m = OID_PATH.fullmatch(oid_path)
    if m is None:
        raise InvalidInput(f"not a DVC object path (files/md5/<2 hex>/<30 hex>[.dir]): "
                           f"{oid_path!r}")
    return m.group("a") + m.group("b")


@dataclass(frozen=True)
class Staged:
    """One acknowledged upload waiting for its commit."""

    repo: str
    oid_path: str
    local: Path
    size: int


class StagingArea:
    """Verified, durable uploads per repository (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._lock_fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise ConflictError(f"another process is serving the DVC remote of this store "
                                f"(staging area {self.root} is locked)") from None
        self._mutex = threading.Lock()
        self._staged: dict[str, dict[str, Staged]] = {}
        self._bytes: dict[str, int] = {}
        self._dirs: set[Path] = set()  # directories known to exist (saves a stat per upload)
        self._recover()

    # -- recovery -------------------------------------------------------------------------
    def _recover(self) -> None:
        """Forget half-written temp files (never acknowledged) and re-index staged ones."""
        for repo_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            tmp = repo_dir / "tmp"
            if tmp.is_dir():
                for leftover in tmp.iterdir():
                    leftover.unlink(missing_ok=True)
            objects = repo_dir / "files" / "md5"
            if not objects.is_dir():
                continue
            for prefix in sorted(objects.iterdir()):
                for obj in sorted(prefix.iterdir()):
                    oid_path = f"files/md5/{prefix.name}/{obj.name}"
                    if OID_PATH.fullmatch(oid_path) is None:
                        continue  # not ours; leave it for a person to look at
                    self._add(Staged(repo_dir.name, oid_path, obj, obj.stat().st_size))

    def _add(self, item: Staged) -> None:
        """Index ``item`` (caller holds the mutex, or runs before any thread exists)."""
        objs = self._staged.setdefault(item.repo, {})
        old = objs.get(item.oid_path)
        objs[item.oid_path] = item
        self._bytes[item.repo] = self._bytes.get(item.repo, 0) + item.size - \
            (old.size if old is not None else 0)

    # -- writing --------------------------------------------------------------------------
    def stage(self, repo: str, oid_path: str, body: Iterable[bytes]) -> Staged:
        """Write ``body`` as ``oid_path`` of ``repo`` durably; :class:`InvalidInput` (and
        nothing kept) if its MD5 is not the one the path names or a ``.dir`` listing is not
        a JSON list."""
        validate_repo_name(repo)
        want = oid_of(oid_path)
        repo_dir = self.root / repo
        tmp_dir = repo_dir / "tmp"
        self._makedirs(tmp_dir)
        tmp = tmp_dir / uuid.uuid4().hex
        h = hashlib.md5(usedforsecurity=False)
        size = 0
        head = bytearray()  # a .dir listing is small: keep it to check it is JSON
        try:
            with open(tmp, "wb") as f:
                for piece in body:
                    h.update(piece)
                    f.write(piece)
                    size += len(piece)
                    if oid_path.endswith(".dir") and len(head) < 64 * 1024 * 1024:
                        head += piece
                f.flush()
                if self._fsync:
                    os.fsync(f.fileno())
            got = h.hexdigest()
            if got != want:
                raise InvalidInput(f"MD5 mismatch for {oid_path}: the body hashes to {got}; "
                                   "nothing was stored")
            if oid_path.endswith(".dir"):
                _check_dir_listing(bytes(head), oid_path)
            final = repo_dir / oid_path
            self._makedirs(final.parent)
            os.replace(tmp, final)
            if self._fsync:
                fsync_dir(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        staged = Staged(repo, oid_path, final, size)
        with self._mutex:
            self._add(staged)
        return staged

    def _makedirs(self, path: Path) -> None:
        """Create ``path`` and missing parents, each new entry made durable."""
        if path in self._dirs:
            return
        if not path.is_dir():
            self._makedirs(path.parent)
            with contextlib.suppress(FileExistsError):
                path.mkdir()
                if self._fsync:
                    fsync_dir(path.parent)
        self._dirs.add(path)

    def remove(self, items: Iterable[Staged]) -> None:
        """Drop staged objects that are committed now (an object staged again meanwhile
        has the same content, so dropping it loses nothing)."""
        for item in items:
            with self._mutex:
                gone = self._staged.get(item.repo, {}).pop(item.oid_path, None)
                if gone is not None:
                    self._bytes[item.repo] -= gone.size
            item.local.unlink(missing_ok=True)

    # -- reading --------------------------------------------------------------------------
    def lookup(self, repo: str, oid_path: str) -> Staged | None:
        """The staged object, if it is waiting for its commit (its file may vanish at any
        moment once committed: open it and fall back to the store on FileNotFoundError)."""
        with self._mutex:
            return self._staged.get(repo, {}).get(oid_path)

    def pending(self, repo: str | None = None) -> list[Staged]:
        """Everything staged (for ``repo``), in path order."""
        with self._mutex:
            repos = [repo] if repo is not None else sorted(self._staged)
            return [s for r in repos for _, s in sorted(self._staged.get(r, {}).items())]

    def totals(self, repo: str) -> tuple[int, int]:
        """``(objects, bytes)`` staged for ``repo`` (cheap: kept up to date)."""
        with self._mutex:
            return len(self._staged.get(repo, {})), self._bytes.get(repo, 0)

    def repos(self) -> list[str]:
        """Repositories with staged objects."""
        with self._mutex:
            return sorted(r for r, objs in self._staged.items() if objs)

    def close(self) -> None:
        """Release the area's lock (staged objects stay for the next opener)."""
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1


def _check_dir_listing(body: bytes, oid_path: str) -> None:
    import orjson

    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, list) or not all(isinstance(e, dict) and "relpath" in e
                                            for e in doc):
        raise InvalidInput(f"{oid_path} is not a DVC directory listing (a JSON list of "
                           "{relpath, md5} entries); nothing was stored")
