"""What the BlackLake components do when a KFP task runs them.

The component functions in :mod:`blacklake_ml.integrations.kfp.components` are shipped to the
task as source text (KFP reads them with ``inspect``), so they stay a few lines long and call
into this module, which the task imports from the installed ``blacklake-ml``. Keeping the work
here also makes it testable without KFP.

Two layers: :func:`resolve`, :func:`pull`, :func:`push` and :func:`search` take a
:class:`~blacklake_ml.Store` and raise :class:`~blacklake_ml.errors.BlacklakeError` on bad
input, for Python callers; the ``task_*`` entry points open the store a task was pointed at,
record lineage and turn a BlackLake error into one clear line and a failed task (no traceback:
the message is the whole story, e.g. ``blacklake: PathNotFound: no such path at main: x``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from blacklake_ml.core.names import join_path
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import BlacklakeError, InvalidInput, NotFound, PathNotFound
from blacklake_ml.integrations.kfp.artifacts import StoredRef, commit_metadata
from blacklake_ml.integrations.kfp.lineage import KfpLineage, artifact_uri, check_run_id, filled

if TYPE_CHECKING:
    from blacklake_ml.api import Store

#: search modes the search component accepts (see blacklake_ml.search.engine)
SEARCH_MODES = ("hybrid", "bm25", "dense")


# -- store-level verbs (raise BlacklakeError) ------------------------------------------------
def open_store(home: str = "") -> Store:
    """The store at ``home``; '' means the task's environment (``BLACKLAKE_HOME``,
    ``BLACKLAKE_STORAGE``, ``BLACKLAKE_CATALOG`` or the config file), as everywhere else."""
    from blacklake_ml.api import Store

    # Store.open is inherited from the service store; it builds ``cls``, i.e. the public one
    return cast("Store", Store.open(home or None))


def resolve(store: Store, uri: str) -> StoredRef:
    """Resolve ``uri`` (branch, tag or commit) to the exact stored file or directory."""
    parsed = BlacklakeURI.parse(uri)
    repo = store.repo(parsed.repo)
    commit = repo.resolve(parsed.ref)
    try:
        entry = repo.entry(commit, parsed.path)
    except PathNotFound:
        raise PathNotFound(f"{uri} does not exist (no {parsed.path!r} in {parsed.repo} at "
                           f"{parsed.ref}, commit {commit[:12]})") from None
    sha256 = None
    if not entry.is_dir:
        sha256 = str(repo.digests(commit, parsed.path)["sha256"])
    return StoredRef(source_uri=uri, repo=parsed.repo, ref=parsed.ref, commit=commit,
                     path=parsed.path, kind="directory" if entry.is_dir else "file",
                     object_id=entry.id, size=entry.size,
                     nfiles=entry.nfiles if entry.is_dir else 1, sha256=sha256)


def pull(store: Store, uri: str, dest: str | os.PathLike[str]) -> StoredRef:
    """Copy the file or directory ``uri`` names to ``dest`` (a file path, or a directory that
    must be empty or absent); returns what was copied, pinned."""
    ref = resolve(store, uri)
    repo = store.repo(ref.repo)
    out = Path(dest)
    if ref.kind == "directory":
        repo.checkout(ref.commit, out, path=ref.path)
    else:
        if out.is_dir():
            raise InvalidInput(f"{out} is a directory; a file URI needs a file destination")
        repo.get(ref.commit, ref.path, out)
    return ref


def _destination(store: Store, target: BlacklakeURI, raw_uri: str, local: Path) -> str:
    """The repository path a local file lands at, by the rules of ``blacklake put``: the URI
    path itself, or below it when it is the root, ends with '/' or is an existing directory."""
    if local.is_dir():
        return target.path
    if not target.path or raw_uri.endswith("/"):
        return join_path(target.path, local.name)
    repo = store.repo(target.repo)
    try:
        existing = repo.entry(repo.branch_head(target.ref), target.path)
    except PathNotFound:
        return target.path
    return join_path(target.path, local.name) if existing.is_dir else target.path


def push(store: Store, local: str | os.PathLike[str], uri: str, *, message: str,
         commit_meta: Mapping[str, Any] | None = None,
         file_meta: Mapping[str, Any] | None = None) -> StoredRef:
    """Commit a local file or directory to ``uri`` (its ref must be a branch); returns the
    stored result pinned to the new commit (or to the branch head if nothing changed)."""
    target = BlacklakeURI.parse(uri)
    src = Path(local)
    if not src.exists():
        raise PathNotFound(f"nothing to push: {src} does not exist (did the upstream task "
                           "write its output artifact?)")
    if src.is_dir() and not any(p.is_file() for p in src.rglob("*")):
        raise InvalidInput(f"nothing to push: the directory {src} holds no files")
    repo = store.repo(target.repo)
    dest = _destination(store, target, uri, src)
    result = repo.put(src, dest, branch=target.ref, message=message, meta=file_meta,
                      commit_meta=commit_meta)
    return resolve(store, str(BlacklakeURI(target.repo, result.commit, dest)))


def search(store: Store, query: str, *, k: int = 5, repo: str = "",
           filters: Sequence[str] = (), mode: str = "hybrid") -> list[str]:
    """URIs of the best ``k`` model/dataset cards for ``query``, best first."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("the search query is empty")
    if mode not in SEARCH_MODES:
        raise InvalidInput(f"unknown search mode {mode!r}; modes: {', '.join(SEARCH_MODES)}")
    if k < 1:
        raise InvalidInput("k must be at least 1")
    hits = store.search(query, k=k, repo=repo or None, filters=list(filters),
                        mode=mode)  # type: ignore[arg-type]  # checked against SEARCH_MODES
    return [h.uri for h in hits]


