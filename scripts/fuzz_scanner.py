"""Fuzz the model scanner for a CPU-time budget (``python scripts/fuzz_scanner.py --minutes 60``).

Inputs: opcode soups (valid and invalid pickle fragments, payload snippets, protocol switches),
benign files saved by the real libraries mutated by flips/insertions/truncations, and those
wrapped in gzip/zip/tar/npy. For each input the scanner must (1) return a verdict, never raise
or report an internal failure, (2) finish within ``--limit`` seconds, and (3) never say
``safe`` when CPython's own unpickler (the recording, non-executing one of
``tests/scan/oracle.py``) would look up a global outside the allow-list. Failures are written to
``--out`` for replay and counted; the exit code is non-zero when any was found.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scan"))

from oracle import record_pairs  # noqa: E402

from blacklake_ml.extract._pickle_policy import (  # noqa: E402
    allowed_modules,
    as_loaded,
    is_allowed,
)
from blacklake_ml.extract._pickle_scan import _IDENT  # noqa: E402
from blacklake_ml.extract.local import BytesSource  # noqa: E402
from blacklake_ml.scan import SAFE, scan_source  # noqa: E402

FRAGMENTS = [
    b"(", b")", b"]", b"}", b"N", b"\x88", b"\x89", b"t", b"l", b"d", b"a", b"e", b"s", b"u",
    b"R", b"b", b"0", b"1", b"2", b"o", b"i__builtin__\nset\n", b"\x85", b"\x86", b"\x87",
    b"\x93", b"\x94", b"\x81", b"\x92", b"\x82\x01", b"q\x00", b"q\x01", b"h\x00", b"h\x01",
    b"r\x00\x00\x00\x00", b"j\x00\x00\x00\x00", b"K\x05", b"M\x00\x01", b"J\xff\xff\xff\xff",
    b"I12\n", b"I0x1\n", b"I010\n", b"I-0\n", b"I 5\n", b"I1_0\n", b"L5L\n", b"L0x5\n",
    b"F1.5\n", b"\x80\x00", b"\x80\x01", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05",
    b"\x95\x10\x00\x00\x00\x00\x00\x00\x00", b"cos\nsystem\n", b"cposix\nsystem\n",
    b"cbuiltins\nlist\n", b"c__builtin__\nset\n", b"c__builtin__\neval\n",
    b"ccopy_reg\n_reconstructor\n", b"cnumpy\ndtype\n", b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"\x8c\x02os", b"\x8c\x06system", b"\x8c\x0fsklearn._config", b"\x8c\tos.system",
    b"\x8c\x08builtins", b"\x8c\x04eval", b"\x8c\x04list", b"\x8c\x05numpy", b"\x8c\x05dtype",
    b"\x8c\x13joblib.numpy_pickle", b"\x8c\x11NumpyArrayWrapper", b"S'a'\n", b"S\"b\"\n",
    b"Vx\n", b"X\x01\x00\x00\x00y", b"C\x01z", b"B\x02\x00\x00\x00zz", b"U\x01q",
    b"\x8f", b"\x90", b"\x91", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00z", b"\x97", b"\x98",
    b"P1\n", b"Q", b"\x82\x05", b"\x83\x05\x00", b".", b"p0\n", b"g0\n",
]


def _soup(rng: random.Random) -> bytes:
    return b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 60))) + \
        (b"." if rng.random() < 0.8 else b"")


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        if not b:
            b += _soup(rng)
        elif op < 0.4:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op < 0.7:
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.choice(FRAGMENTS)
        elif op < 0.85:
            del b[rng.randrange(len(b)):][: rng.randint(1, 64)]
        else:
            i = rng.randrange(len(b) + 1)
            b[i:i] = _soup(rng)
    return bytes(b)


def _wrap(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    r = rng.random()
    if r < 0.15:
        return "m.pkl.gz", gzip.compress(data)
    if r < 0.3:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("archive/data.pkl", data)
            if rng.random() < 0.3:
                z.writestr("archive/data.pkl", _soup(rng))
            z.writestr("archive/version", "3\n")
        return "m.pt", out.getvalue()
    if r < 0.4:
        header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
        header += b" " * (63 - len(header) % 64) + b"\n"
        return "m.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data
    return rng.choice(["m.pkl", "m.bin", "m.joblib", "m.pt", "m.dat", "notes.txt"]), data


def _seeds() -> list[bytes]:
    import pickle

    import numpy as np

    seeds = [pickle.dumps({"a": [1, 2.5, "x", b"y", (None, True)]}, protocol=p)
             for p in range(6)]
    seeds.append(pickle.dumps(np.arange(6).reshape(2, 3), protocol=2))
    seeds.append(pickle.dumps(np.array(["ab"], dtype="U2"), protocol=4))
    try:
        import joblib

        buf = io.BytesIO()
        joblib.dump([np.arange(4.0), {"k": np.array(["abc"])}], buf)
        seeds.append(buf.getvalue())
    except ImportError:
        pass
    return seeds


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def _unlisted(data: bytes) -> list[str]:
    """Globals CPython's parser looks up that are not on the allow-list (proto-mapped)."""
    seen = record_pairs(data)
    out = []
    for mod, nm in seen:
        # the recorder sees raw names; the scanner maps protocol < 3 names first
        if is_allowed(mod, nm) or is_allowed(*as_loaded(mod, nm, 2)):
            continue
        lmod = as_loaded(mod, nm, 2)[0]
        if not _IDENT.fullmatch(mod) or (
                {mod, lmod} & allowed_modules() and not _IDENT.fullmatch(nm)):
            continue  # nothing importable: the load fails there
        out.append(f"{mod}.{nm}")
    return out


