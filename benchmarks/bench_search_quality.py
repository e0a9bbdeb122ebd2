"""Search quality on every labelled set: nDCG@10 / Recall@5 for BM25, dense and hybrid.

The sets (``search_eval/sets.py``): ``zoo`` (``benchmarks/search_eval``, the first set, which
ranking was once tuned on: marked ``tuned``), and three written independently of the code and
of each other for issue 12 -- ``harbor`` and ``fieldwork`` (parameters may be chosen on their
dev halves only) and ``storefront`` (held out: no choice is ever made on it). Every set is
split into dev and test by a hash of the query id, stratified by query kind.

Each set goes into its own fresh store as an end user's would: ``models/<id>`` and
``datasets/<id>`` in repo ``zoo``, one commit, every model folder holding its ``README.md``,
``config.json`` and a tiny ``model.safetensors``. Every query runs through
``store.search(query, k=10, mode=m)`` for m in bm25, dense, hybrid -- queries are plain text,
as typed into ``blacklake search`` (the zoo's few structured ``filters`` are passed too). Two
reference rankers run over the same cards in the same run: ``ref_bm25`` (rank_bm25's Okapi
BM25 over each card's whole README) and ``ref_dense`` (all-MiniLM-L6-v2, the same weights,
over each README, cosine). A hit on ``models/<org>/<name>`` or below is that asset; several
hits on one asset count once, at the first rank.

Goals (issue 12), checked on every set's **test** split:

* hybrid overall nDCG@10 >= the best single ranker (bm25, dense, ref_bm25, ref_dense) + 0.05;
* per query kind, hybrid >= the best single ranker of that kind;
* >= 2/3 of no-answer queries return nothing, <= 5% of answerable queries return nothing.

Writes ``benchmarks/results/search_quality.json`` (per-query rankings included) and prints, as
its last line, one JSON document with the headline figures. Exit 2 when a goal is missed
(``--no-fail``: exit 0, verdict in the JSON).

    python benchmarks/bench_search_quality.py [--sets zoo,harbor,...] [--split test|dev|all]
                                              [--per-query] [--no-fail]
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import _common as c
from search_eval import dataset as ds
from search_eval import metrics as m
from search_eval import sets

MODES = ("bm25", "dense", "hybrid")
#: rankers over the raw cards, outside blacklake, run in the same process
REFERENCES = ("ref_bm25", "ref_dense")
SINGLE = ("bm25", "dense", *REFERENCES)
RANKERS = (*MODES, *REFERENCES)
RESULTS = Path(__file__).resolve().parent / "results" / "search_quality.json"
MARGIN = 0.05


# -- the store ------------------------------------------------------------------------------
def tiny_safetensors(path: Path) -> None:
    """A valid safetensors file holding one 4 x 4 float32 tensor of zeros."""
    header = json.dumps({"weight": {"dtype": "F32", "shape": [4, 4],
                                    "data_offsets": [0, 64]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(64))


def stage(cards: Mapping[str, ds.Card], dest: Path) -> Path:
    """The set's asset folders copied below ``dest`` (``models/<id>``, ``datasets/<id>``),
    with a tiny ``model.safetensors`` in every model folder that has no weights."""
    for card in cards.values():
        target = dest / card.store_path
        shutil.copytree(card.local_dir, target)
        if card.kind == "model" and not any(target.glob("*.safetensors")):
            tiny_safetensors(target / "model.safetensors")
    return dest


def build_store(home: Path, cards: Mapping[str, ds.Card], staged: Path,
                catalog: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A fresh store in ``home`` holding the staged set in repo ``zoo`` (one commit);
    ``catalog`` (a SQLAlchemy URL of an empty database) replaces the embedded SQLite one.

    Returns the open store and build figures (seconds to commit, seconds to index, and the
    index's card count when the store can report it).
    """
    from blacklake_ml import Store

    store = Store.open(home, catalog=catalog)
    repo = store.create_repo("zoo", description="search evaluation set")
    t0 = time.perf_counter()
    with repo.transaction("main", "add evaluation set") as tx:
        for sub in sorted({ds.KIND_DIRS[card.kind] for card in cards.values()}):
            tx.put_dir(staged / sub, sub)
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


