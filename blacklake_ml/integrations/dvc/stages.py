"""``dvc.yaml`` pipeline stages as lineage: deps --consumed--> stage --produced--> outs.

What a stage *ran with* is in ``dvc.lock`` (the command, and the MD5 of every dep and out at
the last ``dvc repro``), so the lock files of a git commit are the source. A stage becomes one
run node ``run:dvc:<git sha>:<stage>`` (type ``stage``) in the commit whose lock entry for it
changed (new or re-run), so an unchanged stage is not recorded again with every later commit.

Deps and outs that the import stored in BlackLake (DVC-tracked files and directories) map to
stored nodes pinned to the BlackLake commit; anything else — code files, params files, git-
tracked inputs — is an external ``file://<project>/<path>#md5=<md5>`` node, keyed by content
so that one unchanged script consumed by several runs is one node.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import yaml

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidInput
from blacklake_ml.integrations.dvc.gitlog import Git

if TYPE_CHECKING:
    from blacklake_ml.service.lineage import LineageNode
    from blacklake_ml.service.store import Store


@dataclass(frozen=True)
class LockedStage:
    """One stage of a ``dvc.lock`` (paths relative to the DVC project root)."""

    name: str  # "train", or "sub/dvc.yaml:train" for a lock below the root
    cmd: str
    deps: tuple[tuple[str, str | None], ...]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    outs: tuple[tuple[str, str | None], ...] = ()
    #: canonical form of the lock entry: a change means the stage was re-run
    digest: str = ""


def _md5_of(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("md5") or entry.get("checksum") or entry.get("etag")
    return str(value) if value is not None else None


def parse_lock(text: bytes, lock_dir: str, where: str) -> dict[str, LockedStage]:
    """The stages of one ``dvc.lock`` whose directory (relative to the project) is
    ``lock_dir``; ``where`` names it in errors."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{where} is not a dvc.lock mapping")
    # schema 2.0 nests stages; DVC 1.x lock files are the stage mapping itself
    stages = doc.get("stages", {}) if "schema" in doc else doc
    if not isinstance(stages, dict):
        raise InvalidInput(f"{where}: 'stages' is not a mapping")

    def rel(path: str) -> str:
        return posixpath.normpath(posixpath.join(lock_dir, str(path)))

    out: dict[str, LockedStage] = {}
    for name, body in stages.items():
        if not isinstance(body, dict):
            raise InvalidInput(f"{where}: stage {name!r} is not a mapping")
        qualified = f"{lock_dir}/dvc.yaml:{name}" if lock_dir else str(name)
        deps = tuple((rel(d["path"]), _md5_of(d)) for d in body.get("deps") or []
                     if isinstance(d, dict) and "path" in d)
        outs = tuple((rel(o["path"]), _md5_of(o)) for o in body.get("outs") or []
                     if isinstance(o, dict) and "path" in o)
        params = {rel(f): dict(v or {}) for f, v in (body.get("params") or {}).items()}
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS,
                                             default=str)).hexdigest()
        out[qualified] = LockedStage(qualified, str(body.get("cmd", "")), deps, params, outs,
                                     digest)
    return out


def locked_stages(git: Git, sha: str, prefix: str) -> dict[str, LockedStage]:
    """Every stage of every ``dvc.lock`` in commit ``sha`` (``prefix``: the DVC project's
    directory below the git top level, '' for the top)."""
    out: dict[str, LockedStage] = {}
    for path in git.files(sha, prefix):
        if posixpath.basename(path) != "dvc.lock":
            continue
        in_project = path[len(prefix) + 1:] if prefix else path
        lock_dir = posixpath.dirname(in_project)
        out.update(parse_lock(git.show(sha, path), lock_dir, f"{path} at {sha[:12]}"))
    return out


def changed_stages(before: Mapping[str, LockedStage], after: Mapping[str, LockedStage]
                   ) -> list[LockedStage]:
    """Stages new in ``after`` or whose lock entry differs (re-run)."""
    return [s for name, s in sorted(after.items())
            if name not in before or before[name].digest != s.digest]


def record_stages(store: Store, stages: list[LockedStage], *, repo: str, commit: str,
                  is_stored: Callable[[str], bool], project: str, git_commit: str) -> int:
    """Record each stage's deps -> stage -> outs; the number of stages recorded.

    ``is_stored(path)`` tells whether ``path`` (a file or directory) is in BlackLake commit
    ``commit`` of ``repo``.
    """
    lineage = store.lineage

    def node(path: str, md5: str | None) -> LineageNode | str:
        if is_stored(path):
            return str(BlacklakeURI(repo, commit, path))
        uri = f"file://{project}/{path}" + (f"#md5={md5}" if md5 else "")
        return lineage.external(uri, kind="file", label=path, system="dvc",
                                facets={"path": path, "md5": md5, "project": project})

    for stage in stages:
        run = lineage.run("dvc", f"{git_commit}:{stage.name}", name=stage.name, type="stage",
                          facets={"cmd": stage.cmd, "git_commit": git_commit,
                                  "project": project, "params": dict(stage.params),
                                  "blacklake_commit": commit, "repo": repo})
        inputs: list[LineageNode | str] = [node(p, m) for p, m in stage.deps]
        for pfile, values in sorted(stage.params.items()):
            key = hashlib.md5(orjson.dumps(values, option=orjson.OPT_SORT_KEYS, default=str),
                              usedforsecurity=False).hexdigest()
            inputs.append(lineage.external(
                f"file://{project}/{pfile}#params={key}", kind="file",
                label=f"{pfile} ({', '.join(sorted(map(str, values)))})", system="dvc",
                facets={"path": pfile, "params": values, "project": project}))
        outputs = [node(p, m) for p, m in stage.outs]
        lineage.record_run(run, inputs=inputs, outputs=outputs)
    return len(stages)