def _worker(args: argparse.Namespace) -> int:
    """Fuzz until this process has spent ``args.minutes`` of CPU; stats as JSON on stdout.

    Before each scan the input is written to ``<out>/current`` (a pwrite on an open file:
    the page cache keeps it when this process is killed), so the supervisor can keep the
    input that crashed the interpreter.
    """
    warnings.simplefilter("ignore")  # zipfile's "Duplicate name" is an intended input
    rng = random.Random(args.seed)
    seeds = _seeds()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cur = os.open(out / "current", os.O_RDWR | os.O_CREAT, 0o644)
    signal.signal(signal.SIGALRM, _alarm)
    # the oracle (CPython's unpickler) allocates a memo slot per LONG_BINPUT index: bound it
    resource.setrlimit(resource.RLIMIT_AS, (6 * 1024**3, 6 * 1024**3))
    budget = args.minutes * 60
    start_cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    n = fails = 0
    kinds: dict[str, int] = {}
    slowest = 0.0
    while resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_cpu < budget:
        raw = _soup(rng) if rng.random() < 0.5 else _mutate(rng, rng.choice(seeds))
        name, data = _wrap(rng, raw)
        n += 1
        tag = name.encode() + b"\0"
        os.ftruncate(cur, 0)
        os.pwrite(cur, tag + data, 0)
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.limit)
        problem = None
        took = 0.0
        try:
            v = scan_source(BytesSource(name, data))
            took = time.perf_counter() - t0
            signal.setitimer(signal.ITIMER_REAL, 0)
            if any(r.startswith("scan failed") for r in v.reasons):
                problem = "internal error: " + "; ".join(v.reasons)[:300]
            elif v.verdict == SAFE and name.endswith((".pkl", ".bin", ".joblib", ".pt", ".dat")) \
                    and raw is data:
                bad = _unlisted(data)
                if bad:
                    problem = f"safe, but CPython's parser looks up {bad[:5]}"
        except _Timeout:
            problem = f"over the {args.limit} s limit"
        except Exception as e:  # noqa: BLE001 - scan_source must never raise
            problem = f"raised {type(e).__name__}: {e}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if problem and problem.startswith("over"):
            took = args.limit
        slowest = max(slowest, took)
        if problem is None and took > args.limit:
            problem = f"over the {args.limit} s limit ({took:.1f} s, in C code)"
        if problem:
            fails += 1
            kind = problem.split(":")[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            (out / f"{args.seed}-{n:08d}-{name}").write_bytes(data)
            (out / f"{args.seed}-{n:08d}-{name}.txt").write_text(problem)
        if n % 50000 == 0:
            print(f"# seed {args.seed}: {n} inputs, {fails} failures, slowest {slowest:.2f}s",
                  file=sys.stderr, flush=True)
    os.close(cur)
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_cpu
    print(json.dumps({"inputs": n, "failures": fails, "kinds": kinds, "cpu_seconds": cpu,
                      "slowest_seconds": slowest}))
    return 0


def main() -> int:
    """Supervise workers (one per core) until the CPU budget is spent; a worker the
    interpreter lost (a signal: segfault, abort, out of memory) is a failure whose input is
    kept, and a fresh worker with the next seed takes its place."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="CPU minutes to spend in all")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds allowed per input")
    ap.add_argument("--seed", type=int, default=0, help="first worker seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--slice", type=float, default=5.0, help="CPU minutes per worker run")
    ap.add_argument("--out", default="fuzz-failures")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return _worker(args)
    out = Path(args.out)
    budget = args.minutes * 60
    total = {"inputs": 0, "failures": 0, "crashes": 0, "cpu_seconds": 0.0,
             "slowest_seconds": 0.0, "kinds": {}, "workers": 0}
    next_seed = args.seed
    running: dict[int, tuple[subprocess.Popen[str], Path]] = {}

    def spawn() -> None:
        nonlocal next_seed
        left = budget - total["cpu_seconds"] - sum(args.slice * 60 for _ in running)
        if left <= 1:
            return
        wdir = out / f"w{next_seed}"
        cmd = [sys.executable, __file__, "--worker", "--seed", str(next_seed),
               "--minutes", str(min(args.slice, left / 60)), "--limit", str(args.limit),
               "--out", str(wdir)]
        running[next_seed] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True), wdir)
        next_seed += 1

    t0 = time.monotonic()
    for _ in range(args.jobs):
        spawn()
    while running:
        pid, status, usage = os.wait4(-1, 0)
        seed = next(s for s, (p, _) in running.items() if p.pid == pid)
        proc, wdir = running.pop(seed)
        proc.returncode = os.waitstatus_to_exitcode(status)
        total["cpu_seconds"] += usage.ru_utime
        total["workers"] += 1
        report = proc.stdout.read() if proc.stdout else ""
        if proc.returncode == 0 and report.strip():
            r = json.loads(report.strip().splitlines()[-1])
            for k in ("inputs", "failures"):
                total[k] += r[k]
            total["slowest_seconds"] = max(total["slowest_seconds"], r["slowest_seconds"])
            for k, v in r["kinds"].items():
                total["kinds"][k] = total["kinds"].get(k, 0) + v
        else:  # the interpreter died: keep the input it was scanning
            total["crashes"] += 1
            total["failures"] += 1
            blob = (wdir / "current").read_bytes() if (wdir / "current").exists() else b""
            name, _, data = blob.partition(b"\0")
            (wdir / f"crash-{name.decode(errors='replace')}").write_bytes(data)
            (wdir / f"crash-{name.decode(errors='replace')}.txt").write_text(
                f"worker exited with {proc.returncode}")
        print(f"# worker {seed} done (rc {proc.returncode}); {total['cpu_seconds'] / 60:.1f} "
              f"of {args.minutes:g} CPU min, {total['inputs']} inputs, "
              f"{total['failures']} failures, {time.monotonic() - t0:.0f} s", flush=True)
        spawn()
    total["cpu_seconds"] = round(total["cpu_seconds"])
    total["slowest_seconds"] = round(total["slowest_seconds"], 3)
    print(json.dumps(total))
    return 1 if total["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
