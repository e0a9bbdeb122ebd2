"""`get` / `checkout` of a 1 GiB file vs a plain file copy on the same disk.

The file is committed once (at ``models/big/model.bin``), then, interleaved:
* ``copy``: ``shutil.copyfile`` of the source file to a new path (the anchor);
* ``get``: ``repo.get("main", "models/big/model.bin", out)``;
* ``checkout``: ``repo.checkout("main", out_dir, path="models/big")``;
* ``cli get`` (optional): ``blacklake get URI -o OUT`` when the CLI is importable.
Outputs are deleted between runs and dirty pages flushed before each; the order rotates from
run to run; the median of 5 runs is used.
Source file and packs are both re-read (untimed) right before every timed run, so each side
starts from a warm page cache (this VM evicts cold pages proactively; see ``_common.warm``).

Target: blacklake >= 0.5x copy speed, i.e. ``time_blacklake <= 2 * time_copy``.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import _common as c

REPO_PATH = "models/big/model.bin"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(c.PIECE):
            h.update(piece)
    return h.hexdigest()


def main() -> int:
    """Run the benchmark; print a table and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mib", type=int, default=None, help="file size (default 1024)")
    p.add_argument("--repeats", type=int, default=None, help="runs each (default 5)")
    args = p.parse_args()
    c.print_load("at start")
    size = (args.size_mib or (64 if args.quick else 1024)) * c.MiB
    repeats = args.repeats or (3 if args.quick else 5)
    cli = c.blacklake_cli()

    times: dict[str, list[float]] = {"copy": [], "get": [], "checkout": []}
    if cli:
        times["cli_get"] = []
    with c.workdir(args, "get") as wd:
        src = c.write_random_file(wd / "src" / "model.bin", size)
        want = sha256(src)
        home = wd / "home"
        out = wd / "out"
        store = c.open_store(home)
        try:
            repo = store.create_repo("bench")
            put_s, _ = c.timed(repo.put, src, REPO_PATH, message="big file")
            env = c.blacklake_cli_env(home)
            checked: list[bool] = []

            def copy() -> float:
                t, _ = c.timed(shutil.copyfile, src, out / "copy.bin")
                return t

            def get() -> float:
                t, n = c.timed(repo.get, "main", REPO_PATH, out / "get.bin")
                assert n == size
                if not checked:
                    assert sha256(out / "get.bin") == want, "get wrote wrong bytes"
                    checked.append(True)
                return t

            def checkout() -> float:
                t, n = c.timed(repo.checkout, "main", out / "co", path="models/big")
                assert n == size and (out / "co" / "model.bin").stat().st_size == size
                return t

            def cli_get() -> float:
                assert cli is not None
                return c.timed_run([*cli, "get", f"blacklake://bench/main/{REPO_PATH}", "-o",
                                    str(out / "cli.bin")], env=env)

            methods = {"copy": copy, "get": get, "checkout": checkout, "cli_get": cli_get}
            # Untimed warm-up: the first large write of a run is often much slower here
            # (fresh guest memory), whichever side happens to go first.
            out.mkdir(parents=True)
            shutil.copyfile(src, out / "warmup.bin")
            c.remove(out)
            for i in range(repeats):
                for name in c.rotated(list(times), i):
                    out.mkdir(parents=True)
                    c.warm(src, home / "objects" / "packs")
                    times[name].append(methods[name]())
                    c.remove(out)
        finally:
            store.close()

    med = {k: c.median(v) for k, v in times.items()}
    best = c.best_of(times)
    mb = size / 1e6
    rows = [["shutil.copyfile (anchor)", med["copy"], c.rate(mb, med["copy"]), 1.0]]
    for key, label in (("get", "repo.get"), ("checkout", "repo.checkout"),
                       ("cli_get", "blacklake get (cli)")):
        if key in med:
            rows.append([label, med[key], c.rate(mb, med[key]), med["copy"] / med[key]])
    if not cli:
        rows.append(["blacklake get (cli)", "n/a", "n/a", "CLI not importable"])
    c.table(rows, ["what", "median s", "MB/s", "copy_s / this_s"],
            f"reading out one {size // c.MiB} MiB file, {repeats} run(s) each "
            f"(put took {put_s:.2f} s)")
    speed_get = med["copy"] / med["get"]
    speed_co = med["copy"] / med["checkout"]
    ok = speed_get >= 0.5 and speed_co >= 0.5
    print(f"best of {repeats}: copy {best['copy']:.3f} s, get {best['get']:.3f} s "
          f"({best['copy'] / best['get']:.2f}x), checkout {best['checkout']:.3f} s "
          f"({best['copy'] / best['checkout']:.2f}x)")
    print(f"\nspeed vs copy: get {speed_get:.2f}x, checkout {speed_co:.2f}x "
          f"(target >= 0.5x): {c.verdict(ok)}")
    c.print_load("at end")
    c.emit({
        "benchmark": "get", "quick": args.quick, "size_bytes": size,
        "repeats": repeats, "times_s": times, "median_s": med, "best_s": best,
        "ratio_get_best": best["copy"] / best["get"],
        "ratio_checkout_best": best["copy"] / best["checkout"],
        "copy_MBps": c.rate(mb, med["copy"]), "get_MBps": c.rate(mb, med["get"]),
        "checkout_MBps": c.rate(mb, med["checkout"]),
        "ratio_get": speed_get, "ratio_checkout": speed_co,
        "ratio_cli_get": (med["copy"] / med["cli_get"]) if cli else None,
        "target": ">= 0.5", "pass": ok, "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
