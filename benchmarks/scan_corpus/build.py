"""Generate the scanner corpus into a cache directory and verify every entry.

Verification: each entry's natural loader (``Entry.loader``) runs in a fresh child process
of the project's interpreter, with ``P`` = the entry's absolute path, the working directory
and ``HF_HOME`` in a scratch directory, ``BLSCAN_MARKER`` = a path that does not exist yet,
``HF_HUB_OFFLINE=1``, ``KERAS_BACKEND=torch`` and a timeout. A malicious entry is kept only
if the marker file exists afterwards (its payload ran; the loader may fail after that); a
benign entry only if the loader exits 0 and no marker appeared. Everything else is dropped
with a printed note. The files are cached under a fingerprint of the generator's source and
the library versions; verification results are cached by a hash of each entry's bytes and
loader, so a second run re-verifies only what changed.

    python -m scan_corpus.build [--out DIR] [--quick] [--rebuild] [--only SUBSTR]
(run from benchmarks/; the bench script calls :func:`prepare`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import Entry, entries, generation_env

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path(os.environ.get("BLACKLAKE_BENCH_CACHE",
                                    Path.home() / ".cache" / "blacklake-bench")) / "scan_corpus"
VERIFY_TIMEOUT = 240.0
LIBS = ["numpy", "scipy", "sklearn", "joblib", "torch", "keras", "transformers", "skops",
        "onnx", "safetensors", "mlflow", "cloudpickle", "h5py", "skl2onnx"]


def fingerprint(source: bool = True) -> str:
    """Hash of the interpreter, the library versions and (``source``) the generator's code."""
    h = hashlib.sha256()
    if source:
        for f in sorted(HERE.glob("*.py")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    h.update(sys.version.encode())
    from importlib import metadata

    for lib in LIBS:
        name = {"sklearn": "scikit-learn"}.get(lib, lib)
        try:
            h.update(f"{lib}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}=-".encode())
    return h.hexdigest()[:16]


def child_env(scratch: Path, marker: Path, path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BLSCAN_MARKER": str(marker), "BLSCAN_PATH": str(path),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(scratch / "hf"), "KERAS_BACKEND": "torch",
        "KERAS_HOME": str(scratch / "keras"), "MLFLOW_TRACKING_URI": f"file:{scratch}/mlruns",
        "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1",
        "DISABLE_MLFLOW_INTEGRATION": "TRUE", "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    })
    return env


PRELUDE = "import os, sys\nP = os.environ['BLSCAN_PATH']\n"


def verify_one(root: Path, e: Entry, python: str, timeout: float) -> dict[str, Any]:
    """Run ``e``'s loader in a child; what happened."""
    path = (root / e.rel).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="blscan-verify-"))
    marker = scratch / f"marker-{abs(hash(e.id)):x}"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, "-c", PRELUDE + e.loader], cwd=scratch,
                              env=child_env(scratch, marker, path), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        rc: Any = proc.returncode
        tail = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()][-1:]
    except subprocess.TimeoutExpired:
        rc, tail = "timeout", []
    executed = marker.exists()
    shutil.rmtree(scratch, ignore_errors=True)
    ok = executed if e.malicious else (rc == 0 and not executed)
    return {"ok": ok, "executed": executed, "rc": rc, "error": tail[0][:300] if tail else "",
            "seconds": round(time.perf_counter() - t0, 2)}


