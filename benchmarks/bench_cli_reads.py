"""Read commands from a fresh process on a big store: ``ls``, ``log``, ``repo list``,
``branch list``, ``stats``, ``version list`` (issue 11: each <= 150 ms wall, median of 10).

The store holds 100 repositories with 1,000 files each (100,000 files; ``--quick``: 10 x 100),
each with 5 commits, 3 branches and 3 versions, built through the API (untimed). Every command
runs as the user runs it: the ``blacklake`` console script of this interpreter's environment,
a fresh process each time, stdout discarded. The anchor, in the same run and the same way, is
an interpreter that only starts (``python -c pass``) and one that imports click (what any
Python CLI pays): the gap between them and a command is BlackLake's own cost.

Each command runs once untimed first (the first ``ls --json`` of new files scans them for the
safety verdict and caches it; the page cache gets warm), then ``--repeats`` times (default 10).

    python benchmarks/bench_cli_reads.py [--quick] [--repeats N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as c

GOAL_MS = 150.0


def _cli() -> list[str]:
    script = Path(sys.executable).parent / "blacklake"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from blacklake_ml.cli.main import main; "
            "sys.exit(main())"]


def build(home: Path, repos: int, files: int) -> None:
    """``repos`` repositories of ``files`` small files in 10 folders, 5 commits each."""
    store = c.open_store(home)
    try:
        for r in range(repos):
            repo = store.create_repo(f"r{r:03d}")
            per = files // 5
            for k in range(5):
                with repo.transaction("main", f"commit {k}") as tx:
                    for i in range(k * per, (k + 1) * per):
                        tx.put_bytes(f"f{i:06d}-{r}".encode() * 8, f"d{i % 10}/f{i:06d}.txt")
            repo.create_branch("dev", "main")
            repo.create_branch("exp", "main")
            for v in ("1.0.0", "1.1.0", "2.0.0"):
                repo.lifecycle.create_version(v, "main")
    finally:
        store.close()


def time_cmd(cmd: list[str], env: dict[str, str], repeats: int) -> list[float]:
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)  # warm, untimed
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    repos, files = (10, 100) if args.quick else (100, 1000)
    c.ensure_bytecode()
    c.print_load("at start")
    start_load = list(os.getloadavg())
    with c.workdir(args, "cli-reads") as work:
        home = work / "home"
        t_build = time.perf_counter()
        build(home, repos, files)
        print(f"# store: {repos} repositories x {files} files, built in "
              f"{time.perf_counter() - t_build:.1f} s")
        env = c.blacklake_cli_env(home)
        cli = _cli()
        uri = "blacklake://r000/main"
        commands = {
            "ls": [*cli, "ls", f"{uri}/"],
            "ls --json (100 files)": [*cli, "ls", f"{uri}/d0", "--json"],
            "log": [*cli, "log", uri],
            "repo list": [*cli, "repo", "list"],
            "branch list": [*cli, "branch", "list", "r000"],
            "stats REPO": [*cli, "stats", "r000"],
            "version list": [*cli, "version", "list", "r000"],
        }
        anchors = {"python -c pass": [sys.executable, "-c", "pass"],
                   "python -c 'import click'": [sys.executable, "-c", "import click"]}
        times: dict[str, list[float]] = {}
        order = list(anchors.items()) + list(commands.items())
        for name, cmd in order:
            times[name] = time_cmd(cmd, env, args.repeats)
    medians = {k: c.median(v) * 1000 for k, v in times.items()}
    base = medians["python -c pass"]
    rows = []
    for name in list(anchors) + list(commands):
        own = medians[name] - base
        goal = "" if name in anchors else c.verdict(medians[name] <= GOAL_MS)
        rows.append((name, f"{medians[name]:.0f}", f"{own:.0f}", goal))
    c.table(rows, ["command", "median ms", "above `python -c pass` ms", f"<= {GOAL_MS:.0f} ms"],
            title=f"fresh-process wall time, median of {args.repeats}")
    c.print_load("at end")
    worst = max(medians[n] for n in commands)
    result: dict[str, Any] = {
        "benchmark": "cli_reads", "quick": args.quick, "env": c.environment(),
        "loadavg_start": start_load, "repos": repos, "files_per_repo": files,
        "repeats": args.repeats, "median_ms": {k: round(v, 1) for k, v in medians.items()},
        "worst_ms": round(worst, 1), "python_startup_ms": round(base, 1),
        "worst_over_startup_ms": round(worst - base, 1),
        "pass": worst <= GOAL_MS,
    }
    c.emit(result)


if __name__ == "__main__":
    main()
