"""The process-local registry of the reads the MLflow bridge noticed, by pinned URI.

One job: remember which pinned ``blacklake://`` URIs were read while a run was active (per
run) or with no run active (*ambient*), bounded, thread-safe. :mod:`.inputs` notices reads
into it (and explains when a read is noticed); :mod:`.recording` and the run-context provider
read it back. It knows nothing of stores or MLflow runs beyond their ids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from blacklake_ml.integrations.mlflow import tracking

MAX_AMBIENT = 256
MAX_PER_RUN = 1024

_lock = threading.Lock()
_ambient: OrderedDict[str, None] = OrderedDict()
_by_run: dict[str, OrderedDict[str, None]] = {}


def remember(pinned: str, run_id: str | None) -> None:
    """Remember a read of the pinned URI ``pinned`` (for ``run_id``, or ambient when None).
    Nothing is remembered inside ``mlflow server`` (it has no runs of its own)."""
    if tracking.in_tracking_server():
        return
    with _lock:
        if run_id is None:
            _ambient.pop(pinned, None)
            _ambient[pinned] = None
            while len(_ambient) > MAX_AMBIENT:
                _ambient.popitem(last=False)
        else:
            reads = _by_run.setdefault(run_id, OrderedDict())
            reads[pinned] = None
            while len(reads) > MAX_PER_RUN:
                reads.popitem(last=False)


def ambient() -> list[str]:
    """Pinned URIs read with no run active, oldest first."""
    with _lock:
        return list(_ambient)


def reads_of(run_id: str) -> list[str]:
    """Pinned URIs read while ``run_id`` was active in this process."""
    with _lock:
        return list(_by_run.get(run_id, ()))


def clear() -> None:
    """Forget every noticed read (ambient and per run)."""
    with _lock:
        _ambient.clear()
        _by_run.clear()
