"""What a run read through BlackLake: a process-local registry of pinned inputs.

A read is *noticed* when it goes through the bridge, and only then:

* :func:`use` — ``use("blacklake://data/main/train.csv")`` pins the URI to its commit,
  remembers it and returns the pinned URI to read from;
* the dataset source — ``mlflow.data.from_pandas(df, source="blacklake://…")``,
  :func:`blacklake_ml.integrations.mlflow.dataset` and ``log_input``;
* downloads through the artifact repository — ``mlflow.artifacts.download_artifacts`` or
  ``mlflow.pyfunc.load_model`` on a ``blacklake://`` URI (not a run re-reading its own
  artifacts or a model it logged itself).

Plain ``blacklake_ml.open`` / ``Repo.get`` are not noticed (the store knows nothing about
MLflow); pass their URI through :func:`use` first.

A read while a run is active (in this thread) belongs to that run: the run's
``blacklake.inputs`` tag is updated at once and ``input --consumed--> run`` recorded. A read
with no active run is *ambient*: the run-context provider tags every run started later in
this process with all ambient reads (a notebook that loads its data once and then trains
several runs), and their lineage is recorded when the run next touches BlackLake (logs an
artifact to a ``blacklake://`` location, calls :func:`use` / ``log_input``) or on
:func:`sync_run`. :func:`clear_inputs` forgets the ambient reads (start a fresh
experiment in the same process). The registry keeps at most :data:`MAX_AMBIENT` ambient
reads, oldest dropped, and is not used inside ``mlflow server`` (it has no runs of its own);
it lives in :mod:`.reads`, which :mod:`.recording` reads too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import PathNotFound
from blacklake_ml.integrations.mlflow import reads, recording, tracking

if TYPE_CHECKING:
    from blacklake_ml.api import Store

_log = logging.getLogger(__name__)
MAX_AMBIENT = reads.MAX_AMBIENT
MAX_PER_RUN = reads.MAX_PER_RUN


@dataclass(frozen=True)
class PinnedInput:
    """A ``blacklake://`` URI resolved to the commit it named when it was read."""

    uri: str
    pinned: str
    repo: str
    commit: str
    path: str
    #: "file", "directory" or "commit" (the root)
    kind: str
    #: content id of the file or directory
    object_id: str
    size: int
    #: SHA-256 of a file's bytes (None for a directory)
    sha256: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON document (the dataset source carries these fields)."""
        return {"uri": self.pinned, "requested_uri": self.uri, "repo": self.repo,
                "commit": self.commit, "path": self.path, "kind": self.kind,
                "object_id": self.object_id, "size": self.size, "sha256": self.sha256}


def pin(store: Store, uri: str) -> PinnedInput:
    """Resolve ``uri`` to its commit; :class:`~blacklake_ml.errors.PathNotFound` /
    ``RefNotFound`` / ``RepoNotFound`` / ``InvalidURI`` if it names nothing."""
    u = BlacklakeURI.parse(uri)
    repo, commit, path = store.resolve_uri(u)
    try:
        entry = repo.entry(commit, path)
    except PathNotFound:
        raise PathNotFound(f"{uri}: no such file or directory in {u.repo} at {u.ref}") \
            from None
    sha = None
    if not entry.is_dir:
        sha = repo.digests(commit, path)["sha256"]  # cached after the first request
    kind = "commit" if not path else ("directory" if entry.is_dir else "file")
    return PinnedInput(uri=uri, pinned=str(BlacklakeURI(repo.name, commit, path)),
                       repo=repo.name, commit=commit, path=path, kind=kind,
                       object_id=entry.id, size=entry.size, sha256=sha)


def notice(inp: PinnedInput, run_id: str | None) -> None:
    """Remember a read (for ``run_id``, or ambient when None)."""
    reads.remember(inp.pinned, run_id)


#: pinned URIs read with no run active, oldest first; and those read while a run was active
ambient = reads.ambient
reads_of = reads.reads_of


def clear_inputs() -> None:
    """Forget every noticed read (ambient and per run)."""
    reads.clear()


def use(uri: str, *, store: Store | None = None, tracking_uri: str | None = None) -> str:
    """Pin ``uri`` to its commit, record it as an input and return the pinned URI.

    With an active MLflow run the run's ``blacklake.inputs`` tag is updated and
    ``input --consumed--> run`` is recorded now; otherwise every run started later in this
    process is tagged with it (see the module docstring).
    """
    from blacklake_ml.integrations.mlflow.session import get_store

    st = store or get_store()
    inp = pin(st, uri)
    run_id = tracking.active_run_id()
    notice(inp, run_id)
    if run_id is not None:
        sync_run(run_id, store=st, tracking_uri=tracking_uri)
    return inp.pinned


def sync_run(run_id: str, *, store: Store | None = None,
             tracking_uri: str | None = None) -> list[str]:
    """Bring run ``run_id`` up to date with what it read: its ``blacklake.inputs`` tag
    lists the ambient reads and its own, and ``input --consumed--> run`` is recorded for
    those plus its ``blacklake://`` datasets (``log_input``). Returns the input URIs."""
    from blacklake_ml.integrations.mlflow.session import get_store

    st = store or get_store()
    facts = tracking.run_facts(run_id, tracking_uri)
    mine = reads_of(run_id)
    tagged = list(dict.fromkeys([*facts.tagged_inputs, *mine]))
    if mine and tagged != facts.tagged_inputs:
        with tracking.translated(f"cannot tag MLflow run {run_id}"):
            c = tracking.client(tracking_uri)
            for key, value in tracking.inputs_tag(tagged).items():
                c.set_tag(run_id, key, value)
        facts.tagged_inputs = tagged
    return recording.record_run(st, facts)
