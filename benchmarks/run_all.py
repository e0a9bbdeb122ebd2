"""Run every benchmark in turn and write ``benchmarks/results/latest.json``.

Each ``bench_*.py`` runs in its own process (sequentially: the machine has two cores and
the benchmarks must not compete); its output is streamed through, and its last line (one
JSON document) is collected. Exit status is non-zero if a benchmark crashed, or, with
``--fail-on-miss``, if a target was missed.

    python benchmarks/run_all.py [--quick] [--only put_large,get] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["put_large", "dedup_versions", "put_many", "commit_small", "get",
              "put_extract", "search_quality", "search_scale", "search_cli", "dvc_remote",
              "mlflow_artifacts", "peers", "cli_reads", "put_rss"]
#: Arguments one benchmark always gets (search_quality exits 2 on a miss unless told not to:
#: here the verdict is read from its JSON like every other one; search_scale measures latency,
#: for which vectors the cache lacks may be random unit vectors — embedding 100k texts on a
#: fresh 2-core machine takes about an hour — and its JSON says which it used).
EXTRA = {"search_quality": ["--no-fail"], "search_scale": ["--random-vectors"]}

#: The headline figure of each benchmark: (JSON key, how it is read).
HEADLINE = {
    "put_large": ("ratio", "x faster than dvc add (>= 5)"),
    "dedup_versions": ("ratio", "of DVC's stored bytes (<= 0.25)"),
    "put_many": ("ratio", "x faster than dvc add DIR (>= 3)"),
    "commit_small": ("median_ms", "ms median commit of 1 file in 100k (< 100)"),
    "get": ("ratio_get", "x copy speed for get (>= 0.5)"),
    "put_extract": ("ratio", "x the put time without indexing (< 1.10)"),
    "search_quality": ("ndcg.hybrid", "hybrid nDCG@10 (beats bm25 and dense)"),
    "search_scale": ("p50_ms", "ms p50 hybrid query over 100k models (< 30)"),
    "search_cli": ("wall_p50_s", "s p50 fresh-process `blacklake search`, worse of demo/100k "
                   "(<= 1.0; RSS <= 300 MB)"),
    "dvc_remote": ("storage_ratio", "of a directory remote's bytes for 2 checkpoint versions"),
    "mlflow_artifacts": ("storage_ratio", "of file:// artifact bytes for 5 checkpoint runs"),
    "peers": ("ratios.put_large.vs_fastest_peer",
              "x faster than the fastest of dvc/git lfs/oxen, put 1 GiB (>= 2; all in goal_met)"),
    "cli_reads": ("worst_ms", "ms, slowest read command from a fresh process, 100 repos x "
                  "1,000 files, median of 10 (<= 150)"),
    "put_rss": ("small_rss_mib", "MiB peak RSS of a CLI put of 100k x 4 KiB files (<= 512; "
                "1 and 8 GiB files <= 256 in goal_met)"),
}


def figure(doc: dict[str, Any], key: str) -> float:
    """``doc[key]``, where ``a.b`` reaches into nested objects."""
    value: Any = doc
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, (int, float)) else float("nan")


def git_commit() -> str | None:
    """The checked-out commit of the repository, if any."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def git_dirty() -> list[str]:
    """Files of the package with uncommitted changes (the figures measure those too)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "blacklake_ml"],
                             cwd=HERE.parent, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def run_one(name: str, extra: list[str]) -> tuple[dict[str, Any] | None, float, int]:
    """Run ``bench_<name>.py``; returns (its JSON figures or None, seconds, exit status)."""
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *extra]
    print(f"\n##### {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.strip():
            last = line.strip()
    rc = proc.wait()
    secs = time.perf_counter() - t0
    try:
        doc = json.loads(last) if rc == 0 else None
    except json.JSONDecodeError:
        doc = None
    return doc, secs, rc


def main() -> int:
    """Run the selected benchmarks and write the results file."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    p.add_argument("--only", default="", help="comma-separated subset of: "
                   + ",".join(BENCHMARKS))
    p.add_argument("--workdir", default=None, help="parent dir for temporary data")
    p.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    p.add_argument("--fail-on-miss", action="store_true",
                   help="exit non-zero when a target is missed")
    args = p.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or BENCHMARKS
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    extra = (["--quick"] if args.quick else []) + \
        (["--workdir", args.workdir] if args.workdir else [])

    results: dict[str, Any] = {}
    summary = []
    crashed = missed = False
    for name in names:
        doc, secs, rc = run_one(name, extra + EXTRA.get(name, []))
        if doc is None:
            crashed = True
            results[name] = {"error": f"exit status {rc}", "seconds": secs}
            summary.append((name, "CRASHED", "", ""))
            continue
        doc["seconds"] = secs
        results[name] = doc
        key, what = HEADLINE[name]
        ok = doc.get("pass")  # None: a benchmark with no target (informational figures)
        missed |= ok is False
        summary.append((name, f"{figure(doc, key):.3g}", what,
                        "info" if ok is None else "PASS" if ok else "MISS"))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "uncommitted_package_files": git_dirty(), "quick": args.quick, "host": platform.node(),
        "python": platform.python_version(), "results": results,
        "summary": {n: {"figure": f, "meaning": w, "verdict": v} for n, f, w, v in summary},
    }, indent=2, default=str) + "\n")

    print("\n##### summary" + (" (--quick: sizes too small for the targets to mean much)"
                               if args.quick else ""))
    width = max(len(n) for n, *_ in summary)
    for n, f, w, v in summary:
        print(f"{n.ljust(width)}  {v:7}  {f} {w}")
    print(f"written: {out}")
    if crashed:
        return 1
    return 2 if (missed and args.fail_on_miss) else 0


if __name__ == "__main__":
    sys.exit(main())