# -- reference rankers ------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def run_references(store: Any, queries: Sequence[ds.Query], cards: Mapping[str, ds.Card],
                   k: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Rankings of the two reference rankers over each card's whole README (no threshold:
    they always answer)."""
    import numpy as np
    from rank_bm25 import BM25Okapi

    from blacklake_ml.search.engine import embedder

    ids = list(cards)
    texts = [cards[i].text for i in ids]
    bm25 = BM25Okapi([_words(t) for t in texts])
    emb = embedder(store)
    doc_vecs = np.asarray(emb.encode(texts), dtype=np.float32)
    out: dict[str, dict[str, dict[str, Any]]] = {"ref_bm25": {}, "ref_dense": {}}
    for q in queries:
        scores = bm25.get_scores(_words(q.query))
        order = [i for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
        out["ref_bm25"][q.id] = {"ranking": [ids[i] for i in order],
                                 "scores": [round(float(scores[i]), 6) for i in order], "ms": 0}
        sims = doc_vecs @ np.asarray(emb.encode([q.query])[0], dtype=np.float32)
        order = list(np.argsort(-sims, kind="stable")[:k])
        out["ref_dense"][q.id] = {"ranking": [ids[i] for i in order],
                                  "scores": [round(float(sims[i]), 6) for i in order], "ms": 0}
    return out


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
    """Means by query kind and overall (answerable queries), plus abstention figures."""
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
                                                  for q in unanswerable)
                        if unanswerable else float("nan"),
                        "mean_hits": m.mean(scored[q.id]["hits"] for q in unanswerable)
                        if unanswerable else float("nan")}
    out["answerable_empty_rate"] = m.mean(float(scored[q.id]["abstained"]) for q in answerable)
    return out


def abstention_auc(queries: Sequence[ds.Query], run: Mapping[str, Mapping[str, Any]]
                   ) -> float | None:
    """AUC of the top hit's score (0 when nothing is returned) separating answerable from
    no-answer queries: how well the score the abstention threshold cuts on ranks them."""
    pos = [run[q.id]["scores"][0] if run[q.id]["scores"] else 0.0
           for q in queries if q.answerable]
    neg = [run[q.id]["scores"][0] if run[q.id]["scores"] else 0.0
           for q in queries if not q.answerable]
    if not pos or not neg:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def goals(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Issue 12's goals on one split's summary (``{ranker: summarise(...)}``)."""
    hyb = summary["hybrid"]
    best = max(summary[r]["overall"]["ndcg"] for r in SINGLE)
    kinds = {}
    for t in ds.QUERY_TYPES:
        if t == "no_answer" or t not in hyb:
            continue
        best_t = max(summary[r][t]["ndcg"] for r in SINGLE)
        kinds[t] = {"hybrid": hyb[t]["ndcg"], "best_single": best_t,
                    "ok": hyb[t]["ndcg"] >= best_t - 1e-9}
    na = hyb["no_answer"]
    abst_ok = na["n"] == 0 or na["abstention_rate"] >= 2 / 3 - 1e-9
    empty_ok = hyb["answerable_empty_rate"] <= 0.05 + 1e-9
    overall_ok = hyb["overall"]["ndcg"] >= best + MARGIN - 1e-9
    return {"overall": {"hybrid": hyb["overall"]["ndcg"], "best_single": best,
                        "margin": hyb["overall"]["ndcg"] - best, "ok": overall_ok},
            "kinds": kinds, "abstention_ok": abst_ok, "answerable_empty_ok": empty_ok,
            "ok": overall_ok and abst_ok and empty_ok and all(v["ok"] for v in kinds.values())}


