"""Registry sync between BlackLake and the MLflow Model Registry, both ways.

:func:`register_model` registers a stored model as a model version whose ``source`` is its
``blacklake://`` URI *pinned to the commit* (so the version never changes under the registry
even when the branch moves), after checking that it exists — MLflow itself accepts any
source. :func:`import_registry` goes the other way: every version of a registered model
becomes a tag of a BlackLake repository and every alias (``champion``…) an alias there.

Naming in the repository: version ``N`` of model ``NAME`` is the tag
``mlflow-<NAME>-vN`` (NAME with characters a ref name cannot hold replaced by ``-``); MLflow
aliases keep their names (one registered model per repository keeps them unambiguous).
Versions whose source is in BlackLake map to that commit (copied into ``repo`` first when
they live in another repository; stored content is deduplicated, so a copy costs no new
bytes); any other source is downloaded through MLflow and committed under
``mlflow/<NAME>/vN``. Re-importing skips versions that already have their tag, moves
aliases that moved and deletes the ones MLflow no longer has — unless someone changed that
alias in BlackLake since the last import (each move is recorded in the alias history).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.names import validate_ref_name
from blacklake_ml.core.uri import SCHEME, BlacklakeURI
from blacklake_ml.errors import BlacklakeError, InvalidInput, InvalidName, NotFound
from blacklake_ml.integrations.mlflow import inputs, tracking

if TYPE_CHECKING:
    from blacklake_ml.api import Store
    from blacklake_ml.service.repo import Repo

_log = logging.getLogger(__name__)
_REF_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SYSTEM = "mlflow"


def _mlflow_code(exc: Exception) -> str:
    return str(getattr(exc, "error_code", ""))


def version_tag(name: str, version: str | int) -> str:
    """The BlackLake tag for version ``version`` of registered model ``name``."""
    slug = _REF_UNSAFE.sub("-", name).strip("-.") or "model"
    return f"mlflow-{slug[:100]}-v{version}"


def _version_node_uri(name: str, version: str | int) -> str:
    return f"models:/{name}/{version}"


def _producer(repo: Repo, commit: str, path: str) -> dict[str, str]:
    """Metadata of the commit that last changed ``path`` (who produced the model)."""
    rows = repo.log(commit, path=path, limit=1)
    return dict(rows[0].meta) if rows else {}


def register_model(store: Store, uri: str, name: str, *, tracking_uri: str | None = None,
                   await_registration_for: int = 300, tags: Mapping[str, str] | None = None,
                   description: str | None = None) -> dict[str, Any]:
    """Register the stored model at ``uri`` as a new version of MLflow model ``name``.

    Checks that ``uri`` names a file or directory (``PathNotFound`` / ``RefNotFound`` /
    ``RepoNotFound`` / ``InvalidURI`` otherwise, before MLflow is touched), pins it to its
    commit, creates the registered model if needed and a version with ``source`` = the
    pinned URI, tags ``blacklake.repo`` / ``blacklake.commit`` / ``blacklake.path`` /
    ``blacklake.uri`` (+ ``blacklake.sha256`` for a file) and the MLflow run / logged model
    that produced it when its commit says so. Records ``stored --derived_from-->
    models:/NAME/VERSION``. Returns ``{"name", "version", "source", "uri", "repo",
    "commit", "path", "run_id", "model_id", "status"}``.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("registered model name must be a non-empty string")
    inp = inputs.pin(store, uri)
    if not inp.path:
        raise InvalidInput(f"{uri} names the repository root: register a model file or "
                           "directory inside it")
    repo = store.repo(inp.repo)
    meta = _producer(repo, inp.commit, inp.path)
    c = tracking.client(tracking_uri)
    run_id = meta.get("mlflow.run_id")
    model_id = meta.get("mlflow.model_id")
    # Link the run / logged model only if this tracking server knows them (the model may
    # have been logged against another server); MLflow looks them up when given.
    if run_id is not None:
        try:
            c.get_run(run_id)
        except Exception:  # noqa: BLE001 - unknown here: register without the link
            run_id = None
    if model_id is not None and run_id is not None:
        try:
            c.get_logged_model(model_id)
        except Exception:  # noqa: BLE001
            model_id = None
    else:
        model_id = None
    version_tags = {"blacklake.repo": inp.repo, "blacklake.commit": inp.commit,
                    "blacklake.path": inp.path, "blacklake.uri": uri}
    if inp.sha256:
        version_tags["blacklake.sha256"] = inp.sha256
    version_tags.update(dict(tags or {}))
    with tracking.translated(f"cannot register {uri} as MLflow model {name!r}"):
        _ensure_registered_model(c, name)
        mv = c.create_model_version(name, source=inp.pinned, run_id=run_id,
                                    tags=version_tags, description=description,
                                    await_creation_for=await_registration_for,
                                    model_id=model_id)
    _record(store, [(inp.pinned, _version_node(store, name, mv.version, tracking_uri),
                     "derived_from")])
    return {"name": name, "version": str(mv.version), "source": inp.pinned, "uri": uri,
            "repo": inp.repo, "commit": inp.commit, "path": inp.path, "run_id": run_id,
            "model_id": model_id, "status": str(mv.status)}


