"""What an export will contain, and its W&B digest, computed from the store alone.

:func:`plan_export` lists the files a ``blacklake://`` URI (optionally narrowed to some paths
below it) selects, with their artifact entry names (relative to the URI's path) and W&B
digests (base64 MD5; ``Repo.digests(md5=True)`` computes MD5 once per content and caches it
in the catalog). :attr:`ExportPlan.digest` is the artifact digest W&B will compute — the same
for files and for HTTP references served by the gateway, whose ETag is that same MD5.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.names import normalize_path
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput, InvalidName, PathNotFound
from blacklake_ml.integrations.wandb.manifest import manifest_digest, md5_b64

if TYPE_CHECKING:
    from blacklake_ml.service.repo import Repo
    from blacklake_ml.service.store import Store

#: W&B's artifact name rule (``wandb.Artifact`` refuses anything else) and length limit
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def check_name(name: str) -> str:
    """``name`` if W&B accepts it as an artifact name, else :class:`InvalidName`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(f"invalid W&B artifact name {name!r}: 1-128 letters, digits, "
                          "'-', '_' or '.'")
    return name


def check_type(type: str) -> str:
    """``type`` if W&B accepts it as an artifact type, else :class:`InvalidName`."""
    if (not isinstance(type, str) or not type or len(type) > 128 or "/" in type
            or ":" in type or type.startswith("wandb-") or not type.isprintable()):
        raise InvalidName(f"invalid W&B artifact type {type!r}: at most 128 characters, no "
                          "'/' or ':', not starting with 'wandb-'")
    return type


def default_name(repo: str, path: str) -> str:
    """An artifact name for an export: the repository, plus the last path segment."""
    base = repo if not path else f"{repo}-{posixpath.basename(path)}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", base)[:128].strip("-") or "blacklake"


@dataclass(frozen=True)
class PlannedEntry:
    """One file of an export."""

    #: the path inside the artifact
    name: str
    #: the stored path in the repository
    path: str
    #: base64 MD5 (the W&B entry digest)
    digest: str
    md5: str
    size: int
    object_id: str


@dataclass(frozen=True)
class ExportPlan:
    """The files of an export and the W&B digest they will have."""

    repo: str
    commit: str
    #: the ref as given (branch, tag or commit)
    ref: str
    #: the URI's path ('' for the whole commit)
    path: str
    #: stored paths selected (the URI's path itself unless narrowed)
    selected: tuple[str, ...]
    entries: tuple[PlannedEntry, ...]

    @property
    def digest(self) -> str:
        """The artifact digest W&B will compute (hex)."""
        return manifest_digest({e.name: e.digest for e in self.entries})

    @property
    def size(self) -> int:
        """Total bytes."""
        return sum(e.size for e in self.entries)

    def uri(self, path: str | None = None) -> str:
        """The pinned ``blacklake://`` URI of ``path`` (default: the URI's path)."""
        return str(BlacklakeURI(self.repo, self.commit, self.path if path is None else path))

    def to_json(self) -> dict[str, Any]:
        """A JSON summary (without the per-file list)."""
        return {"repo": self.repo, "commit": self.commit, "ref": self.ref, "path": self.path,
                "uri": self.uri(), "files": len(self.entries), "bytes": self.size,
                "digest": self.digest}


def _select(repo: Repo, commit: str, base: str, paths: Sequence[str] | None
            ) -> tuple[str, ...]:
    if not paths:
        return (base,)
    out: list[str] = []
    for p in paths:
        rel = normalize_path(p, allow_root=False)
        full = f"{base}/{rel}" if base else rel
        if full not in out:
            out.append(full)
    return tuple(out)


def plan_export(store: Store, uri: str, paths: Iterable[str] | None = None) -> ExportPlan:
    """Resolve ``uri`` (file or directory, pinned to the commit its ref names now) and the
    optional ``paths`` below it into the entries of an artifact, with their digests."""
    u = BlacklakeURI.parse(uri)
    repo, commit, base = store.resolve_uri(u)
    root = repo.entry(commit, base)
    wanted = list(paths) if paths is not None else None
    if wanted and not root.is_dir:
        raise InvalidInput(f"{uri} is a file: paths can only narrow a directory")
    selected = _select(repo, commit, base, wanted)
    files: dict[str, dict[str, Any]] = {}
    for sel in selected:
        try:
            listing = repo.ls(commit, sel, recursive=True)
        except PathNotFound:
            raise PathNotFound(f"no such path in {repo.name} at {u.ref}: {sel}") from None
        for item in listing:
            if item["kind"] == "file":
                files.setdefault(item["path"], item)
    if not files:
        raise InvalidInput(f"nothing to export: no files at {uri}"
                           + (f" under {', '.join(wanted)}" if wanted else ""))
    entries = []
    for path in sorted(files):
        if root.is_dir:
            name = path[len(base) + 1:] if base else path
        else:
            name = posixpath.basename(path)
        d = repo.digests(commit, path, md5=True)
        entries.append(PlannedEntry(name=name, path=path, digest=md5_b64(d["md5"]),
                                    md5=d["md5"], size=d["size"], object_id=d["id"]))
    return ExportPlan(repo=repo.name, commit=commit, ref=u.ref, path=base, selected=selected,
                      entries=tuple(entries))


def predict_digest(store: Store, uri: str, paths: Iterable[str] | None = None) -> str:
    """The W&B digest an export of ``uri`` (and ``paths``) will have, computed without W&B."""
    return plan_export(store, uri, paths).digest
