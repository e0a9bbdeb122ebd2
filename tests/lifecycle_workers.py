"""Child-process code of the lifecycle concurrency tests (kept apart so ``spawn`` imports
only this, helpers and blacklake_ml). Results go through a queue as plain tuples; any
exception is reported as ``("error", worker, traceback text)``."""

from __future__ import annotations

import traceback
from typing import Any

from helpers import StoreSpec


def alias_cas_mover(spec: StoreSpec, wid: int, queue: Any, barrier: Any, rounds: int,
                    target: str) -> None:
    """``rounds`` times: read alias ``champion``, then move it to ``target`` by CAS.

    Reports ``("won", wid, from_commit)`` or ``("lost", wid, from_commit)`` per round.
    """
    from blacklake_ml.errors import RefConflict

    try:
        store = spec.open()
        try:
            repo = store.repo("model")
            barrier.wait(120)
            for _ in range(rounds):
                seen = repo.resolve("champion")
                # Move to our target, or away from it to "base" when we are already there,
                # so every round is a real move that can race the other writers.
                dest = target if seen != repo.resolve(target) else "base"
                try:
                    repo.lifecycle.set_alias("champion", dest, expected=seen, reason=f"w{wid}")
                    queue.put(("won", wid, seen))
                except RefConflict:
                    queue.put(("lost", wid, seen))
        finally:
            store.close()
        queue.put(("done", wid))
    except BaseException:  # noqa: BLE001 - reported to the parent
        queue.put(("error", wid, traceback.format_exc()))