def _ensure_registered_model(c: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        c.get_registered_model(name)
        return
    except MlflowException as exc:
        if _mlflow_code(exc) != "RESOURCE_DOES_NOT_EXIST":
            raise
    try:
        c.create_registered_model(name, tags={"blacklake.managed": "true"})
    except MlflowException as exc:
        if _mlflow_code(exc) != "RESOURCE_ALREADY_EXISTS":  # a concurrent registration won
            raise


def _version_node(store: Store, name: str, version: Any, tracking_uri: str | None) -> Any:
    facets: dict[str, Any] = {"registered_model": name, "version": str(version)}
    uri = tracking.effective_tracking_uri(tracking_uri)
    if uri and "@" not in uri:  # never store credentials from a URI in lineage
        facets["tracking_uri"] = uri
    return store.lineage.external(_version_node_uri(name, version), kind="model",
                                  label=f"{name} v{version}", system=SYSTEM, facets=facets)


def _record(store: Store, edges: list[tuple[Any, Any, str]]) -> None:
    try:
        store.lineage.record(edges)
    except Exception as exc:  # noqa: BLE001 - registry already changed; lineage is extra
        _log.warning("could not record registry lineage: %s", exc)


# -- MLflow registry -> BlackLake ----------------------------------------------------------------
def import_registry(store: Store, name: str, repo: str, *, tracking_uri: str | None = None,
                    branch: str = "main",
                    on_version: Callable[[dict[str, Any]], None] | None = None
                    ) -> dict[str, Any]:
    """Import registered model ``name``'s versions as tags and its aliases as aliases of
    ``repo`` (see the module docstring). Versions not READY are skipped. Returns
    ``{"name", "repo", "versions": [{"version", "source", "tag", "commit", "action"}],
    "aliases": [{"alias", "version", "commit", "moved"}]}`` where ``action`` is
    ``mapped`` (source already in ``repo``), ``copied`` (from another repository),
    ``imported`` (downloaded through MLflow), ``exists`` (tag already there) or
    ``skipped`` (not READY). ``on_version`` is called with each version's entry when it
    is done (progress: downloads can be long)."""
    from mlflow.exceptions import MlflowException

    target = store.repo(repo)
    target.branch_head(branch)  # fail before any download if the branch is wrong
    c = tracking.client(tracking_uri)
    try:
        rm = c.get_registered_model(name)
    except MlflowException as exc:
        if _mlflow_code(exc) == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(f"no registered model {name!r} in the MLflow registry") from None
        with tracking.translated(f"cannot read registered model {name!r}"):
            raise
    with tracking.translated(f"cannot list the versions of {name!r}"):
        versions = sorted(c.search_model_versions(f"name='{_quote(name)}'"),
                          key=lambda v: int(v.version))
    existing = {t.name: t.commit for t in target.tags()}
    report_versions: list[dict[str, Any]] = []
    commits: dict[str, str] = {}
    for mv in versions:
        tag = version_tag(name, mv.version)
        entry: dict[str, Any] = {"version": str(mv.version), "source": mv.source, "tag": tag}
        report_versions.append(entry)
        if str(mv.status) != "READY":
            entry.update(action="skipped", commit=None)
        elif tag in existing:
            entry.update(action="exists", commit=existing[tag])
            commits[str(mv.version)] = existing[tag]
        else:
            _import_one(store, target, branch, c, name, mv, tracking_uri, entry)
            commits[str(mv.version)] = entry["commit"]
        if on_version is not None:
            on_version(entry)
    report_aliases = []
    for alias, version in sorted((rm.aliases or {}).items()):
        at = commits.get(str(version))
        item: dict[str, Any] = {"alias": alias, "version": str(version), "commit": at,
                                "moved": False}
        report_aliases.append(item)
        if at is None:
            item["skipped"] = "version not imported"
            continue
        try:
            validate_ref_name(alias, "alias")
        except InvalidName as exc:
            item["skipped"] = str(exc)
            continue
        event = target.lifecycle.set_alias(
            alias, at, reason=f"{_ALIAS_REASON.format(name=name)} v{version}", by="mlflow")
        item["moved"] = event is not None
    report_aliases += _drop_removed_aliases(target, name, set(rm.aliases or {}))
    return {"name": name, "repo": repo, "versions": report_versions, "aliases": report_aliases}


#: the reason an imported alias is set with; it marks the alias as following MLflow's
_ALIAS_REASON = "MLflow alias of {name}"


def _drop_removed_aliases(target: Repo, name: str, current: set[str]) -> list[dict[str, Any]]:
    """Delete the aliases an earlier import set for ``name`` that MLflow no longer has.

    Only an alias whose last change was made by this import follows MLflow: one a person
    moved since is theirs and stays. Deleting compares-and-swaps on the commit it read."""
    out: list[dict[str, Any]] = []
    marker = _ALIAS_REASON.format(name=name) + " v"
    for ref in target.lifecycle.aliases():
        if ref.name in current:
            continue
        history = target.lifecycle.alias_history(ref.name)
        last = history[0] if history else None
        if last is None or last.by != "mlflow" or not last.reason.startswith(marker):
            continue
        target.lifecycle.delete_alias(
            ref.name, expected=ref.commit, by="mlflow",
            reason=f"{_ALIAS_REASON.format(name=name)}: removed in MLflow")
        out.append({"alias": ref.name, "version": None, "commit": None, "moved": True,
                    "removed": True})
    return out


def _import_one(store: Store, target: Repo, branch: str, c: Any, name: str, mv: Any,
                tracking_uri: str | None, entry: dict[str, Any]) -> None:
    """Import one version, tag it and record its lineage; fills ``entry``."""
    action, commit, stored = _import_version(store, target, branch, c, name, mv, tracking_uri)
    target.create_tag(entry["tag"], commit)
    entry.update(action=action, commit=commit, uri=stored)
    node = _version_node(store, name, mv.version, tracking_uri)
    # A version registered from BlackLake is derived from the stored model; one we
    # downloaded is the origin of the stored copy.
    _record(store, [(stored, node, "derived_from") if action == "mapped"
                    else (node, stored, "derived_from")])


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _import_version(store: Store, target: Repo, branch: str, c: Any, name: str, mv: Any,
                    tracking_uri: str | None) -> tuple[str, str, str]:
    """Bring one version's files into ``target``: ``(action, commit, pinned stored URI)``."""
    source = str(mv.source or "")
    if source.startswith(SCHEME):
        try:
            inp = inputs.pin(store, source)
        except BlacklakeError as exc:
            raise NotFound(f"{name} v{mv.version}: its source {source} is not in this "
                           f"store: {exc}") from None
        if inp.repo == target.name:
            return "mapped", inp.commit, inp.pinned
        with tempfile.TemporaryDirectory(prefix="blacklake-mlflow-import-") as tmp:
            local = f"{tmp}/{inp.path.rsplit('/', 1)[-1] or 'model'}"
            store.repo(inp.repo).get(inp.commit, inp.path, local)
            return ("copied",) + _commit_version(target, branch, local, name, mv,
                                                 origin=inp.pinned)
    with tempfile.TemporaryDirectory(prefix="blacklake-mlflow-import-") as tmp:
        with tracking.translated(f"cannot download {name} v{mv.version} from MLflow"):
            local = _download_version(name, str(mv.version), tmp, tracking_uri)
        return ("imported",) + _commit_version(target, branch, local, name, mv, origin=source)


def _download_version(name: str, version: str, dst: str, tracking_uri: str | None) -> str:
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    uri = tracking.effective_tracking_uri(tracking_uri)
    repo = ModelsArtifactRepository(f"models:/{name}/{version}", tracking_uri=uri,
                                    registry_uri=uri)
    return str(repo.download_artifacts("", dst_path=dst))


def _commit_version(target: Repo, branch: str, local: str, name: str, mv: Any, *,
                    origin: str) -> tuple[str, str]:
    import os

    slug = version_tag(name, mv.version)[len("mlflow-"):].rsplit("-v", 1)[0]
    dest = f"mlflow/{slug}/v{mv.version}"
    meta = {"mlflow.registered_model": name, "mlflow.version": str(mv.version),
            "mlflow.source": origin[:4096]}
    if mv.run_id:
        meta["mlflow.run_id"] = mv.run_id
    message = f"import MLflow model {name} v{mv.version}"
    if os.path.isdir(local):
        result = target.put(local, dest, branch=branch, message=message, commit_meta=meta)
    else:
        dest = f"{dest}/{os.path.basename(local)}"
        result = target.put(local, dest, branch=branch, message=message, commit_meta=meta)
    return result.commit, str(BlacklakeURI(target.name, result.commit, dest))
