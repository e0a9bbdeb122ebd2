"""Shared helpers for the benchmarks: timing, temp dirs, DVC/CLI subprocesses, tables, JSON.

Every benchmark measures its anchor in the same run and reports ratios: the machine is
shared and noisy, so absolute times are printed for information only and never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Size of the pieces random files are generated and written in.
PIECE = 64 * MiB

# DVC must never phone home, in this process or in any subprocess it starts.
os.environ["DVC_NO_ANALYTICS"] = "1"
os.environ.setdefault("DVC_NO_UPDATE_CHECK", "1")


# -- arguments and work dirs --------------------------------------------------------------
def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="small sizes for a smoke run (CI); figures are not meaningful")
    p.add_argument("--workdir", default=None,
                   help="parent directory for temporary data (default: the system temp dir)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (its path is printed)")
    return p


@contextlib.contextmanager
def workdir(args: argparse.Namespace, name: str) -> Iterator[Path]:
    """A fresh temporary directory, removed afterwards unless ``--keep``."""
    parent = args.workdir or None
    if parent:
        os.makedirs(parent, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"blbench-{name}-", dir=parent))
    try:
        yield path
    finally:
        if args.keep:
            print(f"# kept work dir: {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def remove(path: str | os.PathLike[str]) -> None:
    """Delete a file or directory tree if it exists."""
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


# -- timing -------------------------------------------------------------------------------
def settle() -> None:
    """Flush dirty pages and collect garbage before a timed section.

    Without this, one measurement pays for writing back the previous one's dirty pages.
    """
    gc.collect()
    os.sync()


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """``(wall seconds, result)`` of ``fn(*args, **kwargs)``, after :func:`settle`."""
    settle()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation."""
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def rotated(items: Sequence[T], i: int) -> list[T]:
    """``items`` rotated left by ``i``: run *i* of an interleaved benchmark starts with a
    different contestant, so none is always the one right after another's big write."""
    k = i % len(items) if items else 0
    return [*items[k:], *items[:k]]


def best_of(times: dict[str, list[float]]) -> dict[str, float]:
    """The fastest sample of each contestant (noise only ever adds time: a cross-check on
    the medians when the machine is busy)."""
    return {k: min(v) for k, v in times.items() if v}


def rate(amount: float, seconds: float) -> float:
    """``amount`` per second (0 if ``seconds`` is 0)."""
    return amount / seconds if seconds > 0 else 0.0


# -- data ---------------------------------------------------------------------------------
def write_random_file(path: str | os.PathLike[str], size: int, piece: int = PIECE) -> Path:
    """Write ``size`` bytes of ``os.urandom`` to ``path`` in ``piece``-sized writes."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "wb") as f:
        left = size
        while left:
            n = min(piece, left)
            f.write(os.urandom(n))
            left -= n
    return p


def rewrite_regions(buf: bytearray, rng: random.Random, *, fraction: float = 0.05,
                    regions: int = 20, start: int = 0) -> None:
    """Overwrite ~``fraction`` of ``buf[start:]`` with random bytes in ``regions`` scattered
    regions, in place: the "checkpoint after some training" model every dedup figure uses."""
    size = len(buf) - start
    run = max(1, int(size * fraction / regions))
    for _ in range(regions):
        off = rng.randrange(start, len(buf) - run)
        buf[off:off + run] = os.urandom(run)


def warm(*paths: str | os.PathLike[str]) -> int:
    """Read every file at or below ``paths`` (untimed) so the next timed read is warm.

    This VM runs DAMON proactive reclaim (``kdamond``, action ``pageout``): page-cache pages
    left untouched for a while are evicted, so a file written a minute ago may be cold again.
    Both sides of every comparison are warmed the same way right before they are timed.
    Returns the bytes read.
    """
    buf = bytearray(8 * MiB)
    total = 0
    for path in paths:
        p = Path(path)
        files = [p] if p.is_file() else [Path(d) / f for d, _s, fs in os.walk(p) for f in fs]
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                while n := fh.readinto(buf):
                    total += n
    return total


def tree_bytes(path: str | os.PathLike[str]) -> int:
    """Sum of the sizes of all regular files below ``path`` (0 if it does not exist)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                total += os.stat(full).st_size
    return total


def tree_count(path: str | os.PathLike[str]) -> int:
    """Number of regular files below ``path``."""
    return sum(len(files) for _d, _s, files in os.walk(path))


# -- blacklake ----------------------------------------------------------------------------
def open_store(home: str | os.PathLike[str]) -> Any:
    """``blacklake_ml.Store.open(home)``: local disk + SQLite, default configuration."""
    import blacklake_ml

    return blacklake_ml.Store.open(home)


def ensure_bytecode() -> None:
    """Compile the package's bytecode before timing fresh processes.

    With an editable install and ``PYTHONDONTWRITEBYTECODE`` set (as on these machines),
    every new process would compile again each module edited since the install, and a
    start-up benchmark would measure the compiler. (A wheel ships compiled files; the CI
    install runs ``compileall`` too.)
    """
    import compileall

    import blacklake_ml
    compileall.compile_dir(str(Path(blacklake_ml.__file__).parent), quiet=1)


