"""Choose ranking parameters on the dev halves only (issue 12), by cross-validation.

Builds one store per set that allows it (``zoo``, ``harbor``, ``fieldwork``: see
``search_eval/sets.py``; never ``storefront``, never a test half), then scores a grid of
:class:`~blacklake_ml.search.engine.SearchParams` on the dev queries. The objective per set is
the dev goal of issue 12 made smooth: mean nDCG@10 of answerable queries, plus the abstention
rate on no-answer queries weighted by ``--abstain-weight``, minus 2 x the share of answerable
queries returning nothing. Reported: for each grid point, the objective on each set; the
leave-one-set-out choice (the point best on the other sets, scored on the left-out one) shows
whether a choice carries over; and the point best on the mean of all dev sets, which is what
the defaults should be set to.

    python benchmarks/tune_search.py [--grid small|full] [--top 10]
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _common as c
import bench_search_quality as bench
from search_eval import dataset as ds
from search_eval import metrics as m
from search_eval import sets

TUNABLE_SETS = [name for name, es in sets.SETS.items() if es.status != "held-out"]

GRIDS: dict[str, dict[str, Sequence[Any]]] = {
    "small": {"keyword_weight": [0.15, 0.25, 0.35], "min_score": [0.38, 0.42, 0.46],
              "lineage_weight": [0.15, 0.25], "language_weight": [0.05, 0.1]},
    "wide": {"keyword_weight": [0.35, 0.5, 0.7, 1.0], "min_score": [0.26, 0.3, 0.34, 0.38],
             "lineage_weight": [0.25, 0.4], "anchor_penalty": [0.15, 0.3]},
    "floor": {"min_score": [0.3, 0.33, 0.36, 0.4, 0.45], "hit_floor": [0.0, 0.15, 0.2, 0.25, 0.3, 0.33]},
    "kind": {"kind_weight": [0.0, 0.05, 0.1, 0.15, 0.2, 0.3], "min_score": [0.3, 0.33, 0.36]},
    "full": {"keyword_weight": [0.1, 0.2, 0.3, 0.4], "min_score": [0.34, 0.38, 0.42, 0.46, 0.5],
             "lineage_weight": [0.1, 0.2, 0.3], "language_weight": [0.0, 0.05, 0.1],
             "license_weight": [0.0, 0.05, 0.1], "anchor_penalty": [0.0, 0.15, 0.3]},
}


def objective(queries: Sequence[ds.Query], rankings: dict[str, list[str]], k: int,
              abstain_weight: float) -> float:
    """Mean nDCG@k (answerable) + abstain_weight x no-answer abstention - 2 x empty rate."""
    ans = [q for q in queries if q.answerable]
    na = [q for q in queries if not q.answerable]
    ndcg = m.mean(m.ndcg_at_k(rankings[q.id], q.relevant, k) for q in ans)
    empty = m.mean(float(not rankings[q.id]) for q in ans)
    abst = m.mean(float(not rankings[q.id]) for q in na) if na else 0.0
    return ndcg + abstain_weight * abst - 2.0 * empty


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--grid", choices=sorted(GRIDS), default="small")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--abstain-weight", type=float, default=0.15)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from blacklake_ml.search.engine import SearchParams

    grid = GRIDS[args.grid]
    points = [dict(zip(grid, vals)) for vals in itertools.product(*grid.values())]
    print(f"# {len(points)} grid points on the dev halves of {', '.join(TUNABLE_SETS)}")
    table: dict[str, list[float]] = {}
    with c.workdir(args, "tune-search") as wd:
        for name in TUNABLE_SETS:
            es = sets.SETS[name]
            cards = es.cards()
            dev = sets.split(es.queries(), "dev")
            staged = bench.stage(cards, wd / f"src-{name}")
            store, _ = bench.build_store(wd / f"home-{name}", cards, staged)
            try:
                store.search("warm-up", k=1)
                vals = []
                for pt in points:
                    searcher = store.searcher(dataclasses.replace(SearchParams(), **pt))
                    rankings = {q.id: m.dedupe(bench.asset_of(h.path, cards) for h in
                                               searcher.search(q.query, k=10,
                                                               filters=dict(q.filters) or None))
                                for q in dev}
                    vals.append(objective(dev, rankings, 10, args.abstain_weight))
                table[name] = vals
            finally:
                store.close()
            print(f"# {name}: scored", flush=True)
    mean = [sum(table[n][i] for n in TUNABLE_SETS) / len(TUNABLE_SETS)
            for i in range(len(points))]
    order = sorted(range(len(points)), key=lambda i: -mean[i])
    rows = [[*(points[i][k] for k in grid), *(table[n][i] for n in TUNABLE_SETS), mean[i]]
            for i in order[:args.top]]
    c.table(rows, [*grid, *TUNABLE_SETS, "mean"], "best grid points (dev objective)")
    for left in TUNABLE_SETS:
        others = [n for n in TUNABLE_SETS if n != left]
        pick = max(range(len(points)), key=lambda i: sum(table[n][i] for n in others))
        print(f"leave out {left}: chosen on {'+'.join(others)} {points[pick]} -> {left} "
              f"{table[left][pick]:.3f} (best possible {max(table[left]):.3f})")
    c.emit({"benchmark": "tune_search", "best": points[order[0]], "mean": mean[order[0]],
            "sets": TUNABLE_SETS})
    return 0


if __name__ == "__main__":
    sys.exit(main())
