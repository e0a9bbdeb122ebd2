"""`put` of a directory of 10,000 small files in one commit vs `dvc add DIR`.

The directory holds 10,000 files of 4 KiB random bytes in 10 subdirectories.
Anchor: ``dvc add DIR`` in a fresh ``dvc init --no-scm`` project (subprocess wall clock; the
ratio is also given with ``dvc --version`` start-up subtracted). Target: blacklake >= 3x the
anchor's files/s. Runs are interleaved (order rotating; median of 5); each uses a fresh
store / project and, for DVC, a fresh copy of the directory (new inodes, so DVC's hash
cache cannot help it); the input is re-read (untimed) right before every timed run.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import _common as c

FILE_SIZE = 4 * c.KiB
SUBDIRS = 10


def make_tree(root: Path, nfiles: int, size: int = FILE_SIZE) -> None:
    """``nfiles`` random files of ``size`` bytes spread over :data:`SUBDIRS` subdirs."""
    for d in range(SUBDIRS):
        (root / f"part-{d:02d}").mkdir(parents=True, exist_ok=True)
    blob = os.urandom(nfiles * size)
    for i in range(nfiles):
        path = root / f"part-{i % SUBDIRS:02d}" / f"sample-{i:06d}.bin"
        path.write_bytes(blob[i * size:(i + 1) * size])


def blacklake_api(src: Path, home: Path, nfiles: int) -> float:
    """Seconds for ``repo.put`` of ``src`` into a fresh store (store set-up not timed)."""
    secs, res = c.time_put_api(src, home, "data", "put many")
    assert res.files == nfiles, res
    return secs


def blacklake_cli(cli: list[str], src: Path, home: Path) -> float:
    """Seconds for ``blacklake put`` of ``src`` (subprocess; init and repo create untimed)."""
    return c.time_put_cli(cli, src, home, "data", "put many")


def dvc_add(src: Path, project: Path) -> float:
    """Seconds for ``dvc add`` of a fresh copy of ``src`` in a fresh project."""
    c.dvc_init(project)
    shutil.copytree(src, project / "data")
    c.warm(project / "data")
    return c.timed_dvc(project, "add", "-q", "data")


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=None, help="number of files (default 10000)")
    p.add_argument("--repeats", type=int, default=None, help="runs per column (median)")
    args = p.parse_args()
    c.print_load("at start")
    nfiles = args.files or (1000 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 5)
    cli = c.blacklake_cli()

    times: dict[str, list[float]] = {"api": [], "dvc": []}
    if cli:
        times["cli"] = []
    with c.workdir(args, "put-many") as wd:
        src = wd / "src"
        make_tree(src, nfiles)
        startup = c.dvc_startup(5)
        runs: dict[str, Callable[[Path], float]] = {
            "api": lambda home: blacklake_api(src, home, nfiles),
            "dvc": lambda project: dvc_add(src, project),
            "cli": lambda home: blacklake_cli(cli or [], src, home),
        }
        for i in range(repeats):
            for name in c.rotated(list(times), i):  # a different one goes first each run
                where = wd / f"{name}-{i}"
                times[name].append(runs[name](where))
                c.remove(where)

    med = {k: c.median(v) for k, v in times.items()}
    best = c.best_of(times)
    dvc_ex = max(med["dvc"] - startup, 1e-9)
    ratio = med["dvc"] / med["api"]
    ratio_ex = dvc_ex / med["api"]
    rows = [["blacklake api (repo.put)", med["api"], c.rate(nfiles, med["api"]), ratio]]
    if cli:
        rows.append(["blacklake cli (put)", med["cli"], c.rate(nfiles, med["cli"]),
                     med["dvc"] / med["cli"]])
    else:
        rows.append(["blacklake cli (put)", "n/a", "n/a", "CLI not importable"])
    rows += [["dvc add DIR (anchor, raw)", med["dvc"], c.rate(nfiles, med["dvc"]), 1.0],
             ["dvc add minus `dvc --version`", dvc_ex, c.rate(nfiles, dvc_ex), 1.0],
             ["`dvc --version` start-up", startup, "", ""]]
    c.table(rows, ["what", "median s", "files/s", "dvc_s / this_s"],
            f"put of {nfiles:,} files x {FILE_SIZE // c.KiB} KiB, {repeats} run(s) each")
    ok = ratio >= 3.0
    print(f"best of {repeats}: blacklake {best['api']:.2f} s, dvc add {best['dvc']:.2f} s "
          f"-> {best['dvc'] / best['api']:.2f}x")
    print(f"\nspeed-up vs dvc add: {ratio:.2f}x raw, {ratio_ex:.2f}x excluding DVC start-up "
          f"(target >= 3x): {c.verdict(ok)}")
    c.print_load("at end")
    c.emit({
        "benchmark": "put_many", "quick": args.quick, "files": nfiles,
        "file_size": FILE_SIZE, "repeats": repeats, "times_s": times, "median_s": med,
        "best_s": best,
        "ratio_best": best["dvc"] / best["api"],
        "dvc_startup_s": startup,
        "blacklake_files_per_s": c.rate(nfiles, med["api"]),
        "dvc_files_per_s": c.rate(nfiles, med["dvc"]),
        "ratio": ratio, "ratio_excl_dvc_startup": ratio_ex,
        "ratio_cli": (med["dvc"] / med["cli"]) if cli else None,
        "target": ">= 3", "pass": ok, "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
