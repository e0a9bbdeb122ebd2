"""Import a W&B artifact (a downloaded directory + its manifest) as one commit.

The directory is what ``artifact.download()`` writes: every manifest entry at its path below
the root (references included, fetched). The manifest is ``Artifact.manifest.to_manifest_json()``
— by default ``wandb_manifest.json`` in the directory (W&B's own name for it), which is then not
imported itself. Before anything is written:

* every manifest entry must be a regular file in the directory and every file in it an entry
  (as ``Artifact.verify`` demands; symlinks are refused, they could point anywhere);
* each file is read once, hashed and copied to a private staging directory; its digest must be
  the manifest's (base64 MD5, or XXH128 when tagged; a reference's ETag when it is an MD5 in
  base64 or hex — an opaque ETag cannot be checked and is refused unless
  ``allow_unverified_references``); the staged copies are what gets committed, so the bytes
  verified are the bytes stored;
* the manifest digest must equal the artifact digest, if one is given.

Any failure raises one error and commits nothing. The commit carries ``wandb.*`` metadata
(artifact name, version, type, digest, entity/project, the run that logged it); the destination
path then mirrors the artifact (files under it that the artifact lacks are removed unless
``replace=False``). Lineage: ``W&B run --produced--> artifact --derived_from--> stored path``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.names import normalize_path, validate_message
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.core.uri import SCHEME, BlacklakeURI
from blacklake_ml.errors import (
    InvalidInput,
    InvalidPath,
    MissingDependency,
    NotFound,
    PathNotFound,
    RepoNotFound,
)
from blacklake_ml.integrations.wandb.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    encode,
    hash_file_to,
)
from blacklake_ml.integrations.wandb.nodes import RunInfo, artifact_node
from blacklake_ml.integrations.wandb.plan import check_name

if TYPE_CHECKING:
    from blacklake_ml.service.store import Store

#: ``artifacts/<name>:<version>`` — the directory name ``artifact.download()`` picks
_DOWNLOAD_DIR = re.compile(r"(?P<name>[A-Za-z0-9_.-]+)[:_](?P<version>v\d+)")
_MAX_LISTED = 5


@dataclass(frozen=True)
class ArtifactInfo:
    """What is known of the W&B artifact being imported (all optional except the name)."""

    name: str
    version: str | None = None
    type: str | None = None
    #: the artifact digest W&B reported; checked against the manifest's
    digest: str | None = None
    entity: str | None = None
    project: str | None = None
    #: the run that logged it
    run: RunInfo | None = None

    @property
    def qualified(self) -> str:
        """``entity/project/name:version`` as far as known."""
        base = "/".join(p for p in (self.entity, self.project) if p)
        full = f"{base}/{self.name}" if base else self.name
        return f"{full}:{self.version}" if self.version else full

    def commit_meta(self, digest: str) -> dict[str, str]:
        """Flat ``wandb.*`` commit metadata."""
        meta = {"wandb.artifact": self.qualified, "wandb.name": self.name,
                "wandb.digest": digest}
        for key, value in (("wandb.version", self.version), ("wandb.type", self.type),
                           ("wandb.entity", self.entity), ("wandb.project", self.project)):
            if value:
                meta[key] = value
        if self.run is not None:
            meta["wandb.run"] = self.run.id
            if self.run.name:
                meta["wandb.run_name"] = self.run.name
            if self.run.url:
                meta["wandb.run_url"] = self.run.url
        return meta


@dataclass
class ImportResult:
    """What :func:`import_directory` committed."""

    commit: str
    created: bool
    repo: str
    branch: str
    path: str
    files: int
    bytes: int
    digest: str
    artifact: ArtifactInfo
    removed: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    node: str = ""

    @property
    def uri(self) -> str:
        """The pinned ``blacklake://`` URI of the imported path."""
        return str(BlacklakeURI(self.repo, self.commit, self.path))

    def to_json(self) -> dict[str, Any]:
        """The ``blacklake wandb import --json`` document."""
        return {"commit": self.commit, "created": self.created, "repo": self.repo,
                "branch": self.branch, "path": self.path, "uri": self.uri,
                "files": self.files, "bytes": self.bytes, "digest": self.digest,
                "artifact": self.artifact.qualified, "type": self.artifact.type,
                "run": None if self.artifact.run is None else self.artifact.run.id,
                "removed": self.removed, "unverified": self.unverified,
                "lineage": self.node}


