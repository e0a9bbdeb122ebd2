"""Peak memory of a put from the CLI, for big files and for many small ones (issue 11).

The goal: a put's peak RSS does not grow with the size of the file -- at most 256 MiB for one
1 GiB and for one 8 GiB random file -- and stays at most 512 MiB for 100,000 x 4 KiB files.

Each workload is ``blacklake -q put SRC blacklake://bench/main/data -m MSG`` in a fresh
store (``init`` and ``repo create`` untimed; fsync on, the default), run by the same small
rusage wrapper as ``bench_peers.py`` (``os.wait4`` on exactly that child, so the figure is the
put's own high-water mark, not this script's). One run per workload: peak RSS does not
depend on timing noise the way wall time does; the wall time is printed for context.

    python benchmarks/bench_put_rss.py [--quick] [--large-gib 1,8] [--small-files 100000]

``--quick`` (CI) uses 64 MiB and 256 MiB files and 5,000 small files; its figures only show
that the script runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import _common as c
from bench_peers import SUBDIRS, ToolError, make_tree, timed_cmds

LARGE_GOAL_MIB = 256
SMALL_GOAL_MIB = 512


def put_rss(cli: list[str], root: Path, src: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one CLI put of ``src`` into a fresh store under ``root``."""
    root.mkdir(parents=True)
    env = c.blacklake_cli_env(root / "home")
    env.pop("BLACKLAKE_FSYNC", None)  # the default: fsync on
    c.run([*cli, "init"], cwd=root, env=env)
    c.run([*cli, "repo", "create", "bench"], cwd=root, env=env)
    sample = timed_cmds([([*cli, "-q", "put", str(src), "blacklake://bench/main/data",
                           "-m", "rss"], root, env)])
    c.remove(root)
    assert sample.rss_mib is not None
    return sample.seconds, sample.rss_mib


def main() -> int:
    p = c.parser(__doc__.split("\n", 1)[0])
    p.add_argument("--large-gib", default=None,
                   help="comma-separated sizes of the big files in GiB (default 1,8)")
    p.add_argument("--small-files", type=int, default=None,
                   help="number of 4 KiB files (default 100000)")
    args = p.parse_args()
    c.ensure_bytecode()
    cli = c.blacklake_cli()
    if cli is None:
        print("the CLI is not importable", file=sys.stderr)
        return 1
    if args.large_gib:
        sizes = [int(float(x) * c.GiB) for x in args.large_gib.split(",")]
    else:
        sizes = [64 * c.MiB, 256 * c.MiB] if args.quick else [1 * c.GiB, 8 * c.GiB]
    nsmall = args.small_files or (5_000 if args.quick else 100_000)

    rows: list[list[Any]] = []
    result: dict[str, Any] = {"benchmark": "put_rss", "quick": args.quick,
                              "environment": c.environment(), "large": {}, "small": {}}
    c.print_load("at start")
    with c.workdir(args, "put-rss") as work:
        for size in sizes:
            src = c.write_random_file(work / f"big-{size}.bin", size)
            c.warm(src)
            try:
                secs, rss = put_rss(cli, work / f"store-{size}", src)
            except ToolError as exc:
                print(f"put of {size} bytes failed: {exc}", file=sys.stderr)
                return 1
            src.unlink()
            label = f"{size / c.GiB:g} GiB" if size >= c.GiB else f"{size // c.MiB} MiB"
            result["large"][label] = {"bytes": size, "seconds": round(secs, 3),
                                      "rss_mib": round(rss, 1)}
            rows.append([f"one {label} file", secs, rss, LARGE_GOAL_MIB,
                         c.verdict(rss <= LARGE_GOAL_MIB)])
        tree = make_tree(work / "small", nsmall, ".bin", os.urandom(nsmall * 4 * c.KiB))
        c.warm(tree)
        secs, rss = put_rss(cli, work / "store-small", tree)
        result["small"] = {"files": nsmall, "subdirs": SUBDIRS, "seconds": round(secs, 3),
                           "rss_mib": round(rss, 1)}
        rows.append([f"{nsmall:,} x 4 KiB files", secs, rss, SMALL_GOAL_MIB,
                     c.verdict(rss <= SMALL_GOAL_MIB)])
    c.print_load("at end")
    c.table(rows, ["workload", "put s", "peak RSS MiB", "goal MiB", "verdict"],
            title="peak RSS of a CLI put (fresh store, fsync on)")
    large = [v["rss_mib"] for v in result["large"].values()]
    result["worst_large_rss_mib"] = max(large) if large else None
    result["small_rss_mib"] = result["small"]["rss_mib"]
    result["goal_met"] = (all(x <= LARGE_GOAL_MIB for x in large)
                          and result["small_rss_mib"] <= SMALL_GOAL_MIB)
    result["environment_end"] = c.environment()
    c.emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