def overlap_report(queries: Sequence[ds.Query], cards: Mapping[str, ds.Card]
                   ) -> dict[str, dict[str, list[str]]]:
    """For paraphrase queries: content words shared with each judged card (grade >= 1).

    By construction grade-3 cards share none (the dataset test enforces it); grade 1-2 cards
    may.
    """
    return {q.id: {cid: sorted(ds.shared_words(q.query, cards[cid]))
                   for cid, g in q.relevant.items() if g >= 1}
            for q in queries if q.type == "paraphrase"}


# -- output ---------------------------------------------------------------------------------
def print_tables(name: str, split: str, summary: Mapping[str, Mapping[str, Any]],
                 k: int) -> None:
    """One set's per-kind nDCG table (every ranker) and its abstention figures."""
    rows = []
    for t in [*ds.QUERY_TYPES, "overall"]:
        if t == "no_answer" or t not in summary["hybrid"]:
            continue
        rows.append([t, summary["hybrid"][t]["n"], *(summary[r][t]["ndcg"] for r in RANKERS)])
    hyb = summary["hybrid"]
    rows.append(["no-answer abstained", hyb["no_answer"]["n"],
                 *(summary[r]["no_answer"]["abstention_rate"] for r in RANKERS)])
    rows.append(["answerable empty", hyb["overall"]["n"],
                 *(summary[r]["answerable_empty_rate"] for r in RANKERS)])
    c.table(rows, ["kind", "n", *(f"{r} nDCG@{k}" for r in RANKERS)],
            f"{name} ({split} split)")


def print_per_query(queries: Sequence[ds.Query], scored: Mapping[str, Mapping[str, Any]],
                    runs: Mapping[str, Mapping[str, Any]]) -> None:
    """One line per query and ranker: figures and the top 3 asset ids with their grades."""
    for q in queries:
        print(f"\n{q.id} [{q.type}] {q.query!r}" + (f" filters={q.filters}" if q.filters else ""))
        for mode in RANKERS:
            s = scored[mode][q.id]
            top = ", ".join(f"{cid}({q.relevant.get(cid, 0)})"
                            for cid in runs[mode][q.id]["ranking"][:3]) or "-"
            fig = (f"nDCG={s['ndcg']:.2f} R={s['recall']:.2f}" if q.answerable
                   else f"hits={s['hits']}")
            print(f"  {mode:9} {fig:20} {top}")


