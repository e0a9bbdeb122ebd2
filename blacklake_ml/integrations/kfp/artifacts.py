"""What BlackLake writes into KFP artifact metadata, and what it keeps of KFP metadata.

Artifact metadata (KFP ``artifact.metadata``, shown in the KFP UI and passed to downstream
tasks) names the stored thing exactly: the URI as given, the URI pinned to the resolved commit,
the commit, the content id and a digest. All keys start with ``blacklake_`` so they never clash
with what user code puts there (metrics, hyper-parameters).

Commit metadata (BlackLake) must be a flat ``str -> str`` mapping within the limits of
:func:`blacklake_ml.core.names.validate_meta`; KFP metadata is free JSON, so it is flattened
here (nested values become JSON text) before it reaches the store.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blacklake_ml.core.names import MAX_META_VALUE_CHARS
from blacklake_ml.core.uri import BlacklakeURI

#: prefix of every metadata key BlackLake owns in a KFP artifact
PREFIX = "blacklake_"


@dataclass(frozen=True)
class StoredRef:
    """A resolved stored file or directory: what artifact metadata describes."""

    source_uri: str   # as the user gave it (may name a branch or tag)
    repo: str
    ref: str
    commit: str
    path: str
    kind: str         # "file" | "directory"
    object_id: str    # content id of the file or tree (lineage follows content)
    size: int
    nfiles: int
    sha256: str | None = None  # whole-file digest (files only)

    @property
    def pinned_uri(self) -> str:
        """The URI with the ref replaced by the full commit id (reproducible)."""
        return str(BlacklakeURI(self.repo, self.commit, self.path))

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` for a file; a directory's digest is its tree object id."""
        return f"sha256:{self.sha256}" if self.sha256 else f"blacklake-tree:{self.object_id}"

    def metadata(self) -> dict[str, Any]:
        """The artifact metadata (KFP shows it and hands it to downstream tasks)."""
        return {
            f"{PREFIX}uri": self.pinned_uri,
            f"{PREFIX}source_uri": self.source_uri,
            f"{PREFIX}repo": self.repo,
            f"{PREFIX}ref": self.ref,
            f"{PREFIX}commit": self.commit,
            f"{PREFIX}path": self.path,
            f"{PREFIX}kind": self.kind,
            f"{PREFIX}object_id": self.object_id,
            f"{PREFIX}digest": self.digest,
            f"{PREFIX}size": self.size,
            f"{PREFIX}nfiles": self.nfiles,
        }


def _scalar(value: Any) -> str | None:
    """A metadata value as text; None for values not worth keeping (None, NaN)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # KFP hands ints back as floats (protobuf Value): 3.0 -> "3" reads as the int it was
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def commit_metadata(artifact_meta: Mapping[str, Any] | None) -> dict[str, str]:
    """User metadata of a KFP artifact, flattened for a commit.

    Keys BlackLake owns (``blacklake_*``) are dropped: they describe where an *input* came
    from, not the new commit. Values too long for commit metadata are dropped rather than
    truncated (a truncated JSON document would be wrong, not shorter).
    """
    out: dict[str, str] = {}
    for key, value in (artifact_meta or {}).items():
        if not isinstance(key, str) or key.startswith(PREFIX) or "=" in key or not key:
            continue
        text = _scalar(value)
        if text is not None and len(text) <= MAX_META_VALUE_CHARS:
            out[key] = text
    return out
