"""kill -9 at random moments never corrupts the store or loses an acknowledged commit.

A child process (``workers.py crash-loop``) commits random files of random sizes in a loop and
prints ``<commit id> <path> <sha256>`` after each commit returns (that is the
acknowledgement). The test kills it with SIGKILL after a random delay, then opens the store in
this process and checks it; the next round continues on the same store.
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import StoreSpec, make_spec, sha256

from blacklake_ml.service.store import Store

WORKER = Path(__file__).with_name("workers.py")
MAX_FILE = 2 * 1024 * 1024


class Child:
    """The committing child process, with its stdout read by a thread."""

    def __init__(self, spec: StoreSpec, seed: int) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "crash-loop",
             json.dumps(dataclasses.asdict(spec)), str(seed), str(MAX_FILE)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(WORKER.parent))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode()
            if not line.endswith("\n"):
                break  # a torn last line is not an acknowledgement
            if line == "ready\n":
                self.ready.set()
            else:
                self.lines.append(line.strip())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(30)

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-3000:]


def verify(store: Store, acked: list[tuple[str, str, str]], kills: int,
           new_from: int = 0) -> None:
    """After ``kills`` kills: fsck clean, head present, every acknowledged commit in the log
    holding the bytes it acknowledged (checked for ``acked[new_from:]``, the ones not
    verified before), and every file of the head readable and as last written."""
    report = store.fsck()
    assert report["ok"], report["problems"]
    repo = store.repo("demo")
    head = repo.branch_head("main")
    log = repo.log("main")
    assert log[0].id == head
    assert log[-1].message == "Initialize repository"
    ids = {c.id for c in log}
    missing = [cid for cid, _, _ in acked if cid not in ids]
    assert not missing, f"acknowledged commits lost: {missing}"
    # The child commits one at a time: each kill can leave at most one commit that landed
    # but was not acknowledged yet.
    by_id = {cid: (path, digest) for cid, path, digest in acked}
    unacked = [c.id for c in log[:-1] if c.id not in by_id]
    assert len(unacked) <= kills, unacked
    assert all(len(c.parents) == 1 for c in log[:-1])  # one straight line
    for cid, path, digest in acked[new_from:]:
        assert sha256(repo.read_bytes(cid, path)) == digest, (cid, path)
    # Every file of the head reads back, matches its recorded digest, and is what the newest
    # commit touching it wrote: the acknowledged bytes, unless that commit is unacknowledged.
    for e in repo.ls("main", recursive=True):
        data = repo.read_bytes("main", e["path"])
        assert len(data) == e["size"]
        assert sha256(data) == store.odb.file(e["id"]).sha256
        newest = repo.log("main", path=e["path"], limit=1)[0].id
        if newest in by_id:
            assert by_id[newest] == (e["path"], sha256(data)), e["path"]
        else:
            assert newest in unacked, e["path"]


def crash_rounds(spec: StoreSpec, rounds: int, rng: random.Random) -> int:
    st = spec.open()
    try:
        st.create_repo("demo")
    finally:
        st.close()
    acked: list[tuple[str, str, str]] = []
    for r in range(rounds):
        child = Child(spec, rng.randrange(1 << 30))
        try:
            if not child.ready.wait(120):
                pytest.fail(f"child never got ready:\n{child.stderr()}")
            time.sleep(rng.uniform(0.05, 1.5))
            assert child.proc.poll() is None, f"child died early:\n{child.stderr()}"
        finally:
            child.kill()
        before = len(acked)
        for line in child.lines:
            cid, path, digest = line.split()
            acked.append((cid, path, digest))
        st = spec.open()
        try:
            verify(st, acked, r + 1, before)
        finally:
            st.close()
    st = spec.open()
    try:
        st.gc(grace=0)
        verify(st, acked, rounds)
    finally:
        st.close()
    return len(acked)


@pytest.mark.slow
def test_kill_9_while_committing_local(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    seed = random.randrange(1 << 30)
    print(f"random seed: {seed}")  # shown when the test fails
    spec = make_spec(request, "local", tmp_path / "home")
    n = crash_rounds(spec, 10, random.Random(seed))
    assert n > 10, f"too few commits were acknowledged to mean anything (seed {seed})"


@pytest.mark.slow
@pytest.mark.s3
@pytest.mark.postgres
def test_kill_9_while_committing_s3pg(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    seed = random.randrange(1 << 30)
    print(f"random seed: {seed}")  # shown when the test fails
    spec = make_spec(request, "s3pg", tmp_path / "home")
    n = crash_rounds(spec, 3, random.Random(seed))
    assert n > 3, f"too few commits were acknowledged to mean anything (seed {seed})"
