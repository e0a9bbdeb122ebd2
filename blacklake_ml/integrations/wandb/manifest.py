"""W&B artifact manifests and digests, without W&B.

A W&B artifact is a manifest: ``{"version": 1, "storagePolicy": …, "contents": {path:
{"digest", "size", "ref"?, "extra"?}}}`` (``Artifact.manifest.to_manifest_json()``; the server
keeps it as ``wandb_manifest.json``). A file's digest is base64 of its MD5 (XXH128 for
artifacts created with ``digest_algorithm="XXH128"``, tagged ``extra.alg``); an HTTP reference's
digest is its ``ETag`` without quotes. The artifact digest is
``md5("wandb-artifact-manifest-v1\\n" + "".join(f"{path}:{digest}\\n" for sorted paths))``
(``ArtifactManifestV1.digest``), so it can be predicted from stored MD5s alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from blacklake_ml.core.names import normalize_path
from blacklake_ml.errors import InvalidInput, InvalidPath, MissingDependency, PathNotFound

#: what W&B hashes before the entries (``ArtifactManifestV1._DIGEST_HEADER``)
DIGEST_HEADER = b"wandb-artifact-manifest-v1\n"
#: the file name W&B gives a stored manifest; the default next to imported files
MANIFEST_NAME = "wandb_manifest.json"
MD5, XXH128 = "MD5", "XXH128"
_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def md5_b64(md5_hex: str) -> str:
    """W&B's form of an MD5: base64 of the 16 raw bytes."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii")


def manifest_digest(digests: Mapping[str, str] | Iterable[tuple[str, str]], *,
                    algorithm: str = MD5) -> str:
    """The artifact digest W&B computes for entries ``{path: entry digest}`` (hex)."""
    items = digests.items() if isinstance(digests, Mapping) else digests
    h: Any = _hasher(algorithm)
    h.update(DIGEST_HEADER)
    for path, digest in sorted(items):
        h.update(f"{path}:{digest}\n".encode())
    return str(h.hexdigest())


def _hasher(algorithm: str) -> Any:
    if algorithm == MD5:
        return hashlib.md5(usedforsecurity=False)
    if algorithm == XXH128:
        try:
            import xxhash
        except ImportError:  # pragma: no cover - a dependency of wandb
            raise MissingDependency("XXH128 digests of W&B artifacts", "wandb") from None
        return xxhash.xxh128()
    raise InvalidInput(f"unknown W&B digest algorithm {algorithm!r}")


