"""Artifact locations: ``blacklake://repo/branch/prefix`` and the MLflow ids inside paths.

MLflow lays artifacts out the same way under any artifact root::

    <experiment location>/<run id>/artifacts/...            a run's artifacts
    <experiment location>/models/<model id>/artifacts/...   a logged model (MLflow 3)
    <experiment location>/traces/<trace id>/artifacts/...   a trace's payload

and a tracking server that proxies artifacts (``--artifacts-destination``) prefixes the
experiment id. So the run, model and experiment a write belongs to can be read off the path,
in the client and in a tracking server alike (where no run is active).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blacklake_ml.core.names import normalize_path
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import InvalidPath

RUN_ID = re.compile(r"[0-9a-f]{32}")
MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
TRACE_ID = re.compile(r"tr-[0-9a-f]{32}")


@dataclass(frozen=True)
class ArtifactLocation:
    """An artifact repository root: repository, ref (a branch, for writes) and prefix."""

    repo: str
    ref: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> ArtifactLocation:
        """Parse ``blacklake://repo/ref[/prefix]`` (:class:`~blacklake_ml.errors.InvalidURI`
        if it does not parse, :class:`~blacklake_ml.errors.InvalidPath` for ``..`` etc.)."""
        u = BlacklakeURI.parse(uri)
        return cls(u.repo, u.ref, u.path)

    def path(self, *parts: str | None) -> str:
        """The repository path of ``parts`` (artifact-relative) below the prefix.

        Each part is validated on its own, so ``..`` or an absolute path in an artifact path
        is refused (:class:`~blacklake_ml.errors.InvalidPath`) instead of escaping the prefix.
        """
        out = self.prefix
        for part in parts:
            if part is None or part == "":
                continue
            try:
                rel = normalize_path(part)
            except InvalidPath as exc:
                raise InvalidPath(f"invalid artifact path {part!r}: {exc}") from None
            out = f"{out}/{rel}" if out and rel else (out or rel)
        return out

    def relative(self, path: str) -> str:
        """``path`` (a repository path below the prefix) relative to the prefix."""
        if not self.prefix:
            return path
        return path[len(self.prefix) + 1:] if path != self.prefix else ""

    def uri(self, path: str, ref: str | None = None) -> str:
        """``blacklake://repo/<ref or this ref>/<path>``."""
        return str(BlacklakeURI(self.repo, ref or self.ref, path))


@dataclass(frozen=True)
class MlflowIds:
    """The MLflow entities a repository path belongs to (None where the path does not say)."""

    run_id: str | None = None
    model_id: str | None = None
    trace_id: str | None = None
    experiment_id: str | None = None
    #: repository path of the run's / model's ``artifacts`` directory
    root: str | None = None


def ids_in(path: str) -> MlflowIds:
    """Read the run / logged model / trace and experiment ids off a repository path."""
    segs = [s for s in path.split("/") if s]
    for i, seg in enumerate(segs):
        if seg != "artifacts" or i == 0:
            continue
        owner = segs[i - 1]
        root = "/".join(segs[:i + 1])
        if RUN_ID.fullmatch(owner):
            exp = segs[i - 2] if i >= 2 and segs[i - 2].isdigit() else None
            return MlflowIds(run_id=owner, experiment_id=exp, root=root)
        if i >= 2 and segs[i - 2] in ("models", "traces"):
            exp = segs[i - 3] if i >= 3 and segs[i - 3].isdigit() else None
            if segs[i - 2] == "models" and MODEL_ID.fullmatch(owner):
                return MlflowIds(model_id=owner, experiment_id=exp, root=root)
            if segs[i - 2] == "traces" and TRACE_ID.fullmatch(owner):
                return MlflowIds(trace_id=owner, experiment_id=exp, root=root)
    return MlflowIds()