def parse_destination(dest: str) -> tuple[str, str | None, str]:
    """``(repo, branch or None, path)`` of ``REPO[/BRANCH[/PATH]]`` or a
    ``blacklake://REPO/BRANCH/PATH`` URI."""
    if dest.startswith(SCHEME):
        u = BlacklakeURI.parse(dest)
        return u.repo, u.ref, u.path
    text = dest.strip("/")
    if not text:
        raise InvalidInput("the destination names no repository (REPO[/BRANCH[/PATH]])")
    u = BlacklakeURI.parse(SCHEME + text, require_ref=False)
    return u.repo, u.ref or None, u.path


def info_from_directory(directory: str | os.PathLike[str]) -> ArtifactInfo:
    """Name and version from a download directory named ``<name>:<version>``, else the
    directory's name (sanitised) and no version."""
    base = Path(directory).resolve().name
    m = _DOWNLOAD_DIR.fullmatch(base)
    if m:
        return ArtifactInfo(name=m.group("name"), version=m.group("version"))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-")[:128] or "artifact"
    return ArtifactInfo(name=name)


def _scan(root: Path, skip: Path | None) -> dict[str, Path]:
    """Regular files below ``root`` by canonical relative path; symlinks refused."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                raise InvalidInput(f"{os.path.join(dirpath, d)} is a symlink: an artifact "
                                   "directory must hold plain files")
        for f in filenames:
            full = Path(dirpath) / f
            if skip is not None and full == skip:
                continue
            if full.is_symlink():
                raise InvalidInput(f"{full} is a symlink: an artifact directory must hold "
                                   "plain files")
            if not full.is_file():
                continue
            rel = full.relative_to(root).as_posix()
            try:
                found[normalize_path(rel, allow_root=False)] = full
            except InvalidPath as exc:
                raise InvalidPath(f"{full}: {exc}") from None
    return found


def _listed(paths: list[str]) -> str:
    shown = ", ".join(sorted(paths)[:_MAX_LISTED])
    return shown + (f" and {len(paths) - _MAX_LISTED} more" if len(paths) > _MAX_LISTED else "")


def _verify_and_stage(entries: Mapping[str, ManifestEntry], files: Mapping[str, Path],
                      staging: Path, allow_unverified: bool, progress: Progress
                      ) -> tuple[dict[str, Path], list[str], int]:
    """Hash-copy every file into ``staging``; ``(staged paths, unverified paths, bytes)``."""
    opaque = [p for p, e in entries.items() if e.check() is None]
    if opaque and not allow_unverified:
        raise InvalidInput(f"cannot verify reference entries whose digest is an opaque ETag: "
                           f"{_listed(opaque)} (allow_unverified_references / "
                           "--allow-unverified-references imports them unchecked)")
    staged: dict[str, Path] = {}
    mismatched: list[str] = []
    total = 0
    progress.start(sum(os.path.getsize(f) for f in files.values()), "B",
                   f"verifying {len(files)} files")
    try:
        for i, (path, entry) in enumerate(sorted(entries.items())):
            how = entry.check()
            target = staging / f"{i:08d}"
            size, raw = hash_file_to(files[path], target, [how[0]] if how else [])
            total += size
            progress.advance(size)
            if entry.size is not None and entry.size != size:
                mismatched.append(path)
            elif how is not None:
                got = encode(raw[how[0]], how[1])
                want = entry.digest.lower() if how[1] == "hex" else entry.digest
                if got != want:
                    mismatched.append(path)
            staged[path] = target
    finally:
        progress.finish()
    if mismatched:
        raise InvalidInput(f"{len(mismatched)} file(s) do not match the W&B manifest (size or "
                           f"digest): {_listed(mismatched)}; nothing was imported")
    return staged, opaque, total


def import_directory(store: Store, directory: str | os.PathLike[str], dest: str, *,
                     manifest: Manifest | Mapping[str, Any] | str | os.PathLike[str] | None
                     = None, artifact: ArtifactInfo | None = None, message: str | None = None,
                     create_repo: bool = False, replace: bool = True,
                     allow_unverified_references: bool = False,
                     progress: Progress = NULL_PROGRESS) -> ImportResult:
    """Verify a downloaded W&B artifact in ``directory`` against its manifest and commit it
    at ``dest`` (``REPO[/BRANCH[/PATH]]`` or a ``blacklake://`` URI; branch defaults to the
    repository's ``main``). See the module docstring for the checks."""
    root = Path(directory)
    if not root.is_dir():
        raise PathNotFound(f"no such directory: {root}")
    root = root.resolve()
    manifest_file: Path | None = None
    if isinstance(manifest, Manifest):
        parsed = manifest
    elif isinstance(manifest, Mapping):
        parsed = Manifest.from_json(manifest)
    else:
        manifest_file = Path(manifest) if manifest is not None else root / MANIFEST_NAME
        parsed = Manifest.load(manifest_file)
        manifest_file = manifest_file.resolve()
    if not parsed.entries:
        raise InvalidInput("the W&B manifest lists no files: nothing to import")
    info = artifact or info_from_directory(root)
    check_name(info.name)
    digest = parsed.digest()
    if info.digest is not None and info.digest != digest:
        raise InvalidInput(f"the manifest's digest {digest} is not the artifact's "
                           f"{info.digest}: wrong manifest for {info.qualified}")
    if message is not None:
        validate_message(message)
    repo_name, branch, path = parse_destination(dest)
    branch = branch or "main"
    repo: Any = None
    try:
        repo = store.repo(repo_name)
    except RepoNotFound:
        if not create_repo:
            raise RepoNotFound(f"no repository {repo_name!r} (create it, or pass "
                               "create_repo / --create)") from None
        if branch != "main":
            raise InvalidInput(f"a new repository starts with branch 'main', not {branch!r}")
    if repo is not None:  # fail early: an unknown branch, or a file where the path goes
        _existing_files(repo, repo.branch_head(branch), path)
    skip = manifest_file if (manifest_file is not None and manifest_file.parent == root
                             and manifest_file.name not in parsed.entries) else None
    files = _scan(root, skip)
    missing = sorted(set(parsed.entries) - set(files))
    extra = sorted(set(files) - set(parsed.entries))
    if missing:
        raise PathNotFound(f"{len(missing)} manifest entr{'y is' if len(missing) == 1 else 'ies are'}"
                           f" missing from {root}: {_listed(missing)}")
    if extra:
        raise InvalidInput(f"{len(extra)} file(s) in {root} are not in the W&B manifest: "
                           f"{_listed(extra)}")
    staging = Path(tempfile.mkdtemp(prefix="blacklake-wandb-import-"))
    try:
        staged, unverified, total = _verify_and_stage(
            parsed.entries, files, staging, allow_unverified_references, progress)
        if repo is None:  # created only now: a failed check must leave nothing behind
            repo = store.create_repo(repo_name, f"imported from W&B artifact {info.name}")
        msg = message or f"Import W&B artifact {info.qualified}"
        with repo.transaction(branch, msg, meta=info.commit_meta(digest),
                              progress=progress) as tx:
            existing = _existing_files(repo, tx.base, path) if replace else []
            removed = sorted(set(existing) - {_join(path, p) for p in staged})
            for gone in removed:
                tx.delete(gone)
            for rel, local in staged.items():
                entry = parsed.entries[rel]
                meta = {"wandb.ref": entry.ref} if entry.ref else None
                tx.put_file(local, _join(path, rel), meta)
        result = tx.result
        assert result is not None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out = ImportResult(commit=result.commit, created=result.created, repo=repo.name,
                       branch=branch, path=path, files=len(staged), bytes=total, digest=digest,
                       artifact=info, removed=removed, unverified=unverified)
    out.node = _record_lineage(store, out, parsed)
    return out


def _join(base: str, rel: str) -> str:
    return f"{base}/{rel}" if base else rel


def _existing_files(repo: Any, head: str, path: str) -> list[str]:
    try:
        entry = repo.entry(head, path)
    except PathNotFound:
        return []
    if not entry.is_dir:
        raise InvalidInput(f"{repo.name}:{path} is a file: import into a directory path")
    return [i["path"] for i in repo.ls(head, path, recursive=True) if i["kind"] == "file"]


def _record_lineage(store: Store, result: ImportResult, manifest: Manifest) -> str:
    lineage = store.lineage
    info = result.artifact
    facets: dict[str, Any] = {"files": len(manifest.entries), "bytes": manifest.size}
    for key, value in (("entity", info.entity), ("project", info.project)):
        if value:
            facets[key] = value
    node = artifact_node(lineage, name=info.name, digest=result.digest,
                         type=info.type, version=info.version, facets=facets)
    edges: list[tuple[Any, Any, str]] = [(node, result.uri, "derived_from")]
    if info.run is not None:
        edges.append((info.run.node(lineage), node, "produced"))
    lineage.record(edges, facets={"via": "blacklake wandb import"})
    return node.key


def import_artifact(store: Store, artifact: Any, dest: str, *, api: Any = None,
                    message: str | None = None, create_repo: bool = False,
                    replace: bool = True, allow_unverified_references: bool = False,
                    progress: Progress = NULL_PROGRESS) -> ImportResult:
    """Download a logged W&B artifact (``"entity/project/name:v3"`` through ``wandb.Api``,
    or an artifact object the public API returned) and import it like
    :func:`import_directory`, with its name, version, type, digest and logging run."""
    if isinstance(artifact, str):
        if api is None:
            try:
                import wandb
            except ImportError:
                raise MissingDependency("importing from W&B", "wandb") from None
            try:
                api = wandb.Api()
            except Exception as exc:  # noqa: BLE001 - W&B's errors vary by version
                raise NotFound(f"cannot reach the W&B API: {exc}") from None
        try:
            art = api.artifact(artifact)
        except Exception as exc:  # noqa: BLE001
            raise NotFound(f"W&B artifact {artifact!r} could not be fetched: {exc}") from None
    else:
        art = artifact
    name, _, version = str(art.name).partition(":")
    try:
        logged_by = art.logged_by()
    except Exception:  # noqa: BLE001 - optional: an artifact's run may be gone
        logged_by = None
    def opt(attr: str) -> str | None:  # W&B answers '' (or raises) for what it lacks
        try:
            value = getattr(art, attr, None)
        except Exception:  # noqa: BLE001
            return None
        return str(value) if value else None

    info = ArtifactInfo(name=name, version=version or opt("version"), type=opt("type"),
                        digest=opt("digest"), entity=opt("entity"), project=opt("project"),
                        run=RunInfo.of(logged_by) if logged_by is not None else None)
    manifest = Manifest.from_json(art.manifest.to_manifest_json())
    with tempfile.TemporaryDirectory(prefix="blacklake-wandb-download-") as tmp:
        root = art.download(root=os.path.join(tmp, "files"))
        return import_directory(store, root, dest, manifest=manifest,
                                artifact=info, message=message,
                                create_repo=create_repo, replace=replace,
                                allow_unverified_references=allow_unverified_references,
                                progress=progress)

