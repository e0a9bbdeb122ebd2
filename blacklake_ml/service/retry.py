"""Retrying a ref update that lost a compare-and-swap race (commits, merges, alias moves)."""

from __future__ import annotations

import random
import time

#: lost races tolerated before giving up (each retry rebases or recomputes first)
MAX_ATTEMPTS = 50


def backoff(attempt: int) -> None:
    """Sleep a little, more after repeated lost races (jittered)."""
    time.sleep(min(0.5, 0.005 * (2 ** min(attempt, 7))) * random.random())
