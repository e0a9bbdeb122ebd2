"""Run blocking store calls off the server's event loop, one at a time.

The store (SQLAlchemy, file and object-store I/O, the embedding model on the first search)
blocks, so handlers never call it on the IOLoop. One :class:`StoreRunner` per server owns a
single worker thread and the one :class:`~blacklake_ml.Store` it opens lazily there; calls are
serialised on that thread, which keeps the store's connections and caches single-threaded
(simple and safe) while the event loop stays free for other requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from blacklake_ml.api import Store

T = TypeVar("T")
_log = logging.getLogger(__name__)


class StoreRunner:
    """Owns the worker thread and the store opened on it (by ``opener``, on first use)."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._store: Store | None = None
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="blacklake-store")

    def _store_now(self) -> Store:
        if self._closed:
            raise RuntimeError("the BlackLake store runner is closed")
        if self._store is None:
            # A failure propagates to the caller; the next call tries again (e.g. after the
            # user fixed their configuration).
            self._store = self._opener()
        return self._store

    def _invoke(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
                ) -> T:
        return fn(self._store_now(), *args, **kwargs)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(store, *args, **kwargs)`` on the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._invoke, fn, args, kwargs)

    @property
    def opened(self) -> bool:
        """Whether the store has been opened."""
        return self._store is not None

    def _close_store(self) -> None:
        store, self._store = self._store, None
        self._closed = True
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - shutting down: log and go on
                _log.warning("closing the BlackLake store failed", exc_info=True)

    def close(self) -> None:
        """Close the store on its own thread, then stop the thread (waits for running calls)."""
        if self._executor is None:
            return
        try:
            self._executor.submit(self._close_store).result()
        except RuntimeError:  # executor already shut down
            pass
        self._executor.shutdown(wait=True)
