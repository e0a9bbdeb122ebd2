"""Export a commit (or paths of it) as a ``wandb.Artifact``.

Two ways to put the bytes in:

* **files** (default): the selection is written to a temporary directory and added with
  ``add_file(policy="mutable")``, which copies each file into W&B's staging directory
  (``$WANDB_DATA_DIR/artifacts/staging``) before returning — W&B uploads from there (at
  ``wandb sync`` for offline runs), so the temporary directory is removed as soon as the
  artifact holds its copies.
* **references**: each file becomes ``add_reference(<signed gateway URL>, checksum=True)``;
  W&B fetches the URL's headers and takes ``ETag`` (base64 MD5) as the digest and
  ``Content-Length`` as the size; downloads re-check the ETag. Needs the gateway
  (``blacklake serve``) to stay reachable for as long as the artifact is to be downloaded.

Either way the artifact digest equals :attr:`ExportPlan.digest`, predicted from the store; a
difference (e.g. a gateway serving another store) fails the export before anything is logged.
The artifact's metadata carries the commit (``metadata["blacklake"]``), and lineage records
``stored path --derived_from--> W&B artifact`` and, when a run logs it,
``run --produced--> W&B artifact``.
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.errors import InvalidInput, MissingDependency
from blacklake_ml.gateway.files import file_url_path
from blacklake_ml.integrations.wandb.nodes import RunInfo, artifact_node
from blacklake_ml.integrations.wandb.plan import (
    ExportPlan,
    check_name,
    check_type,
    default_name,
    plan_export,
)

if TYPE_CHECKING:
    from blacklake_ml.service.store import Store


class UrlSigner(Protocol):
    """What hands out signed gateway URLs: a running
    :class:`~blacklake_ml.gateway.server.Gateway` or a
    :class:`~blacklake_ml.gateway.files.RemoteFiles` for one in another process."""

    def signed_url(self, path: str) -> str: ...


@dataclass
class ExportResult:
    """What :func:`export_artifact` built (and logged)."""

    #: the ``wandb.Artifact``
    artifact: Any
    plan: ExportPlan
    name: str
    type: str
    mode: str
    #: the artifact's digest as W&B computes it
    digest: str
    logged: bool = False
    run: RunInfo | None = None
    #: lineage key of the artifact node
    node: str = ""
    aliases: list[str] = field(default_factory=list)

    @property
    def predicted_digest(self) -> str:
        """The digest predicted from the store before W&B saw anything."""
        return self.plan.digest

    def to_json(self) -> dict[str, Any]:
        """The ``blacklake wandb export --json`` document."""
        return {"artifact": self.name, "type": self.type, "mode": self.mode,
                "digest": self.digest, "predicted_digest": self.predicted_digest,
                "files": len(self.plan.entries), "bytes": self.plan.size,
                "repo": self.plan.repo, "commit": self.plan.commit, "uri": self.plan.uri(),
                "paths": [e.name for e in self.plan.entries], "logged": self.logged,
                "aliases": self.aliases,
                "run": None if self.run is None else {"id": self.run.id, **self.run.facets()},
                "lineage": self.node}


def require_wandb() -> Any:
    """The ``wandb`` module, or :class:`MissingDependency` naming the extra."""
    try:
        import wandb
    except ImportError:
        raise MissingDependency("exporting to W&B", "wandb") from None
    return wandb


def _metadata(store: Store, plan: ExportPlan, source_uri: str) -> dict[str, Any]:
    c = store.odb.commit(plan.commit)
    return {"blacklake": {
        "repo": plan.repo, "commit": plan.commit, "ref": plan.ref, "path": plan.path,
        "message": c.message, "author": c.author, "time": c.time, "commit_meta": dict(c.meta),
        "uri": plan.uri(), "source_uri": source_uri,
        "uris": [plan.uri(p) for p in plan.selected],
    }}


def _add_files(store: Store, plan: ExportPlan, artifact: Any, progress: Progress) -> None:
    repo = store.repo(plan.repo)
    with tempfile.TemporaryDirectory(prefix="blacklake-wandb-") as tmp:
        root = Path(tmp)
        progress.start(plan.size, "B", f"exporting {len(plan.entries)} files")
        try:
            for e in plan.entries:
                target = root / e.name
                target.parent.mkdir(parents=True, exist_ok=True)
                repo.get(plan.commit, e.path, target)
                # "mutable": W&B copies the file into its staging area now, so this
                # directory may go when the block ends (offline runs upload at sync).
                artifact.add_file(str(target), name=e.name, policy="mutable")
                progress.advance(e.size)
        finally:
            progress.finish()


def _add_references(plan: ExportPlan, artifact: Any, signer: UrlSigner,
                    progress: Progress) -> None:
    import requests  # W&B's HTTP handler is built on it

    progress.start(len(plan.entries), "files", "adding references")
    try:
        for e in plan.entries:
            url = signer.signed_url(file_url_path(plan.repo, plan.commit, e.path))
            try:
                artifact.add_reference(url, name=e.name, checksum=True)
            except requests.HTTPError as exc:  # W&B's session raises for error statuses
                status = exc.response.status_code if exc.response is not None else "error"
                raise InvalidInput(
                    f"the gateway answered HTTP {status} for {e.path} at "
                    f"{url.split('?', 1)[0]} — is it `blacklake serve` on this store, and "
                    "is the token right?") from None
            except requests.RequestException as exc:
                raise InvalidInput(f"cannot reach the gateway for {e.path}: {exc}") from None
            progress.advance(1)
    finally:
        progress.finish()


def _status_of(url: str) -> str:
    """What the gateway answers for ``url`` (to explain a digest mismatch)."""
    try:
        req = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return f"HTTP {rsp.status}, ETag {rsp.headers.get('ETag')}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable ({exc})"


def _check(plan: ExportPlan, artifact: Any, mode: str) -> None:
    entries = artifact.manifest.entries
    for e in plan.entries:
        got = entries.get(e.name)
        if got is not None and got.digest == e.digest and got.size == e.size:
            continue
        if mode == "references" and got is not None and got.ref:
            raise InvalidInput(
                f"the gateway's answer for {e.path} does not match the store (expected ETag "
                f"{e.digest!r}, {e.size} bytes; W&B saw {got.digest!r}, {got.size} bytes: "
                f"{_status_of(got.ref)}) — is that gateway serving this store with this "
                "token?")
        raise InvalidInput(f"W&B recorded {e.name} with digest "
                           f"{getattr(got, 'digest', None)!r}, the store says {e.digest!r}")


def export_artifact(store: Store, uri: str, *, name: str | None = None, type: str = "model",
                    paths: Sequence[str] | None = None, references: bool = False,
                    gateway: UrlSigner | None = None, run: Any = None, log: bool = True,
                    aliases: Iterable[str] = (), description: str | None = None,
                    progress: Progress = NULL_PROGRESS) -> ExportResult:
    """Build a ``wandb.Artifact`` from ``uri`` (a file or directory at any ref, pinned to its
    commit now), optionally narrowed to ``paths`` below it; entry names are relative to the
    URI's path.

    ``references=True`` adds signed URLs of ``gateway`` instead of copies. The artifact is
    logged to ``run`` (default: the active ``wandb.run``) when ``log`` and a run exists;
    otherwise it is returned unlogged for the caller to log. Raises
    :class:`~blacklake_ml.errors.InvalidInput` (nothing logged) if W&B's digests differ from
    the prediction.
    """
    name = check_name(name) if name is not None else None
    check_type(type)
    aliases = [str(a) for a in aliases]
    if references and gateway is None:
        raise InvalidInput("an export by references needs the gateway that serves the files "
                           "(blacklake serve; --gateway-url and --gateway-token)")
    if not references and gateway is not None:
        raise InvalidInput("a gateway is only used by an export by references")
    wandb = require_wandb()
    plan = plan_export(store, uri, paths)
    name = name or default_name(plan.repo, plan.path)
    mode = "references" if references else "files"
    c = store.odb.commit(plan.commit)
    desc = description if description is not None else \
        f"{plan.uri()} — {c.message.splitlines()[0] if c.message else ''}".rstrip(" —")
    try:
        artifact = wandb.Artifact(name, type=type, description=desc,
                                  metadata=_metadata(store, plan, uri))
    except ValueError as exc:  # W&B's own checks, should ours miss one
        raise InvalidInput(f"W&B refused the artifact: {exc}") from None
    if references:
        assert gateway is not None
        _add_references(plan, artifact, gateway, progress)
    else:
        _add_files(store, plan, artifact, progress)
    _check(plan, artifact, mode)
    digest = str(artifact.digest)
    if digest != plan.digest:  # entries matched, so only a change in W&B's scheme gets here
        raise InvalidInput(f"W&B computed artifact digest {digest}, predicted {plan.digest}")

    active = run if run is not None else (wandb.run if log else None)
    result = ExportResult(artifact=artifact, plan=plan, name=name, type=type, mode=mode,
                          digest=digest, aliases=aliases)
    if log and active is not None:
        active.log_artifact(artifact, aliases=aliases or None)
        result.logged = True
        result.run = RunInfo.of(active)
    lineage = store.lineage
    facets: dict[str, Any] = {"mode": mode, "files": len(plan.entries), "bytes": plan.size}
    if result.run is not None:
        facets.update({k: v for k, v in (("project", result.run.project),
                                         ("entity", result.run.entity)) if v})
    node = artifact_node(lineage, name=name, digest=digest, type=type, facets=facets)
    edges: list[tuple[Any, Any, str]] = [(plan.uri(p), node, "derived_from")
                                         for p in plan.selected]
    if result.run is not None:
        edges.append((result.run.node(lineage), node, "produced"))
    lineage.record(edges, facets={"via": "blacklake wandb export"})
    result.node = node.key
    return result