def content_key(path: Path, e: Entry) -> str:
    """Hash of the entry's bytes (a folder: every file's relative path and bytes), its
    loader and its kind: the key verification results are cached under."""
    h = hashlib.sha256(e.loader.encode() + (b"M" if e.malicious else b"B"))
    files = [path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())
    for f in files:
        h.update(str(f.relative_to(path) if f != path else "").encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def make_all(root: Path, todo: list[Entry]) -> dict[str, str]:
    """Write every entry (in this process, sequentially); id -> error for those that fail."""
    errors = {}
    generation_env()
    for e in todo:
        path = root / e.rel
        if path.exists():
            continue
        tmp = path.with_name(".partial-" + path.name)  # keeps the extension (Keras checks it)
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()
        try:
            e.make(tmp)
            tmp.rename(path)
        except Exception as exc:  # a generator bug drops the entry, loudly
            errors[e.id] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
    return errors


def select(all_entries: list[Entry], quick: bool, only: str = "") -> list[Entry]:
    out = [e for e in all_entries if (not quick or (e.quick and not e.big))]
    if only:
        out = [e for e in out if only in e.id]
    return out


def prepare(cache: Path | None = None, *, quick: bool = False, rebuild: bool = False,
            only: str = "", jobs: int = 2, python: str | None = None,
            log=print) -> tuple[Path, list[Entry], dict[str, dict[str, Any]]]:
    """Build and verify the corpus; returns (root, the selected entries, verification).

    Entries whose verification failed are still returned, with ``ok`` False: callers
    leave them out of every count.
    """
    python = python or sys.executable
    cache = cache or DEFAULT_CACHE
    root = cache / fingerprint()
    if rebuild and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    for old in cache.iterdir():  # corpora of older generator code or library versions
        if old.is_dir() and old != root and (old / ".blscan-corpus").exists():
            shutil.rmtree(old, ignore_errors=True)
    (root / ".blscan-corpus").touch()
    chosen = select(entries(), quick, only)
    t0 = time.perf_counter()
    make_errors = make_all(root, chosen)
    log(f"# corpus: {len(chosen)} entries in {root} (generated in "
        f"{time.perf_counter() - t0:.1f} s)")
    # verification results are cached by content (shared by corpora of the same libraries)
    results_file = cache / f"verified-{fingerprint(source=False)}.json"
    cached: dict[str, dict[str, Any]] = {}
    if results_file.exists() and not rebuild:
        cached = json.loads(results_file.read_text())
    results: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    todo = []
    for e in chosen:
        if e.id in make_errors:
            results[e.id] = {"ok": False, "executed": False, "rc": None,
                             "error": "generation failed: " + make_errors[e.id], "seconds": 0}
            continue
        keys[e.id] = content_key(root / e.rel, e)
        if keys[e.id] in cached:
            results[e.id] = cached[keys[e.id]]
        else:
            todo.append(e)
    t0 = time.perf_counter()
    if todo:
        log(f"# verifying {len(todo)} entries under their loaders ({jobs} at a time)...")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futs = {e.id: pool.submit(verify_one, root, e, python, VERIFY_TIMEOUT)
                    for e in todo}
            for e in todo:
                results[e.id] = futs[e.id].result()
        cached.update({keys[e.id]: results[e.id] for e in todo})
        results_file.write_text(json.dumps(cached, indent=1, sort_keys=True))
        log(f"# verified in {time.perf_counter() - t0:.1f} s")
    for e in chosen:
        r = results[e.id]
        if not r["ok"]:
            why = ("payload did not run" if e.malicious and not r["executed"] else
                   "benign file did not load cleanly" if not e.malicious else "?")
            log(f"# DROPPED {e.id}: {why} (rc={r['rc']}; {r['error']})")
    return root, chosen, results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help=f"cache directory (default {DEFAULT_CACHE})")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--jobs", type=int, default=2)
    args = p.parse_args()
    root, chosen, results = prepare(Path(args.out) if args.out else None, quick=args.quick,
                                    rebuild=args.rebuild, only=args.only, jobs=args.jobs)
    for e in chosen:
        r = results[e.id]
        print(f"{'ok ' if r['ok'] else 'DROP'} {e.id:70s} exec={r['executed']!s:5} "
              f"rc={r['rc']!s:7} {r['seconds']:6.1f}s {r['error'][:80]}")
    kept = sum(results[e.id]["ok"] for e in chosen)
    print(f"{kept}/{len(chosen)} kept; root {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