@dataclass(frozen=True)
class ManifestEntry:
    """One file of an artifact manifest."""

    path: str
    digest: str
    size: int | None = None
    #: the URL of a reference entry (None for files uploaded to W&B)
    ref: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def algorithm(self) -> str:
        """The hash behind ``digest`` for a file entry (``MD5`` unless tagged ``XXH128``)."""
        return XXH128 if self.extra.get("alg") == XXH128 else MD5

    def check(self) -> tuple[str, str] | None:
        """How to verify a local copy: ``(algorithm, "b64"|"hex")``, or None when the
        digest is an opaque ETag of a reference (nothing to recompute it from)."""
        if self.ref is None:
            return self.algorithm, "b64"
        try:
            raw = base64.b64decode(self.digest, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 16:  # base64 MD5: what this store's gateway and GCS send
            return MD5, "b64"
        if _HEX_MD5.fullmatch(self.digest):  # S3 and most HTTP servers: hex MD5
            return MD5, "hex"
        return None


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated W&B artifact manifest (version 1)."""

    entries: Mapping[str, ManifestEntry]
    storage_policy: str = "wandb-storage-policy-v1"

    @property
    def algorithm(self) -> str:
        """The artifact-level digest algorithm: XXH128 when every file entry says so."""
        files = [e for e in self.entries.values() if e.ref is None]
        if files and all(e.algorithm == XXH128 for e in files):
            return XXH128
        return MD5

    def digest(self, algorithm: str | None = None) -> str:
        """The artifact digest (see :func:`manifest_digest`)."""
        return manifest_digest({p: e.digest for p, e in self.entries.items()},
                               algorithm=algorithm or self.algorithm)

    @property
    def size(self) -> int:
        """Total bytes of the entries that state a size."""
        return sum(e.size or 0 for e in self.entries.values())

    @classmethod
    def from_json(cls, doc: Any) -> Manifest:
        """Validate a manifest document (``Artifact.manifest.to_manifest_json()``)."""
        if not isinstance(doc, Mapping):
            raise InvalidInput("a W&B manifest must be a JSON object")
        if doc.get("version") != 1:
            raise InvalidInput(f"unsupported W&B manifest version {doc.get('version')!r} "
                               "(this reads version 1)")
        contents = doc.get("contents")
        if not isinstance(contents, Mapping):
            raise InvalidInput("a W&B manifest needs a 'contents' object")
        entries: dict[str, ManifestEntry] = {}
        for raw_path, body in contents.items():
            try:
                path = normalize_path(raw_path, allow_root=False)
            except InvalidPath as exc:
                raise InvalidPath(f"W&B manifest entry {raw_path!r}: {exc}") from None
            if not isinstance(body, Mapping):
                raise InvalidInput(f"W&B manifest entry {path!r} must be an object")
            digest = body.get("digest")
            if not isinstance(digest, str) or not digest or "\n" in digest:
                raise InvalidInput(f"W&B manifest entry {path!r} has no valid digest")
            size = body.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool)
                                     or size < 0):
                raise InvalidInput(f"W&B manifest entry {path!r} has an invalid size {size!r}")
            ref = body.get("ref")
            if ref is not None and not isinstance(ref, str):
                raise InvalidInput(f"W&B manifest entry {path!r} has an invalid ref")
            extra = body.get("extra") or {}
            if not isinstance(extra, Mapping):
                raise InvalidInput(f"W&B manifest entry {path!r} has an invalid 'extra'")
            if path in entries or path != raw_path:
                raise InvalidPath(f"W&B manifest entry {raw_path!r} is not a canonical "
                                  "relative path (or is listed twice)")
            entries[path] = ManifestEntry(path, digest, size, ref, dict(extra))
        policy = doc.get("storagePolicy", "wandb-storage-policy-v1")
        return cls(entries, str(policy))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Manifest:
        """Read and validate a manifest file."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise PathNotFound(f"no W&B manifest at {p} (write "
                               f"artifact.manifest.to_manifest_json() there, or name it "
                               f"with --manifest)") from None
        except IsADirectoryError:
            raise InvalidInput(f"{p} is a directory, not a W&B manifest") from None
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"{p} is not JSON: {exc}") from None
        return cls.from_json(doc)

    def to_json(self) -> dict[str, Any]:
        """The manifest document again (W&B's shape)."""
        contents: dict[str, Any] = {}
        for path, e in self.entries.items():
            body: dict[str, Any] = {"digest": e.digest}
            if e.ref is not None:
                body["ref"] = e.ref
            if e.size is not None:
                body["size"] = e.size
            if e.extra:
                body["extra"] = dict(e.extra)
            contents[path] = body
        return {"version": 1, "storagePolicy": self.storage_policy,
                "storagePolicyConfig": {"storageLayout": "V2"}, "contents": contents}


def hash_file_to(src: str | os.PathLike[str], dst: str | os.PathLike[str] | None,
                 algorithms: Iterable[str], *, piece: int = 4 * 1024 * 1024
                 ) -> tuple[int, dict[str, bytes]]:
    """Read ``src`` once, hashing it with each algorithm and (if ``dst``) copying it there;
    ``(size, {algorithm: raw digest})``. The copy is what gets committed, so the bytes
    verified are the bytes stored even if ``src`` changes meanwhile."""
    hashers = {a: _hasher(a) for a in set(algorithms)}
    size = 0
    out = open(dst, "xb") if dst is not None else None  # noqa: SIM115 - closed below
    try:
        with open(src, "rb") as f:
            while True:
                block = f.read(piece)
                if not block:
                    break
                size += len(block)
                for h in hashers.values():
                    h.update(block)
                if out is not None:
                    out.write(block)
    finally:
        if out is not None:
            out.close()
    return size, {a: h.digest() for a, h in hashers.items()}


def encode(raw: bytes, form: str) -> str:
    """A raw digest in W&B's ``b64`` form or as ``hex``."""
    return base64.b64encode(raw).decode("ascii") if form == "b64" else raw.hex()