# -- task entry points (open the store, record lineage, fail with one line) -----------------
@contextmanager
def task_errors() -> Iterator[None]:
    """Turn a BlackLake error into a failed task with one clear line on stderr."""
    try:
        yield
    except BlacklakeError as exc:
        raise SystemExit(f"blacklake: {type(exc).__name__}: {exc}") from None


def _label(artifact: Any, producer: str | None = None) -> str:
    """A KFP artifact's lineage label: ``<producing task>/<output name>`` when we are the
    producer, else the output name (an input artifact does not say which task made it)."""
    name = getattr(artifact, "name", "") or "artifact"
    return f"{producer}/{name}" if producer else name


def task_pull(uri: str, artifact: Any, *, home: str, run_id: str, task: str,
              job_name: str = "") -> tuple[str, str]:
    """The pull components: ``uri`` -> the output artifact's files and metadata.

    Lineage: the stored input --consumed--> this task (and the pipeline run), this task
    --produced--> the KFP artifact. Returns ``(pinned URI, commit)``.
    """
    with task_errors():
        check_run_id(run_id)
        with open_store(home) as store:
            ref = pull(store, uri, artifact.path)
            artifact.metadata.update(ref.metadata())
            lineage = KfpLineage(store, run_id, task, job_name=job_name)
            lineage.record(inputs=[ref.pinned_uri], outputs=[artifact.uri],
                           labels={artifact.uri: _label(artifact, lineage.task)})
        print(f"pulled {ref.pinned_uri} ({ref.kind}, {ref.size} bytes) to {artifact.path}")
        return ref.pinned_uri, ref.commit


def task_push(artifact: Any, uri: str, out: Any, *, home: str, run_id: str, task: str,
              job_name: str = "", message: str = "",
              metadata: Mapping[str, Any] | None = None,
              repoint_uri: bool = False) -> tuple[str, str]:
    """The push components: input artifact -> a commit at ``uri``.

    Commit metadata: the input artifact's metadata (metrics...), ``metadata``, and
    ``kfp_run_id`` / ``kfp_task`` / ``kfp_job`` / ``kfp_artifact`` (which win on a clash).
    The output artifact gets BlackLake's metadata (pinned URI, commit, digest) and, as its
    file, the same as JSON (a pointer downstream tasks can read). ``repoint_uri`` makes its URI
    the pinned ``blacklake://`` URI instead, so KFP's UI links the commit; KFP launchers that
    only know their own storage schemes may refuse that, hence off by default.

    Lineage: the KFP artifact --consumed--> this task --produced--> the commit's file (also
    produced by the pipeline run). Returns ``(pinned URI, commit)``.
    """
    with task_errors():
        run_id = check_run_id(run_id)
        task_name = filled(task)
        user_meta = commit_metadata(artifact.metadata)
        user_meta.update(commit_metadata(metadata))
        kfp_meta = {"kfp_run_id": run_id, "kfp_artifact": artifact_uri(artifact.uri)}
        if task_name:
            kfp_meta["kfp_task"] = task_name
        job = filled(job_name)
        if job:
            kfp_meta["kfp_job"] = job
        commit_meta = {**user_meta, **kfp_meta}
        msg = message.strip() or f"KFP run {run_id}: {task_name or 'push'}"
        with open_store(home) as store:
            # a single file carries the metrics itself too (search cards read file metadata);
            # copying them onto every file of a directory would only add noise
            file_meta = user_meta if Path(artifact.path).is_file() else None
            ref = push(store, artifact.path, uri, message=msg, commit_meta=commit_meta,
                       file_meta=file_meta)
            lineage = KfpLineage(store, run_id, task, job_name=job_name)
            lineage.record(inputs=[artifact.uri], outputs=[ref.pinned_uri],
                           labels={artifact.uri: _label(artifact)})
        pointer = {**ref.metadata(), "kfp_run_id": run_id}
        if repoint_uri:
            out.uri = ref.pinned_uri
        else:
            with open(out.path, "w", encoding="utf-8") as f:
                json.dump(pointer, f, indent=1, sort_keys=True)
        out.metadata.update({**user_meta, **pointer})
        print(f"pushed {artifact.path} to {ref.pinned_uri}")
        return ref.pinned_uri, ref.commit


def task_record(step: str, inputs: Sequence[str], outputs: Sequence[str], *, home: str,
                run_id: str, job_name: str = "") -> str:
    """The record-lineage component: ``inputs`` --consumed--> step --produced--> ``outputs``
    under the pipeline run. Returns the step's lineage node key."""
    with task_errors():
        if not isinstance(step, str) or not step.strip():
            raise InvalidInput("record_lineage needs a step name")
        with open_store(home) as store:
            lineage = KfpLineage(store, run_id, step.strip(), job_name=job_name)
            added = lineage.record(inputs=list(inputs), outputs=list(outputs))
            key = lineage.task_node().key
        print(f"recorded {added} lineage edges for {key}")
        return key


def task_search(query: str, *, home: str, k: int, repo: str, filters: Sequence[str],
                mode: str, require_hit: bool) -> tuple[list[str], str]:
    """The search component: ``(URIs best first, best URI or '')``."""
    with task_errors():
        with open_store(home) as store:
            uris = search(store, query, k=k, repo=repo, filters=filters, mode=mode)
        if not uris and require_hit:
            raise NotFound(f"no model or dataset matches {query!r}"
                           + (f" in repository {repo!r}" if repo else ""))
        for uri in uris:
            print(uri)
        return uris, (uris[0] if uris else "")
