"""The labelled search sets, and how each is split into dev and test.

Four sets, each written by a different author (see each set's README):

* ``zoo`` (``benchmarks/search_eval``): the first set. Ranking parameters were tuned on
  all of it before issue 12, so its figures are *not* unseen-data figures; it is reported,
  marked ``tuned``, and its dev half may be used for choosing parameters.
* ``harbor``, ``fieldwork`` (``benchmarks/search_sets/``): written independently of the code
  and of each other for issue 12 (a general Hugging Face zoo; science and industry).
  Parameters may be chosen on their **dev** halves only.
* ``storefront`` (``benchmarks/search_sets/storefront``): a third independent set that no
  choice is ever made on, dev half included -- the fresh check that what was chosen on the
  other sets carries over. Reported like the others.

Splits are decided by a hash of the query ids, stratified by query kind (within a kind,
queries in hash order alternate test, dev, ...), so nobody picks which queries land in test
and the file's order does not matter. Adding a query to a set can move others of its kind:
a set is frozen once its test figures have been reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from search_eval import dataset as ds

BENCH = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EvalSet:
    """One labelled set: where it lives and what may be fitted on it."""

    name: str
    root: Path
    #: "tuned" (parameters were fitted on it before), "dev-ok" (its dev half may be used to
    #: choose parameters) or "held-out" (never used for any choice)
    status: str

    def cards(self) -> dict[str, ds.Card]:
        """The set's cards by id."""
        return ds.load_cards(self.root)

    def queries(self) -> list[ds.Query]:
        """The set's queries in file order."""
        return ds.load_queries(self.root / "queries.jsonl")


SETS: dict[str, EvalSet] = {
    "zoo": EvalSet("zoo", BENCH / "search_eval", "tuned"),
    "harbor": EvalSet("harbor", BENCH / "search_sets" / "harbor", "dev-ok"),
    "fieldwork": EvalSet("fieldwork", BENCH / "search_sets" / "fieldwork", "dev-ok"),
    "storefront": EvalSet("storefront", BENCH / "search_sets" / "storefront", "held-out"),
}


def _rank_key(query_id: str) -> str:
    return hashlib.sha256(b"blacklake-search-split\0" + query_id.encode()).hexdigest()


def split(queries: Sequence[ds.Query], which: str) -> list[ds.Query]:
    """``all``, ``dev`` or ``test``: within each kind, queries ordered by a hash of their id
    alternate test, dev, test, ... (test gets the odd one), in file order afterwards."""
    if which == "all":
        return list(queries)
    if which not in ("dev", "test"):
        raise ValueError(f"unknown split {which!r}")
    picked: set[str] = set()
    for kind in {q.type for q in queries}:
        group = sorted((q for q in queries if q.type == kind), key=lambda q: _rank_key(q.id))
        picked.update(q.id for q in (group[0::2] if which == "test" else group[1::2]))
    return [q for q in queries if q.id in picked]
