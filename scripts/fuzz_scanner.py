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
import random
import resource
import signal
import sys
import time
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="CPU minutes to spend")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds allowed per input")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz-failures")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    seeds = _seeds()
    out = Path(args.out)
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
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{n:08d}-{name}").write_bytes(data)
            (out / f"{n:08d}-{name}.txt").write_text(problem)
        if n % 5000 == 0:
            print(f"{n} inputs, {fails} failures, slowest {slowest:.2f}s", flush=True)
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start_cpu
    print(json.dumps({"inputs": n, "failures": fails, "kinds": kinds, "cpu_seconds": round(cpu),
                      "slowest_seconds": round(slowest, 3)}))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
