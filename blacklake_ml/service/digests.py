"""Whole-file interop digests (SHA-256, MD5), computed on first request and cached.

The chunk ids verify content; these digests exist for other tools: Git LFS and Hugging Face
name objects by SHA-256, DVC and W&B by MD5. The write path computes only what is cheap (the
SHA-256 of small files, kept in their manifests), so a big commit never pays a second full
hash pass. The first request for a missing digest streams the file once, computing every
missing digest in that pass, and stores them in the catalog's ``blobs`` row.
"""

from __future__ import annotations

import hashlib
from typing import Any

from blacklake_ml.catalog import Catalog
from blacklake_ml.service.objectdb import ObjectDB


def file_digests(odb: ObjectDB, catalog: Catalog, file_id: str, *, md5: bool = False
                 ) -> dict[str, Any]:
    """``{"id", "size", "sha256"}`` (+ ``"md5"`` when asked) of a stored file object."""
    manifest = odb.file(file_id)
    sha256 = manifest.sha256
    md5_value: str | None = None
    if sha256 is None or md5:
        row = catalog.get_blob(file_id)
        if row is not None:
            sha256 = sha256 or row.sha256
            md5_value = row.md5
    need_sha = sha256 is None
    need_md5 = md5 and md5_value is None
    if need_sha or need_md5:
        hashers = {}
        if need_sha:
            hashers["sha256"] = hashlib.sha256()
        if need_md5:
            hashers["md5"] = hashlib.md5(usedforsecurity=False)
        for piece in odb.iter_file(manifest):
            for h in hashers.values():
                h.update(piece)
        if need_sha:
            sha256 = hashers["sha256"].hexdigest()
            catalog.set_sha256(file_id, sha256)
        if need_md5:
            md5_value = hashers["md5"].hexdigest()
            catalog.set_md5(file_id, md5_value)
    out: dict[str, Any] = {"id": file_id, "size": manifest.size, "sha256": sha256}
    if md5:
        out["md5"] = md5_value
    return out
