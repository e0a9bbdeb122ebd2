"""`put` of one large random file vs `dvc add` of the same file.

Anchor: ``dvc add FILE`` in a fresh ``dvc init --no-scm`` project (wall clock of the
subprocess, so it includes DVC's start-up; ``dvc --version`` is timed separately and the
ratio is also given with that start-up subtracted). Target: blacklake >= 5x faster.

Both sides read the same warm file (nothing dropped from the page cache, and the file is
re-read untimed right before every timed run; DVC gets a hard link to it inside its
project). Runs are interleaved, the order rotating from run to run (median of 3); each uses
a fresh store / project; dirty pages are flushed (``sync``) before every timed section.

Columns: ``api`` = ``repo.put`` in-process on ``Store.open(home)`` (default configuration,
fsync on); ``api_nofsync`` = the same with ``BLACKLAKE_FSYNC=0`` (informational: DVC does not
fsync its cache); ``cli`` = ``blacklake put`` in a subprocess, when the CLI is importable.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import _common as c


@contextlib.contextmanager
def env_var(key: str, value: str) -> Iterator[None]:
    """Temporarily set an environment variable."""
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def blacklake_api(src: Path, home: Path) -> float:
    """Seconds for ``repo.put`` of ``src`` into a fresh store (store set-up not timed)."""
    secs, res = c.time_put_api(src, home, "model.bin", "put large")
    assert res.bytes == src.stat().st_size, res
    return secs


def blacklake_cli(cli: list[str], src: Path, home: Path) -> float:
    """Seconds for ``blacklake put`` of ``src`` (subprocess; init and repo create untimed)."""
    return c.time_put_cli(cli, src, home, "model.bin", "put large")


def dvc_add(src: Path, project: Path) -> float:
    """Seconds for ``dvc add`` of a hard link to ``src`` in a fresh project."""
    c.dvc_init(project)
    target = project / src.name
    os.link(src, target)
    c.warm(target)
    secs = c.timed_dvc(project, "add", "-q", target.name)
    assert c.dvc_cache_bytes(project) >= src.stat().st_size
    return secs


def dvc_add_tiny(project: Path) -> float:
    """Seconds for ``dvc add`` of a 1-byte file: DVC's fixed per-command overhead."""
    c.dvc_init(project)
    (project / "tiny").write_bytes(b"x")
    return c.timed_dvc(project, "add", "-q", "tiny")


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mib", type=int, default=None, help="file size (default 1024)")
    p.add_argument("--repeats", type=int, default=None, help="runs per column (median)")
    args = p.parse_args()
    c.print_load("at start")
    size = (args.size_mib or (64 if args.quick else 1024)) * c.MiB
    repeats = args.repeats or (1 if args.quick else 3)
    cli = c.blacklake_cli()

    with c.workdir(args, "put-large") as wd:
        src = c.write_random_file(wd / "src" / "model.bin", size)
        times: dict[str, list[float]] = {"api": [], "api_nofsync": [], "dvc": []}
        if cli:
            times["cli"] = []
        startup = c.dvc_startup(5)
        tiny = c.median([dvc_add_tiny(wd / f"tiny-{i}") for i in range(3)])

        def nofsync(home: Path) -> float:
            with env_var("BLACKLAKE_FSYNC", "0"):
                return blacklake_api(src, home)

        runs: dict[str, Callable[[Path], float]] = {
            "api": lambda home: blacklake_api(src, home),
            "api_nofsync": nofsync,
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
    mb = size / 1e6
    dvc_ex = max(med["dvc"] - startup, 1e-9)
    ratio = med["dvc"] / med["api"]
    ratio_ex = dvc_ex / med["api"]
    rows = [
        ["blacklake api (repo.put)", med["api"], c.rate(mb, med["api"]), ratio],
        ["blacklake api, BLACKLAKE_FSYNC=0", med["api_nofsync"],
         c.rate(mb, med["api_nofsync"]), med["dvc"] / med["api_nofsync"]],
    ]
    if cli:
        rows.append(["blacklake cli (put)", med["cli"], c.rate(mb, med["cli"]),
                     med["dvc"] / med["cli"]])
    else:
        rows.append(["blacklake cli (put)", "n/a", "n/a", "CLI not importable"])
    rows += [
        ["dvc add (anchor, raw)", med["dvc"], c.rate(mb, med["dvc"]), 1.0],
        ["dvc add minus `dvc --version`", dvc_ex, c.rate(mb, dvc_ex), 1.0],
        ["`dvc --version` start-up", startup, "", ""],
        ["`dvc add` of a 1-byte file", tiny, "", ""],
    ]
    c.table(rows, ["what", "median s", "MB/s", "dvc_s / this_s"],
            f"put of one {size // c.MiB} MiB file, {repeats} run(s) each")
    ok = ratio >= 5.0
    print(f"best of {repeats}: blacklake {best['api']:.2f} s, dvc add {best['dvc']:.2f} s "
          f"-> {best['dvc'] / best['api']:.2f}x")
    print(f"\nspeed-up vs dvc add: {ratio:.2f}x raw, {ratio_ex:.2f}x excluding DVC start-up "
          f"(target >= 5x): {c.verdict(ok)}")
    c.print_load("at end")
    c.emit({
        "benchmark": "put_large", "quick": args.quick, "size_bytes": size,
        "repeats": repeats, "times_s": times, "median_s": med, "best_s": best,
        "ratio_best": best["dvc"] / best["api"],
        "dvc_startup_s": startup, "dvc_add_tiny_s": tiny,
        "blacklake_MBps": c.rate(mb, med["api"]), "dvc_MBps": c.rate(mb, med["dvc"]),
        "ratio": ratio, "ratio_excl_dvc_startup": ratio_ex,
        "ratio_excl_dvc_add_overhead": max(med["dvc"] - tiny, 1e-9) / med["api"],
        "ratio_nofsync": med["dvc"] / med["api_nofsync"],
        "ratio_cli": (med["dvc"] / med["cli"]) if cli else None,
        "target": ">= 5", "pass": ok, "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
