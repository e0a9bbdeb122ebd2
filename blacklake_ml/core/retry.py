"""Retrying a compare-and-swap that lost a race (commits, merges, alias moves, lineage keys).

Every write that moves a ref does so by compare-and-swap (``UPDATE … WHERE commit_id =
expected``): when a concurrent writer got there first the swap fails, and the writer must
look again (rebase its change set, recompute its merge, re-read the alias) before trying
once more. :func:`retry_cas` owns that loop, after lakeFS's ``retryBranchUpdate``; each
caller supplies one attempt, which returns :data:`LOST` when its swap lost the race (having
done whatever it must before the next attempt), and the error to raise when it gives up.

Pure standard library: the catalog layer uses it as well as the service layer.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

T = TypeVar("T")

#: lost races tolerated before giving up (each retry rebases or recomputes first)
MAX_ATTEMPTS = 50


class Lost(enum.Enum):
    """The type of :data:`LOST` (a distinct sentinel: ``None`` is a valid result)."""

    RACE = "lost race"


#: what an attempt returns when its compare-and-swap lost the race: try again
LOST: Final = Lost.RACE


def backoff(attempt: int) -> None:
    """Sleep a little, more after repeated lost races (jittered, at most 0.5 s)."""
    time.sleep(min(0.5, 0.005 * (2 ** min(attempt, 7))) * random.random())


def retry_cas(attempt: Callable[[], T | Lost], *, give_up: Callable[[], BaseException],
              attempts: int = MAX_ATTEMPTS,
              wait: Callable[[int], object] | None = backoff) -> T:
    """Call ``attempt()`` until it returns something other than :data:`LOST`; return that.

    ``attempt`` reports a lost race by returning :data:`LOST`, after doing what the next
    try needs (rebasing onto the new head, say); anything it raises propagates at once,
    unretried. Between tries ``wait(n)`` is called, ``n`` counting lost races from 0
    (:func:`backoff` by default; ``None`` retries at once). After ``attempts`` lost races
    the exception ``give_up()`` returns is raised.
    """
    for n in range(attempts):
        result = attempt()
        if not isinstance(result, Lost):
            return result
        if wait is not None and n + 1 < attempts:  # no point sleeping before giving up
            wait(n)
    raise give_up()