def evaluate_set(es: sets.EvalSet, wd: Path, k: int, recall_k: int, catalog: str | None = None
                 ) -> tuple[list[ds.Query], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Build the set's store (on ``catalog`` if given) and run every query through every
    ranker.

    Returns (queries, runs, scored, build figures)."""
    cards = es.cards()
    queries = es.queries()
    unknown = sorted({cid for q in queries for cid in q.relevant} - set(cards))
    if unknown:
        raise SystemExit(f"error: {es.name}: queries judge unknown assets: {', '.join(unknown)}")
    staged = stage(cards, wd / f"src-{es.name}")
    store, build = build_store(wd / f"home-{es.name}", cards, staged, catalog)
    try:
        n_models = sum(card.kind == "model" for card in cards.values())
        print(f"# {es.name} ({es.status}): {n_models} model cards, {len(cards) - n_models} "
              f"dataset cards, {len(queries)} queries; committed {build.get('files')} files "
              f"in {build['commit_s']:.1f} s, indexed in {build['index_s']:.1f} s"
              + (f" ({build['indexed_cards']} cards)" if build.get("indexed_cards")
                 is not None else ""), flush=True)
        store.search("warm-up", k=1, mode="hybrid")  # model loading outside the latencies
        runs: dict[str, Any] = {mode: run_queries(store, queries, cards, mode, k)
                                for mode in MODES}
        runs.update(run_references(store, queries, cards, k))
    finally:
        store.close()
    scored = {r: {q.id: score_query(q, runs[r][q.id]["ranking"], k, recall_k)
                  for q in queries} for r in RANKERS}
    build.update(cards=len(cards), models=n_models)
    return queries, runs, scored, build


@contextlib.contextmanager
def catalogs(kind: str) -> Iterator[Callable[[], str | None]]:
    """A factory of fresh catalogs: ``None`` (the store's embedded SQLite) or, for
    ``"postgres"``, the URL of a new database on a throwaway cluster started here (the
    tests' :class:`services.PostgresCluster`: loopback only, removed afterwards)."""
    if kind == "sqlite":
        yield lambda: None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from services import PostgresCluster, find_pg_bindir

    bindir = find_pg_bindir()
    if bindir is None:
        raise SystemExit("error: PostgreSQL server binaries not found (apt-get install "
                         "postgresql)")
    cluster = PostgresCluster(bindir)
    cluster.start()
    try:
        yield lambda: cluster.database_url(cluster.create_database())
    finally:
        cluster.stop()


def main() -> int:
    """Run the benchmark; print tables and one JSON line; exit 2 if a goal is missed."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("-k", type=int, default=10, help="results per query and nDCG cut-off")
    p.add_argument("--recall-k", type=int, default=5, help="cut-off for recall")
    p.add_argument("--sets", default=",".join(sets.SETS),
                   help=f"comma-separated sets (default: all of {', '.join(sets.SETS)})")
    p.add_argument("--set-dir", action="append", default=[], metavar="DIR",
                   help="evaluate your own labelled set: a folder laid out like "
                        "benchmarks/search_sets/harbor (models/, datasets/, queries.jsonl); "
                        "repeatable; with it, --sets defaults to none of the built-in sets")
    p.add_argument("--split", choices=("all", "dev", "test"), default="test",
                   help="the split the goals are checked on (dev and all are reported too)")
    p.add_argument("--per-query", action="store_true", help="print every query's top hits")
    p.add_argument("--out", default=str(RESULTS), help="where to write the full results JSON")
    p.add_argument("--catalog", choices=("sqlite", "postgres"), default="sqlite",
                   help="the catalog each set's store uses: the embedded SQLite, or a fresh "
                        "database per set on a throwaway local PostgreSQL cluster")
    p.add_argument("--no-fail", action="store_true",
                   help="exit 0 even when a goal is missed (the verdict is in the JSON)")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the embedding model must be installed
    chosen = dict(sets.SETS)
    names = [n for n in args.sets.split(",") if n]
    if args.set_dir and args.sets == p.get_default("sets"):
        names = []
    bad = [n for n in names if n not in chosen]
    if bad:
        print(f"error: unknown set(s) {', '.join(bad)}; sets: {', '.join(sets.SETS)}",
              file=sys.stderr)
        return 1
    for d in args.set_dir:
        root = Path(d).resolve()
        if not (root / "queries.jsonl").is_file():
            print(f"error: {d}: no queries.jsonl (see benchmarks/search_sets/README.md)",
                  file=sys.stderr)
            return 1
        own = sets.EvalSet(root.name, root, "yours")
        if own.name in names:
            print(f"error: {d}: a set named {own.name!r} is already chosen", file=sys.stderr)
            return 1
        chosen[own.name] = own
        names.append(own.name)
    c.print_load("at start")
    results: dict[str, Any] = {}
    with c.workdir(args, "search-quality") as wd, catalogs(args.catalog) as new_catalog:
        print(f"# catalog: {args.catalog}")
        for name in names:
            es = chosen[name]
            queries, runs, scored, build = evaluate_set(es, wd, args.k, args.recall_k,
                                                        new_catalog())
            by_split = {}
            for split in ("dev", "test", "all"):
                part = sets.split(queries, split)
                summary = {r: summarise(part, {q.id: scored[r][q.id] for q in part})
                           for r in RANKERS}
                for mode in MODES:
                    summary[mode]["latency_ms_p50"] = c.percentile(
                        [runs[mode][q.id]["ms"] for q in part], 50)
                by_split[split] = {"queries": len(part), "summary": summary,
                                   "goals": goals(summary),
                                   "abstention_auc": abstention_auc(part, runs["hybrid"])}
            print_tables(name, args.split, by_split[args.split]["summary"], args.k)
            g = by_split[args.split]["goals"]
            print(f"  goals on {args.split}: hybrid {g['overall']['hybrid']:.3f} vs best single "
                  f"{g['overall']['best_single']:.3f} (margin {g['overall']['margin']:+.3f}); "
                  f"kinds ok: {sorted(t for t, v in g['kinds'].items() if v['ok'])}, missed: "
                  f"{sorted(t for t, v in g['kinds'].items() if not v['ok'])}; "
                  f"abstention ok {g['abstention_ok']}, answerable-empty ok "
                  f"{g['answerable_empty_ok']} (score AUC "
                  f"{c.fmt(by_split[args.split]['abstention_auc'])}) -> {c.verdict(g['ok'])}",
                  flush=True)
            if args.per_query:
                print_per_query(sets.split(queries, args.split), scored, runs)
            cards = es.cards()
            results[name] = {
                "status": es.status, "build": build, "splits": by_split,
                "paraphrase_overlap": overlap_report(queries, cards),
                "per_query": {q.id: {"query": q.query, "type": q.type, "filters": q.filters,
                                     "split": "test" if q in sets.split(queries, "test")
                                     else "dev",
                                     **{r: {**scored[r][q.id], "ranking": runs[r][q.id]["ranking"],
                                            "scores": runs[r][q.id]["scores"]}
                                        for r in RANKERS}} for q in queries}}
    c.print_load("at end")
    ok = all(r["splits"][args.split]["goals"]["ok"] for r in results.values())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    full = {"benchmark": "search_quality", "catalog": args.catalog, "split": args.split,
            "k": args.k,
            "recall_k": args.recall_k, "sets": results, "pass": ok, "env": c.environment()}
    out.write_text(json.dumps(full, indent=2, default=str) + "\n")
    print(f"# written: {out}")

    def headline(split: str) -> dict[str, Any]:
        return {name: {"status": r["status"],
                       "ndcg": {rk: r["splits"][split]["summary"][rk]["overall"]["ndcg"]
                                for rk in RANKERS},
                       "by_kind": {rk: {t: v["ndcg"] for t, v in
                                        r["splits"][split]["summary"][rk].items()
                                        if t in ds.QUERY_TYPES and t != "no_answer"}
                                   for rk in RANKERS},
                       "abstention": r["splits"][split]["summary"]["hybrid"]["no_answer"]
                       ["abstention_rate"],
                       "answerable_empty": r["splits"][split]["summary"]["hybrid"]
                       ["answerable_empty_rate"],
                       "abstention_auc": r["splits"][split]["abstention_auc"],
                       "goals": r["splits"][split]["goals"]}
                for name, r in results.items()}

    worst = min((r["splits"][args.split]["goals"]["overall"]["margin"]
                 for r in results.values()), default=float("nan"))
    c.emit({"benchmark": "search_quality", "catalog": args.catalog, "split": args.split,
            "sets": headline(args.split),
            "worst_margin": worst,
            "ndcg": {"hybrid": min(r["splits"][args.split]["summary"]["hybrid"]["overall"]
                                   ["ndcg"] for r in results.values())},
            "target": "on every set's test split: hybrid >= best single ranker + 0.05 overall, "
                      ">= best single per kind, >= 2/3 no-answer abstain, <= 5% answerable "
                      "empty",
            "pass": ok, "env": c.environment()})
    return 0 if ok or args.no_fail else 2


if __name__ == "__main__":
    sys.exit(main())
