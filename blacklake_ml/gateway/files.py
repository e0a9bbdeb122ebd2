"""Stored files over plain HTTP: ``GET``/``HEAD /files/<repo>/<ref>/<path>``.

What clients that only speak HTTP need to read a stored file (W&B HTTP references, ``curl``):

* ``ETag`` is ``"<base64 MD5>"`` — the digest W&B gives a file it hashes itself. W&B's HTTP
  reference handler takes the ETag with its quotes stripped as the entry digest and re-checks
  it on download, so a referenced file gets the digest an uploaded copy would get, and an
  artifact's digest is the same whichever way it was built. MD5 is computed once per stored
  content on the first request (``Repo.digests(md5=True)``) and cached in the catalog.
* ``Content-Length``, ``Accept-Ranges: bytes``; one ``Range`` answered with ``206`` (an
  unsatisfiable or malformed one ``416`` with ``Content-Range: bytes */size``; several
  ranges or another unit: the whole file — :mod:`blacklake_ml.gateway.ranges`);
  ``If-None-Match`` (``304``) and ``If-Range``.
* The body is streamed: a whole file through the object DB's span reader, a range through a
  seekable reader fetching one chunk at a time; every chunk is hash-verified on the way.
* Authentication: the gateway token in an ``Authorization`` header, or a signed URL
  (``?sig=``, :meth:`~blacklake_ml.gateway.server.Gateway.signed_url`) — W&B's downloader sends
  no header, so references carry signed URLs: a read capability for one path at one commit.

``<ref>`` may be a branch or tag too, but URLs handed out (:func:`file_url_path`) always pin a
full commit id, so their content and ETag never change (``Cache-Control: immutable``).

Concurrency: one :class:`~blacklake_ml.Store` serves every request thread. Each request opens
its own reader; the object DB's caches, the local storage's descriptor cache and the SQL
catalog's connection pool are thread-safe (tests/integrations/wandb/test_wandb_gateway_files.py
hammers parallel range reads and compares bytes), so nothing here is serialised except the
first MD5 of one content, computed once rather than by every racing request.
"""

from __future__ import annotations

import base64
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from blacklake_ml.core.names import normalize_path
from blacklake_ml.errors import PathNotFound
from blacklake_ml.gateway.server import Request, Route, sign_path
from blacklake_ml.service.read import BlobReader
from blacklake_ml.service.trees import lookup

if TYPE_CHECKING:
    from blacklake_ml.core.objects import FileManifest
    from blacklake_ml.service.objectdb import ObjectDB
    from blacklake_ml.service.store import Store

PREFIX = "/files"
#: bytes per write of a range body
_PIECE = 1024 * 1024
_FULL_COMMIT = re.compile(r"[0-9a-f]{64}")


def file_url_path(repo: str, commit: str, path: str) -> str:
    """The (decoded) URL path of a stored file: ``/files/<repo>/<commit>/<path>``."""
    return f"{PREFIX}/{repo}/{commit}/{normalize_path(path, allow_root=False)}"


def md5_b64(md5_hex: str) -> str:
    """W&B's form of an MD5 digest: base64 of the 16 bytes (``hex`` is what DVC and the
    catalog keep)."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


def etag_for(md5_hex: str) -> str:
    """The ``ETag`` header value for content with this MD5 (a quoted, strong tag)."""
    return f'"{md5_b64(md5_hex)}"'


class RemoteFiles:
    """Signed URLs for the files routes of a gateway running elsewhere (``blacklake serve``
    in another process): the same signatures :meth:`Gateway.signed_url` makes, from the
    gateway's URL and token."""

    def __init__(self, url: str, token: str) -> None:
        from blacklake_ml.errors import InvalidInput

        if not re.match(r"https?://[^/?#]+\Z", url.rstrip("/")):
            raise InvalidInput(f"gateway URL must be http(s)://HOST:PORT, not {url!r}")
        if not token:
            raise InvalidInput("a gateway token is needed to sign URLs")
        self.url = url.rstrip("/")
        self.token = token

    def signed_url(self, path: str) -> str:
        """An absolute URL for ``path`` that a ``signed`` route accepts without a header."""
        return f"{self.url}{quote(path)}?sig={sign_path(self.token, path)}"


