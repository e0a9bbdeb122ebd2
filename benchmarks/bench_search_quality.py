"""Search quality on the labelled evaluation set: nDCG@10 / Recall@5 for BM25, dense, hybrid.

The evaluation set lives in ``benchmarks/search_eval/`` (see its README): ~125 Hugging Face
style model directories and 10 dataset cards, and ~70 queries with graded judgments of five
types — ``keyword`` (shares distinctive terms with the card), ``paraphrase`` (shares no content
word with its target cards), ``facet`` (filters are part of the need), ``mixed`` (natural
researcher questions) and ``no_answer`` (nothing in the zoo is relevant).

All cards go into one fresh store, one commit (``models/<id>`` and ``datasets/<id>`` in repo
``zoo``); then every query runs through ``store.search(query, k=10, filters=..., mode=m)`` for
m in bm25, dense, hybrid. Hit paths are mapped to asset ids (a hit on ``models/<org>/<name>``
or any file below it is that asset; several hits on one asset count once, at the first rank;
hits outside the zoo count as irrelevant).

Reported per mode and query type: mean nDCG@10 (gain 2^grade - 1, log2 discount, ideal from the
judgments) and Recall@5 (share of grade >= 1 items in the top 5) over answerable queries; for
no-answer queries the abstention rate (share returning no hit), and for answerable queries the
share wrongly returning nothing. Target: hybrid beats both BM25 and dense on overall nDCG@10
AND Recall@5; the script exits 2 when it does not (``--no-fail``: exit 0, verdict in the JSON).

Writes ``benchmarks/results/search_quality.json`` (per-query rankings included) and prints, as
its last line, one JSON document with the headline figures.

    python benchmarks/bench_search_quality.py [--split dev|test] [--per-query] [--no-fail]
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import _common as c
from search_eval import dataset as ds
from search_eval import metrics as m

MODES = ("bm25", "dense", "hybrid")
RESULTS = Path(__file__).resolve().parent / "results" / "search_quality.json"


# -- the store ------------------------------------------------------------------------------
def build_store(home: Path, cards: Mapping[str, ds.Card]) -> tuple[Any, dict[str, Any]]:
    """A fresh store in ``home`` holding the whole zoo in repo ``zoo`` (one commit).

    Returns the open store and build figures (seconds to commit, seconds to index, and the
    index's card count when the store can report it).
    """
    from blacklake_ml import Store

    store = Store.open(home)
    repo = store.create_repo("zoo", description="search evaluation zoo")
    kinds = {card.kind for card in cards.values()}
    t0 = time.perf_counter()
    with repo.transaction("main", "add evaluation zoo") as tx:
        for kind in sorted(kinds):
            sub = ds.KIND_DIRS[kind]
            tx.put_dir(ds.HERE / sub, sub)
    commit_s = time.perf_counter() - t0
    info: dict[str, Any] = {"commit_s": commit_s, "files": tx.result.files if tx.result else None}
    t0 = time.perf_counter()
    reindex = getattr(store, "reindex", None)
    if callable(reindex):  # make sure indexing is done before the first timed query
        report = reindex()
        if isinstance(report, Mapping):
            info["indexed_cards"] = report.get("cards")
    info["index_s"] = time.perf_counter() - t0
    return store, info


def asset_of(path: str, cards: Mapping[str, ds.Card]) -> str:
    """The zoo asset id a hit path belongs to, or the path itself if it is none of them."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3:
        cid = f"{parts[1]}/{parts[2]}"
        card = cards.get(cid)
        if card is not None and ds.KIND_DIRS[card.kind] == parts[0]:
            return cid
    return path


def run_queries(store: Any, queries: Sequence[ds.Query], cards: Mapping[str, ds.Card],
                mode: str, k: int) -> dict[str, dict[str, Any]]:
    """``{query id: {"ranking": [asset ids], "scores": [...], "ms": latency}}`` for one mode."""
    out: dict[str, dict[str, Any]] = {}
    for q in queries:
        t0 = time.perf_counter()
        hits = store.search(q.query, k=k, filters=dict(q.filters) or None, mode=mode)
        ms = 1000 * (time.perf_counter() - t0)
        ranking = m.dedupe(asset_of(h.path, cards) for h in hits)
        out[q.id] = {"ranking": ranking, "scores": [round(float(h.score), 6) for h in hits],
                     "ms": ms}
    return out


# -- scoring --------------------------------------------------------------------------------
def score_query(q: ds.Query, ranking: Sequence[str], k: int, recall_k: int) -> dict[str, Any]:
    """Per-query figures: nDCG/recall when answerable, abstention otherwise."""
    row: dict[str, Any] = {"hits": len(ranking), "abstained": m.abstained(ranking)}
    if q.answerable:
        row["ndcg"] = m.ndcg_at_k(ranking, q.relevant, k)
        row["recall"] = m.recall_at_k(ranking, q.relevant, recall_k)
    return row


def summarise(queries: Sequence[ds.Query], scored: Mapping[str, Mapping[str, Any]]
              ) -> dict[str, Any]:
    """Means by query type and overall (answerable queries), plus abstention figures."""
    out: dict[str, Any] = {}
    answerable = [q for q in queries if q.answerable]
    for t in ds.QUERY_TYPES:
        group = [q for q in answerable if q.type == t]
        if group:
            out[t] = {"n": len(group),
                      "ndcg": m.mean(scored[q.id]["ndcg"] for q in group),
                      "recall": m.mean(scored[q.id]["recall"] for q in group)}
    out["overall"] = {"n": len(answerable),
                      "ndcg": m.mean(scored[q.id]["ndcg"] for q in answerable),
                      "recall": m.mean(scored[q.id]["recall"] for q in answerable)}
    unanswerable = [q for q in queries if not q.answerable]
    out["no_answer"] = {"n": len(unanswerable),
                        "abstention_rate": m.mean(float(scored[q.id]["abstained"])
                                                  for q in unanswerable),
                        "mean_hits": m.mean(scored[q.id]["hits"] for q in unanswerable)}
    out["answerable_empty_rate"] = m.mean(float(scored[q.id]["abstained"]) for q in answerable)
    return out


def overlap_report(queries: Sequence[ds.Query], cards: Mapping[str, ds.Card]
                   ) -> dict[str, dict[str, list[str]]]:
    """For paraphrase queries: content words shared with each judged card (grade >= 1).

    By construction grade-3 cards share none (the dataset test enforces it); grade 1-2 cards
    may.
    """
    return {q.id: {cid: sorted(ds.shared_words(q.query, cards[cid]))
                   for cid, g in q.relevant.items() if g >= 1}
            for q in queries if q.type == "paraphrase"}


def split_queries(queries: Sequence[ds.Query], split: str) -> list[ds.Query]:
    """``all``, or a stratified half: within each type in file order, ``dev`` takes the 1st,
    3rd, 5th... query and ``test`` the others (so parameters can be tuned on one half and
    reported on the other)."""
    if split == "all":
        return list(queries)
    out: list[ds.Query] = []
    for t in ds.QUERY_TYPES:
        group = [q for q in queries if q.type == t]
        out += group[0::2] if split == "dev" else group[1::2]
    return sorted(out, key=lambda q: queries.index(q))


# -- output ---------------------------------------------------------------------------------
def print_tables(summary: Mapping[str, Mapping[str, Any]], k: int, recall_k: int) -> None:
    """The per-type table (one row per query type, nDCG and recall per mode)."""
    rows = []
    for t in [*ds.QUERY_TYPES, "overall"]:
        if t == "no_answer" or t not in summary["hybrid"]:
            continue
        row: list[Any] = [t, summary["hybrid"][t]["n"]]
        for mode in MODES:
            row += [summary[mode][t]["ndcg"], summary[mode][t]["recall"]]
        rows.append(row)
    headers = ["queries", "n"]
    for mode in MODES:
        headers += [f"{mode} nDCG@{k}", f"{mode} R@{recall_k}"]
    c.table(rows, headers, "search quality by query type (answerable queries)")
    rows = [[mode, summary[mode]["no_answer"]["n"], summary[mode]["no_answer"]["abstention_rate"],
             summary[mode]["no_answer"]["mean_hits"], summary[mode]["answerable_empty_rate"]]
            for mode in MODES]
    c.table(rows, ["mode", "no-answer queries", "abstention rate", "mean hits",
                   "answerable returning nothing"], "queries with no answer")


def print_per_query(queries: Sequence[ds.Query], scored: Mapping[str, Mapping[str, Any]],
                    runs: Mapping[str, Mapping[str, Any]]) -> None:
    """One line per query and mode: figures and the top 3 asset ids with their grades."""
    for q in queries:
        print(f"\n{q.id} [{q.type}] {q.query!r}" + (f" filters={q.filters}" if q.filters else ""))
        for mode in MODES:
            s = scored[mode][q.id]
            top = ", ".join(f"{cid}({q.relevant.get(cid, 0)})"
                            for cid in runs[mode][q.id]["ranking"][:3]) or "-"
            fig = (f"nDCG={s['ndcg']:.2f} R={s['recall']:.2f}" if q.answerable
                   else f"hits={s['hits']}")
            print(f"  {mode:6} {fig:20} {top}")


def main() -> int:
    """Run the benchmark; print tables and one JSON line; exit 2 if hybrid does not win."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("-k", type=int, default=10, help="results per query and nDCG cut-off")
    p.add_argument("--recall-k", type=int, default=5, help="cut-off for recall")
    p.add_argument("--split", choices=("all", "dev", "test"), default="all",
                   help="evaluate a stratified half of the queries (tune on dev, report test)")
    p.add_argument("--per-query", action="store_true", help="print every query's top hits")
    p.add_argument("--out", default=str(RESULTS), help="where to write the full results JSON")
    p.add_argument("--no-fail", action="store_true",
                   help="exit 0 even when hybrid does not beat both (verdict is in the JSON)")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedding model must be installed
    c.print_load("at start")

    cards = ds.load_cards()
    all_queries = ds.load_queries()
    unknown = sorted({cid for q in all_queries for cid in q.relevant} - set(cards))
    if unknown:
        print(f"error: queries judge unknown assets: {', '.join(unknown)}", file=sys.stderr)
        return 1
    queries = split_queries(all_queries, args.split)
    n_models = sum(card.kind == "model" for card in cards.values())
    print(f"# {n_models} model cards, {len(cards) - n_models} dataset cards, "
          f"{len(queries)} queries ({args.split})", flush=True)

    with c.workdir(args, "search-quality") as wd:
        store, build = build_store(wd / "home", cards)
        try:
            if not callable(getattr(store, "search", None)):
                print("error: this Store has no search() yet", file=sys.stderr)
                return 1
            print(f"# committed {build.get('files')} files in {build['commit_s']:.1f} s, "
                  f"indexed in {build['index_s']:.1f} s"
                  + (f" ({build['indexed_cards']} cards)" if build.get("indexed_cards")
                     is not None else ""), flush=True)
            if build.get("indexed_cards") is not None and build["indexed_cards"] < len(cards):
                print(f"# WARNING: {len(cards) - build['indexed_cards']} of {len(cards)} zoo "
                      "assets are not in the index", flush=True)
            # warm-up (model loading) outside the per-query latencies
            store.search("warm-up", k=1, mode="hybrid")
            runs = {mode: run_queries(store, queries, cards, mode, args.k) for mode in MODES}
        finally:
            store.close()

    scored = {mode: {q.id: score_query(q, runs[mode][q.id]["ranking"], args.k, args.recall_k)
                     for q in queries} for mode in MODES}
    summary = {mode: summarise(queries, scored[mode]) for mode in MODES}
    for mode in MODES:
        summary[mode]["latency_ms_p50"] = c.percentile(
            [r["ms"] for r in runs[mode].values()], 50)

    if args.per_query:
        print_per_query(queries, scored, runs)
    print_tables(summary, args.k, args.recall_k)

    hyb = summary["hybrid"]["overall"]
    wins = {f"{metric}_vs_{other}": hyb[metric] > summary[other]["overall"][metric]
            for metric in ("ndcg", "recall") for other in ("bm25", "dense")}
    ok = all(wins.values())
    print(f"\nhybrid nDCG@{args.k} {hyb['ndcg']:.3f} (bm25 {summary['bm25']['overall']['ndcg']:.3f}"
          f", dense {summary['dense']['overall']['ndcg']:.3f}); Recall@{args.recall_k} "
          f"{hyb['recall']:.3f} (bm25 {summary['bm25']['overall']['recall']:.3f}, dense "
          f"{summary['dense']['overall']['recall']:.3f}) — hybrid beats both: {c.verdict(ok)}")
    c.print_load("at end")

    per_query = {q.id: {"query": q.query, "type": q.type, "filters": q.filters,
                        **{mode: {**scored[mode][q.id], "ranking": runs[mode][q.id]["ranking"],
                                  "scores": runs[mode][q.id]["scores"]} for mode in MODES}}
                 for q in queries}
    full = {"benchmark": "search_quality", "split": args.split, "k": args.k,
            "recall_k": args.recall_k, "cards": len(cards), "models": n_models,
            "queries": len(queries), "build": build, "summary": summary, "wins": wins,
            "pass": ok, "paraphrase_overlap": overlap_report(queries, cards),
            "per_query": per_query, "env": c.environment()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(full, indent=2, default=str) + "\n")
    print(f"# written: {out}")
    c.emit({"benchmark": "search_quality", "split": args.split, "queries": len(queries),
            "ndcg": {mode: summary[mode]["overall"]["ndcg"] for mode in MODES},
            "recall": {mode: summary[mode]["overall"]["recall"] for mode in MODES},
            "abstention": {mode: summary[mode]["no_answer"]["abstention_rate"] for mode in MODES},
            "by_type": {mode: {t: v for t, v in summary[mode].items()
                               if t in ds.QUERY_TYPES} for mode in MODES},
            "wins": wins, "target": "hybrid > bm25 and > dense on nDCG@10 and Recall@5",
            "pass": ok, "env": c.environment()})
    return 0 if ok or args.no_fail else 2


if __name__ == "__main__":
    sys.exit(main())
