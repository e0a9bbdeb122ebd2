"""Opt-in batching: many MLflow logging calls, one commit per branch.

Without it every logging call is one commit as soon as it returns (``log_artifacts`` of a
directory and ``log_model`` are one call each, so one commit each). A loop that calls
``mlflow.log_artifact`` / ``log_dict`` / ``log_figure`` a hundred times would make a hundred
commits; inside ``with batch():`` those calls are staged instead and published as one commit
per branch when the block ends (also when it ends with an exception: what was logged stays
logged, as with MLflow's other stores)::

    with blacklake_ml.integrations.mlflow.batch():
        for epoch in range(100):
            mlflow.log_dict(report(epoch), f"reports/{epoch}.json")

The batch is process-wide (MLflow's async artifact logging runs on its own thread). Staged
files are copied right away (MLflow deletes its temporary files when the call returns).
Reading a branch that has staged writes (``list_artifacts``, downloads) publishes them first,
so a read always sees what was logged before it. Deletes are never staged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from blacklake_ml.integrations.mlflow.writes import Write, commit_writes, record_writes

if TYPE_CHECKING:
    from blacklake_ml.api import Store

_lock = threading.RLock()
_depth = 0
_tmp: str | None = None
_seq = 0
_pending: dict[tuple[int, str, str], tuple[Store, list[Write]]] = {}


@contextmanager
def batch() -> Iterator[None]:
    """Stage every ``blacklake://`` logging call inside the block; publish one commit per
    branch at its end. Nested blocks join the outermost one."""
    global _depth, _tmp
    with _lock:
        _depth += 1
        if _depth == 1:
            _tmp = tempfile.mkdtemp(prefix="blacklake-mlflow-batch-")
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                try:
                    flush()
                finally:
                    if _tmp is not None:
                        shutil.rmtree(_tmp, ignore_errors=True)
                    _tmp = None


def stage(store: Store, repo: str, branch: str, write: Write) -> bool:
    """Stage ``write`` if a batch is open (copying its local file/directory); False if not."""
    global _seq
    with _lock:
        if _depth == 0 or _tmp is None or write.local is None:
            return False
        _seq += 1
        copy = os.path.join(_tmp, str(_seq), os.path.basename(write.local.rstrip(os.sep)) or "d")
        if write.op == "log_artifacts":
            shutil.copytree(write.local, copy, symlinks=False)
        else:
            os.makedirs(os.path.dirname(copy))
            shutil.copyfile(write.local, copy)
        write.local = copy
        write.context.facts = None  # looked up again at flush: the run may log inputs meanwhile
        _pending.setdefault((id(store), repo, branch), (store, []))[1].append(write)
        return True


def has_pending(store: Store, repo: str, branch: str) -> bool:
    """True when writes to ``repo``/``branch`` are staged."""
    with _lock:
        return (id(store), repo, branch) in _pending


def flush(store: Store | None = None, repo: str | None = None,
          branch: str | None = None) -> list[str]:
    """Publish staged writes (all, or those of one store/repo/branch); returns the commits.

    Every branch is attempted; the first failure is raised after the others published."""
    commits = []
    failure: BaseException | None = None
    with _lock:
        keys = [k for k in _pending
                if (store is None or k[0] == id(store)) and (repo is None or k[1] == repo)
                and (branch is None or k[2] == branch)]
        for key in keys:
            st, writes = _pending.pop(key)
            try:
                result = commit_writes(st, key[1], key[2], writes)
            except Exception as exc:  # noqa: BLE001 - re-raised below, after the others
                failure = failure or exc
                continue
            record_writes(st, key[1], result.commit, writes)
            commits.append(result.commit)
    if failure is not None:
        raise failure
    return commits