class _Once:
    """Per-content locks, so concurrent first requests compute one MD5, not one each."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> Any:
        with self._guard:
            lk = self._locks.get(key)
            if lk is None:
                lk = _Lock()
                self._locks[key] = lk
            return lk


class _Lock:
    """A lock that can be weakly referenced (``threading.Lock`` objects cannot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def stored_pieces(odb: ObjectDB, manifest: FileManifest, name: str
                  ) -> Callable[[int, int], Iterator[bytes]]:
    """``pieces(start, end)`` for :meth:`Request.send_ranged` over a stored file: the whole
    file through the object DB's span reader (two threads above 8 MiB), a range through a
    seekable reader fetching one chunk at a time; every chunk is hash-verified."""

    def pieces(start: int, end: int) -> Iterator[bytes]:
        if start == 0 and end == manifest.size:
            yield from odb.iter_file(manifest, threads=2 if manifest.size > 8 * _PIECE else 1)
            return
        reader = BlobReader(odb, manifest, name)
        try:
            reader.seek(start)
            left = end - start
            buf = bytearray(min(_PIECE, left))
            while left > 0:
                view = memoryview(buf)[:min(_PIECE, left)]
                n = reader.readinto(view)
                if n <= 0:
                    raise OSError("stored file ended early")  # manifest and chunks disagree
                left -= n
                yield bytes(view[:n])
        finally:
            reader.close()

    return pieces


def _matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` list names ``etag`` (weak comparison) or is ``*``."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


class FileRoutes:
    """The handlers of the files routes over one store (see :func:`files_routes`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._once = _Once()

    def routes(self) -> list[Route]:
        """``GET`` (and so ``HEAD``) ``/files/<repo>/<ref>/<path>``, signed URLs accepted."""
        pattern = rf"{PREFIX}/(?P<repo>[^/]+)/(?P<ref>[^/]+)/(?P<path>.+)"
        return [Route.of("GET", pattern, self.get, auth="signed")]

    def _md5(self, repo: Any, commit: str, path: str, object_id: str) -> str:
        with self._once.lock(object_id):
            return str(repo.digests(commit, path, md5=True)["md5"])

    def get(self, req: Request) -> None:
        """Serve one stored file (whole, one range, or only headers)."""
        repo = self.store.repo(req.params["repo"])
        ref = req.params["ref"]
        path = normalize_path(req.params["path"], allow_root=False)
        commit = repo.resolve(ref)
        odb = self.store.odb
        entry = lookup(odb, odb.commit(commit).tree, path)
        if entry is None:
            raise PathNotFound(f"no such file in {repo.name} at {ref}: {path}")
        if entry.is_dir:
            raise PathNotFound(f"{path} is a directory in {repo.name} at {ref}")
        etag = etag_for(self._md5(repo, commit, path, entry.id))
        manifest = odb.file(entry.id)
        size = manifest.size
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "X-Blacklake-Commit": commit,
                   "X-Blacklake-Object": entry.id,
                   "Cache-Control": ("public, max-age=31536000, immutable"
                                     if _FULL_COMMIT.fullmatch(ref) else "no-cache")}
        if _matches(req.headers.get("If-None-Match"), etag):
            req.send(304, headers=headers)
            return
        rng_header = req.headers.get("Range")
        if_range = req.headers.get("If-Range")
        if rng_header and if_range is not None and if_range.strip() != etag:
            rng_header = ""  # the client's partial copy is of other content: send it all
        req.send_ranged(size, stored_pieces(odb, manifest, path), headers=headers,
                        range_header=rng_header)


def files_routes(store: Store) -> list[Route]:
    """The route set serving ``store``'s files: mount it on a
    :class:`~blacklake_ml.gateway.server.Gateway`::

        with Gateway(files_routes(store), token=token) as gw:
            url = gw.signed_url(file_url_path("models", commit, "bert/model.safetensors"))
    """
    return FileRoutes(store).routes()


__all__ = ["PREFIX", "FileRoutes", "RemoteFiles", "etag_for", "file_url_path", "files_routes",
           "md5_b64", "stored_pieces"]
