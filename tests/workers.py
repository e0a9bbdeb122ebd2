"""Code that runs in child processes of the concurrency and crash tests.

Kept out of the test modules so a ``spawn``-ed child imports only this (and blacklake_ml),
not pytest's collection machinery. Functions report through a queue as plain tuples; any
exception is reported as ``("error", worker, traceback text)`` rather than lost.

``python workers.py crash-loop SPEC_JSON SEED`` is the crash test's child: it commits random
files forever, printing ``<commit id> <path> <sha256>`` after each acknowledged commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
import traceback
from typing import Any

from helpers import StoreSpec


def disjoint_writer(spec: StoreSpec, wid: int, queue: Any, barrier: Any, n: int) -> None:
    """Commit ``n`` files under ``w<wid>/`` on main, one commit each, as fast as possible."""
    try:
        store = spec.open()
        try:
            repo = store.repo("demo")
            barrier.wait(120)
            for i in range(n):
                data = f"writer {wid} file {i}\n".encode() * (i + 1)
                res = repo.put_bytes(data, f"w{wid}/f{i}.txt", message=f"w{wid} #{i}")
                queue.put(("commit", wid, res.commit, res.rebased))
        finally:
            store.close()
        queue.put(("done", wid))
    except BaseException:  # noqa: BLE001
        queue.put(("error", wid, traceback.format_exc()))


def same_path_writer(spec: StoreSpec, wid: int, queue: Any, barrier: Any, rounds: int) -> None:
    """Each round: stage a change to ``same.txt`` on a shared base, wait, then commit."""
    from blacklake_ml.errors import CommitConflict

    try:
        store = spec.open()
        try:
            repo = store.repo("demo")
            for r in range(rounds):
                barrier.wait(120)  # the previous round is over: everyone sees the same head
                tx = repo.transaction("main", f"round {r} writer {wid}")
                tx.put_bytes(f"round {r} writer {wid}".encode(), "same.txt")
                tx.put_bytes(f"{wid}".encode(), f"own/{wid}/{r}.txt")
                base = tx.base
                barrier.wait(120)  # every writer staged on the same base
                try:
                    res = tx.commit()
                    queue.put(("won", wid, r, base, res.commit))
                except CommitConflict as exc:
                    queue.put(("conflict", wid, r, base, exc.paths))
                barrier.wait(120)
        finally:
            store.close()
        queue.put(("done", wid))
    except BaseException:  # noqa: BLE001
        queue.put(("error", wid, traceback.format_exc()))


def gc_loop(spec: StoreSpec, wid: int, queue: Any, commands: Any) -> None:
    """Run ``gc(grace=0)`` after the delay each command names; ``None`` stops."""
    try:
        store = spec.open()
        try:
            queue.put(("ready", wid))
            while True:
                delay = commands.get(timeout=300)
                if delay is None:
                    break
                time.sleep(delay)
                report = store.gc(grace=0)
                queue.put(("gc", wid, report["objects_dropped"], report["packs_deleted"]))
        finally:
            store.close()
        queue.put(("done", wid))
    except BaseException:  # noqa: BLE001
        queue.put(("error", wid, traceback.format_exc()))


# -- crash child ----------------------------------------------------------------------------
def crash_loop(spec: StoreSpec, seed: int, max_size: int) -> None:
    """Commit random files forever; print ``id path sha256`` after each acknowledged one."""
    rng = random.Random(seed)
    store = spec.open()
    repo = store.repo("demo")
    tmp = os.path.join(spec.home, f"crash-src-{os.getpid()}")
    os.makedirs(tmp, exist_ok=True)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    i = 0
    while True:
        i += 1
        size = rng.choice([0, 1, rng.randrange(1, 4096), rng.randrange(1, max_size)])
        data = rng.randbytes(size)
        path = f"d{rng.randrange(4)}/f{rng.randrange(12)}.bin"
        if rng.random() < 0.5:
            local = os.path.join(tmp, "upload.bin")
            with open(local, "wb") as f:
                f.write(data)
            res = repo.put(local, path, message=f"commit {i}")
        else:
            res = repo.put_bytes(data, path, message=f"commit {i}")
        if res.created:
            sys.stdout.write(f"{res.commit} {path} {hashlib.sha256(data).hexdigest()}\n")
            sys.stdout.flush()


def main(argv: list[str]) -> int:
    if argv[1] == "crash-loop":
        spec = StoreSpec(**json.loads(argv[2]))
        crash_loop(spec, int(argv[3]), int(argv[4]))
        return 0
    raise SystemExit(f"unknown command {argv[1]!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