def blacklake_cli() -> list[str] | None:
    """Command prefix running the ``blacklake`` CLI with this interpreter, or None.

    None when ``blacklake_ml.cli.main:main`` does not import (the CLI is optional here).
    """
    probe = subprocess.run(
        [sys.executable, "-c", "from blacklake_ml.cli.main import main"],
        check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    ensure_bytecode()
    return [sys.executable, "-c",
            "import sys; from blacklake_ml.cli.main import main; sys.exit(main())"]


def blacklake_cli_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """Environment pointing the CLI at the store in ``home`` (and nothing else)."""
    env = dict(os.environ)
    for key in ("BLACKLAKE_STORAGE", "BLACKLAKE_CATALOG", "BLACKLAKE_CONFIG"):
        env.pop(key, None)
    env["BLACKLAKE_HOME"] = str(home)
    return env


# -- subprocesses and DVC -----------------------------------------------------------------
DVC = [sys.executable, "-m", "dvc"]


def time_put_api(src: Path, home: str | os.PathLike[str], dest: str, message: str) -> tuple[
        float, Any]:
    """Seconds (and the CommitResult) for ``repo.put`` of a warm ``src`` into a fresh store
    (store set-up untimed)."""
    store = open_store(home)
    try:
        repo = store.create_repo("bench")
        warm(src)
        return timed(repo.put, src, dest, message=message)
    finally:
        store.close()


def time_put_cli(cli: list[str], src: Path, home: str | os.PathLike[str], dest: str,
                 message: str) -> float:
    """Seconds for ``blacklake put`` of a warm ``src`` (subprocess; init, repo create untimed)."""
    env = blacklake_cli_env(home)
    run([*cli, "init"], env=env)
    run([*cli, "repo", "create", "bench"], env=env)
    warm(src)
    return timed_run([*cli, "put", str(src), f"blacklake://bench/main/{dest}", "-m", message],
                     env=env)


def run(cmd: Sequence[str], cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; raise with its output if it fails."""
    proc = subprocess.run(list(cmd), check=False, cwd=cwd, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc


def timed_run(cmd: Sequence[str], cwd: str | os.PathLike[str] | None = None,
              env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of a subprocess (including its interpreter start-up)."""
    settle()
    t0 = time.perf_counter()
    run(cmd, cwd=cwd, env=env)
    return time.perf_counter() - t0


def dvc_version() -> str:
    """Installed DVC version (raises if DVC is missing: ``pip install dvc``)."""
    return run([*DVC, "--version"]).stdout.strip()


def dvc_env(project: str | os.PathLike[str]) -> dict[str, str]:
    """Environment for DVC commands in ``project``: its state DBs stay inside the project.

    ``DVC_SITE_CACHE_DIR`` (DVC's hash and link caches, by default shared under
    ``/var/tmp/dvc``) points into the project, so one project's hash cache never helps the
    next and nothing is left behind.
    """
    env = dict(os.environ)
    env["DVC_SITE_CACHE_DIR"] = str(Path(project) / ".dvc" / "site-cache")
    return env


def dvc(project: str | os.PathLike[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``dvc ARGS`` in ``project``."""
    return run([*DVC, *args], cwd=project, env=dvc_env(project))


def timed_dvc(project: str | os.PathLike[str], *args: str) -> float:
    """Wall-clock seconds of ``dvc ARGS`` in ``project`` (including DVC's start-up)."""
    return timed_run([*DVC, *args], cwd=project, env=dvc_env(project))


def dvc_init(project: str | os.PathLike[str]) -> Path:
    """A fresh ``dvc init --no-scm`` project (see :func:`dvc_env`)."""
    p = Path(project)
    p.mkdir(parents=True, exist_ok=True)
    dvc(p, "init", "--no-scm", "-q")
    return p


def dvc_startup(repeats: int = 3) -> float:
    """Median wall seconds of ``dvc --version`` (interpreter + CLI start-up)."""
    return median([timed_run([*DVC, "--version"]) for _ in range(repeats)])


def dvc_cache_bytes(project: str | os.PathLike[str]) -> int:
    """Bytes under the project's ``.dvc/cache``."""
    return tree_bytes(Path(project) / ".dvc" / "cache")


# -- output -------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    """Compact human formatting for table cells."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], title: str = "") -> None:
    """Print a plain-text table."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    if title:
        print(f"\n== {title} ==")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
    sys.stdout.flush()


def emit(result: dict[str, Any]) -> None:
    """Print the one final JSON line with the figures (``run_all.py`` parses it)."""
    print(json.dumps(result, sort_keys=False, default=str), flush=True)


def verdict(ok: bool) -> str:
    """``PASS`` / ``MISS`` for a target."""
    return "PASS" if ok else "MISS"


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "fsync_env": os.environ.get("BLACKLAKE_FSYNC"),
            "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def print_load(when: str) -> None:
    """Print the load average (other tenants of the machine distort every figure)."""
    one, five, _ = os.getloadavg()
    print(f"# load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on "
          f"{os.cpu_count()} CPUs", flush=True)
