"""Ranking metrics for the search evaluation: nDCG@k, Recall@k, abstention, averages.

All functions are pure. A *ranking* is a sequence of asset ids, best first; *judgments* map
asset ids to graded relevance 0..3 (ids not listed count as 0). Duplicate ids in a ranking
(several hits resolving to the same asset) count only at their first position — see
:func:`dedupe`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def dedupe(ranking: Iterable[T]) -> list[T]:
    """``ranking`` without repeats, each item kept at its first position."""
    seen: set[T] = set()
    out: list[T] = []
    for item in ranking:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def gain(grade: int) -> float:
    """Exponential gain of a relevance grade: ``2**grade - 1`` (0 for grade <= 0)."""
    return float(2 ** grade - 1) if grade > 0 else 0.0


def dcg(grades: Sequence[int]) -> float:
    """Discounted cumulative gain of grades in rank order (rank 1 first).

    ``sum((2**g - 1) / log2(rank + 1))`` — rank 1 is not discounted.
    """
    return sum(gain(g) / math.log2(i + 2) for i, g in enumerate(grades))


def ndcg_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k of ``ranking`` against graded ``judgments``.

    The ideal ranking is all judged ids sorted by grade, cut at ``k``. Raises
    ``ValueError`` when nothing is judged relevant (nDCG is undefined; such queries are
    scored by :func:`abstained` instead).
    """
    if k <= 0:
        raise ValueError("k must be positive")
    ideal = dcg(sorted((g for g in judgments.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        raise ValueError("no relevant items: nDCG is undefined")
    got = [judgments.get(item, 0) for item in dedupe(ranking)[:k]]
    return dcg(got) / ideal


def recall_at_k(ranking: Sequence[str], judgments: Mapping[str, int], k: int = 5,
                min_grade: int = 1) -> float:
    """Fraction of the items with grade >= ``min_grade`` that appear in the top ``k``.

    Raises ``ValueError`` when no item reaches ``min_grade``.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    relevant = {item for item, g in judgments.items() if g >= min_grade}
    if not relevant:
        raise ValueError("no relevant items: recall is undefined")
    found = relevant.intersection(dedupe(ranking)[:k])
    return len(found) / len(relevant)


def abstained(ranking: Sequence[str]) -> bool:
    """Whether the engine returned nothing (the right answer to a no-answer query)."""
    return len(ranking) == 0


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; NaN for no values (so empty groups are visible, not zero)."""
    xs = list(values)
    return sum(xs) / len(xs) if xs else float("nan")


__all__ = ["abstained", "dcg", "dedupe", "gain", "mean", "ndcg_at_k", "recall_at_k"]
