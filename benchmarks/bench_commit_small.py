"""Latency of committing ONE changed file in a 100,000-file repository.

The repository is built with one ``repo.transaction`` (100 directories x 1,000 files of
100..2,000 random bytes, all via ``tx.put_bytes``), then one existing file is changed with
``repo.put_bytes`` 20 times; median and p90 are reported.

Target: median < 100 ms (an absolute target, so the script also reports the same commit
into an EMPTY repository of the same store as a reference ratio). Informational extras:
* ``cold``: the commit on a freshly opened ``Store`` handle (no cached trees), as a CLI
  process would do it (store opening timed separately);
* ``flat``: the same repository shape with all 100,000 files in ONE directory (every commit
  rewrites a 100k-entry tree), in its own store.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

import _common as c


def layout(dirs: int, per_dir: int, flat: bool) -> list[str]:
    """Repository paths: ``dirs`` x ``per_dir`` files, or all of them in one directory."""
    if flat:
        return [f"flat/file-{i:06d}.json" for i in range(dirs * per_dir)]
    return [f"shard-{d:03d}/file-{i:04d}.json" for d in range(dirs) for i in range(per_dir)]


def build(store: Any, name: str, paths: list[str], rng: random.Random) -> float:
    """Create repo ``name`` holding ``paths`` in one transaction; returns seconds."""
    repo = store.create_repo(name)
    sizes = [rng.randint(100, 2000) for _ in paths]
    blob = os.urandom(sum(sizes))

    def go() -> Any:
        with repo.transaction("main", f"import {len(paths)} files") as tx:
            off = 0
            for path, n in zip(paths, sizes):
                tx.put_bytes(blob[off:off + n], path)
                off += n
        return tx.result

    secs, res = c.timed(go)
    assert res is not None and res.files == len(paths), res
    return secs


def commit_one(repo: Any, paths: list[str], rng: random.Random) -> float:
    """Seconds for ``repo.put_bytes`` changing one randomly chosen existing file."""
    path = rng.choice(paths)
    data = os.urandom(rng.randint(100, 2000))
    secs, res = c.timed(repo.put_bytes, data, path, message=f"update {path}")
    assert res.created
    return secs


def summary(samples: list[float]) -> dict[str, float]:
    """Median and p90 in milliseconds."""
    return {"median_ms": 1000 * c.median(samples), "p90_ms": 1000 * c.percentile(samples, 90),
            "min_ms": 1000 * min(samples), "max_ms": 1000 * max(samples), "n": len(samples)}


def measure(home: Path, name: str, paths: list[str], repeats: int, cold_repeats: int,
            rng: random.Random, with_empty: bool) -> dict[str, Any]:
    """Build one big repo in a fresh store and time single-file commits (warm/cold/empty)."""
    out: dict[str, Any] = {"files": len(paths)}
    store = c.open_store(home)
    try:
        out["build_s"] = build(store, name, paths, rng)
        repo = store.repo(name)
        commit_one(repo, paths, rng)  # first commit after the build: not counted
        out["warm"] = summary([commit_one(repo, paths, rng) for _ in range(repeats)])
        if with_empty:
            empty = []
            for i in range(repeats):
                r = store.create_repo(f"empty-{i}")
                empty.append(commit_one(r, ["one/file.json"], rng))
            out["empty"] = summary(empty)
    finally:
        store.close()
    cold, opens = [], []
    for _ in range(cold_repeats):
        t_open, store = c.timed(c.open_store, home)
        try:
            repo = store.repo(name)
            cold.append(commit_one(repo, paths, rng))
            opens.append(t_open)
        finally:
            store.close()
    out["cold"] = summary(cold)
    out["store_open_ms"] = 1000 * c.median(opens)
    return out


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--dirs", type=int, default=None, help="directories (default 100)")
    p.add_argument("--per-dir", type=int, default=None, help="files per dir (default 1000)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--cold-repeats", type=int, default=5)
    p.add_argument("--no-flat", action="store_true", help="skip the flat-directory case")
    p.add_argument("--seed", type=int, default=4321)
    args = p.parse_args()
    c.print_load("at start")
    dirs = args.dirs or (20 if args.quick else 100)
    per_dir = args.per_dir or (500 if args.quick else 1000)
    rng = random.Random(args.seed)

    results: dict[str, Any] = {}
    with c.workdir(args, "commit-small") as wd:
        results["nested"] = measure(wd / "nested", "nested", layout(dirs, per_dir, False),
                                    args.repeats, args.cold_repeats, rng, with_empty=True)
        if not args.no_flat:
            results["flat"] = measure(wd / "flat", "flat", layout(dirs, per_dir, True),
                                      args.repeats, args.cold_repeats, rng, with_empty=False)

    n = dirs * per_dir
    nested = results["nested"]
    rows = [[f"{dirs} dirs x {per_dir} files, warm handle", nested["warm"]["median_ms"],
             nested["warm"]["p90_ms"], nested["warm"]["median_ms"] / nested["empty"]
             ["median_ms"]],
            ["  same, fresh Store handle (cold)", nested["cold"]["median_ms"],
             nested["cold"]["p90_ms"], nested["cold"]["median_ms"] / nested["empty"]
             ["median_ms"]],
            ["empty repo (reference)", nested["empty"]["median_ms"],
             nested["empty"]["p90_ms"], 1.0]]
    if "flat" in results:
        flat = results["flat"]
        rows += [[f"flat: {n:,} files in one dir, warm", flat["warm"]["median_ms"],
                  flat["warm"]["p90_ms"], flat["warm"]["median_ms"] / nested["empty"]
                  ["median_ms"]],
                 ["  same, fresh Store handle (cold)", flat["cold"]["median_ms"],
                  flat["cold"]["p90_ms"], flat["cold"]["median_ms"] / nested["empty"]
                  ["median_ms"]]]
    c.table(rows, ["commit of one changed file", "median ms", "p90 ms", "x empty repo"],
            f"{n:,}-file repository, {args.repeats} commits ({args.cold_repeats} cold)")
    print(f"building the repo: {nested['build_s']:.1f} s nested"
          + (f", {results['flat']['build_s']:.1f} s flat" if "flat" in results else "")
          + f"; Store.open: {nested['store_open_ms']:.1f} ms")
    ok = nested["warm"]["median_ms"] < 100.0
    print(f"\nmedian {nested['warm']['median_ms']:.1f} ms (target < 100 ms): {c.verdict(ok)}")
    c.print_load("at end")
    c.emit({
        "benchmark": "commit_small", "quick": args.quick, "files": n, "dirs": dirs,
        "per_dir": per_dir, "results": results,
        "median_ms": nested["warm"]["median_ms"], "p90_ms": nested["warm"]["p90_ms"],
        "empty_repo_median_ms": nested["empty"]["median_ms"],
        "ratio_vs_empty": nested["warm"]["median_ms"] / nested["empty"]["median_ms"],
        "flat_median_ms": results["flat"]["warm"]["median_ms"] if "flat" in results
        else None,
        "target": "< 100 ms", "pass": ok, "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
