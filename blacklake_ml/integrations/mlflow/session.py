"""The store the MLflow plugins write to: opened once per process and configuration.

MLflow builds artifact repositories itself (one per run or logged model, cached by id) and
calls the plugins with nothing but a URI, so the bridge opens the store the way the CLI does:
:meth:`blacklake_ml.Store.open` with ``BLACKLAKE_HOME`` / ``BLACKLAKE_STORAGE`` /
``BLACKLAKE_CATALOG`` / the config file. A tracking server started with those variables (or a
config file) in its environment therefore writes to the same store as the users' clients.

Opening a store costs an engine, a marker read and the search listener, so stores are cached
by process id (a forked worker must not share SQLite connections with its parent) and by the
effective configuration (tests and notebooks that switch ``BLACKLAKE_HOME`` get the matching
store). :func:`use_store` pins an already open store for a block instead (a notebook's own
``Store`` object, a test's tmp store).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from blacklake_ml.api import Store

_lock = threading.Lock()
_stores: dict[tuple[object, ...], Store] = {}
#: stores pinned by use_store(), innermost last; process-wide (MLflow downloads on pool threads)
_pinned: list[Store] = []


def _key() -> tuple[object, ...]:
    from blacklake_ml.config import load_config

    cfg = load_config()
    return (os.getpid(), str(cfg.home), cfg.storage, cfg.catalog,
            json.dumps(cfg.storage_options, sort_keys=True, default=str))


def get_store() -> Store:
    """The store the MLflow bridge uses in this process (see the module docstring)."""
    if _pinned:
        return _pinned[-1]
    key = _key()
    with _lock:
        store = _stores.get(key)
        if store is None:
            from blacklake_ml.api import Store

            # Drop stores a forked child inherited: their connections belong to the parent.
            for stale in [k for k in _stores if k[0] != key[0]]:
                del _stores[stale]
            store = cast("Store", Store.open())
            _stores[key] = store
        return store


@contextmanager
def use_store(store: Store) -> Iterator[Store]:
    """Make the MLflow plugins use ``store`` inside the block (instead of the configured one)."""
    with _lock:
        _pinned.append(store)
    try:
        yield store
    finally:
        with _lock:
            _pinned.remove(store)


def close_stores() -> None:
    """Close every store this module opened (tests; a long-lived process never needs it)."""
    with _lock:
        stores = [s for k, s in _stores.items() if k[0] == os.getpid()]
        _stores.clear()
    for store in stores:
        store.close()
