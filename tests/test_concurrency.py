"""Concurrent writers and gc, across real processes (``spawn``) and threads, on both backends.

* disjoint writers to one branch all land (automatic rebase);
* writers changing the same path: exactly one wins, the other gets ``CommitConflict``;
* gc(grace=0) racing a writer that deduplicates against unreachable data never leaves a
  commit pointing at collected objects (the gc/commit barrier).
"""
# ruff: noqa: F811 - pytest fixtures imported from helpers are used as parameters

from __future__ import annotations

import itertools
import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import workers
from helpers import (  # noqa: F401 - fixtures are found by name
    StoreSpec,
    collect,
    rand,
    store,
    store_spec,
)

from blacklake_ml.core.objects import FILE, TreeEntry
from blacklake_ml.core.progress import Progress
from blacklake_ml.errors import CommitConflict, ObjectsVanished
from blacklake_ml.service.commit import publish
from blacklake_ml.service.packs import PackWriter, pack_key
from blacklake_ml.service.store import Store
from blacklake_ml.service.trees import TreeBuilder

CTX = multiprocessing.get_context("spawn")


def start_workers(target: Callable[..., None], spec: StoreSpec, n: int, *args: Any
                  ) -> tuple[list[Any], Any]:
    q = CTX.Queue()
    procs = [CTX.Process(target=target, args=(spec, wid, q, *args), daemon=True)
             for wid in range(n)]
    for p in procs:
        p.start()
    return procs, q


def fresh_check(spec: StoreSpec, expect: dict[str, bytes]) -> None:
    """A new handle (nothing cached) sees a sound store with exactly ``expect`` on main."""
    st = spec.open()
    try:
        report = st.fsck()
        assert report["ok"], report["problems"]
        repo = st.repo("demo")
        got = {e["path"]: repo.read_bytes("main", e["path"])
               for e in repo.ls("main", recursive=True)}
        assert got.keys() == expect.keys()
        for path, data in expect.items():
            assert got[path] == data, path
    finally:
        st.close()


# -- (a) disjoint writers -------------------------------------------------------------------
@pytest.mark.slow
def test_disjoint_writers_in_processes_all_land(store_spec: StoreSpec) -> None:
    n_workers, n_commits = 4, 10
    st = store_spec.open()
    try:
        repo = st.create_repo("demo")
        init = repo.branch_head("main")
    finally:
        st.close()
    barrier = CTX.Barrier(n_workers)
    procs, q = start_workers(workers.disjoint_writer, store_spec, n_workers, barrier, n_commits)
    msgs = collect(procs, q)
    commits = [m for m in msgs if m[0] == "commit"]
    assert len(commits) == n_workers * n_commits
    assert len({m[2] for m in commits}) == n_workers * n_commits

    st = store_spec.open()
    try:
        repo = st.repo("demo")
        log = repo.log("main")
        assert len(log) == n_workers * n_commits + 1
        assert log[-1].id == init
        assert {c.id for c in log[:-1]} == {m[2] for m in commits}
        # Rebased, not merged: the history is one straight line.
        assert all(len(c.parents) == 1 for c in log[:-1])
        for newer, older in itertools.pairwise(log):
            assert newer.parents == (older.id,)
        # Each writer's commits are in its own order.
        for wid in range(n_workers):
            mine = [c.message for c in reversed(log) if c.message.startswith(f"w{wid} ")]
            assert mine == [f"w{wid} #{i}" for i in range(n_commits)]
    finally:
        st.close()
    expect = {f"w{w}/f{i}.txt": f"writer {w} file {i}\n".encode() * (i + 1)
              for w in range(n_workers) for i in range(n_commits)}
    fresh_check(store_spec, expect)


def test_staged_commits_on_a_moved_branch_are_rebased(store: Store) -> None:
    """Deterministic rebase: several transactions staged on one base, committed in turn."""
    repo = store.create_repo("demo")
    base = repo.put_bytes(b"base", "base.txt", message="base").commit
    txs = []
    for i in range(4):
        tx = repo.transaction("main", f"tx {i}")
        tx.put_bytes(f"{i}".encode(), f"dir{i}/file.txt")
        if i == 3:
            tx.delete("base.txt")
        txs.append(tx)
    assert all(tx.base == base for tx in txs)
    results = [tx.commit() for tx in txs]
    assert results[0].rebased == 0
    assert all(r.rebased >= 1 for r in results[1:])
    log = repo.log("main")
    assert [c.message for c in log[:4]] == ["tx 3", "tx 2", "tx 1", "tx 0"]
    assert [r.commit for r in reversed(results)] == [c.id for c in log[:4]]
    files = {e["path"] for e in repo.ls("main", recursive=True)}
    assert files == {f"dir{i}/file.txt" for i in range(4)}


# -- (b) same path --------------------------------------------------------------------------
@pytest.mark.slow
def test_same_path_writers_in_processes_exactly_one_conflict(store_spec: StoreSpec) -> None:
    rounds = 4
    st = store_spec.open()
    try:
        st.create_repo("demo").put_bytes(b"start", "same.txt", message="start")
    finally:
        st.close()
    barrier = CTX.Barrier(2)
    procs, q = start_workers(workers.same_path_writer, store_spec, 2, barrier, rounds)
    msgs = collect(procs, q)
    expect: dict[str, bytes] = {}
    for r in range(rounds):
        this = [m for m in msgs if m[2] == r]
        assert sorted(m[0] for m in this) == ["conflict", "won"], this
        assert this[0][3] == this[1][3]  # both staged on the same base
        won = next(m for m in this if m[0] == "won")
        lost = next(m for m in this if m[0] == "conflict")
        assert lost[4] == ["same.txt"]
        expect["same.txt"] = f"round {r} writer {won[1]}".encode()
        expect[f"own/{won[1]}/{r}.txt"] = f"{won[1]}".encode()
    st = store_spec.open()
    try:
        assert len(st.repo("demo").log("main")) == 2 + rounds
    finally:
        st.close()
    fresh_check(store_spec, expect)


def _commit_at_once(staged: list[Any]) -> dict[int, Any]:
    """Commit each staged transaction in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(staged))
    outcome: dict[int, Any] = {}

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcome[i] = staged[i].commit()
        except CommitConflict as exc:
            outcome[i] = exc
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            outcome[i] = repr(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(staged))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcome


@pytest.mark.parametrize("ours,theirs,clash", [
    ({"same.txt": b"A"}, {"same.txt": b"B"}, {"same.txt"}),
    ({"same.txt": b"A", "a": b"1"}, {"same.txt": b"B", "b": b"2"}, {"same.txt"}),
    ({"p": b"file"}, {"p/q": b"below"}, {"p", "p/q"}),
    ({"d/x": None}, {"d/x": b"edit"}, {"d/x"}),
    ({"d": None}, {"d/x": b"edit"}, {"d", "d/x"}),
], ids=["same-file", "same-file-plus-disjoint", "file-vs-dir", "delete-vs-edit",
        "delete-dir-vs-edit-inside"])
def test_same_path_writers_in_threads_exactly_one_conflict(
        store: Store, ours: dict[str, bytes | None], theirs: dict[str, bytes | None],
        clash: set[str]) -> None:
    for round_ in range(3):
        repo = store.create_repo(f"demo{round_}")
        with repo.transaction("main", "base") as tx:
            tx.put_bytes(b"base", "same.txt")
            tx.put_bytes(b"x", "d/x")
        staged = []
        for i, change in enumerate((ours, theirs)):
            tx = repo.transaction("main", f"writer {i}")
            for path, data in change.items():
                if data is None:
                    tx.delete(path)
                else:
                    tx.put_bytes(data, path)
            staged.append(tx)
        before = repo.branch_head("main")
        assert staged[0].base == staged[1].base == before
        outcome = _commit_at_once(staged)
        assert len(outcome) == 2, outcome
        conflicts = [o for o in outcome.values() if isinstance(o, CommitConflict)]
        assert len(conflicts) == 1, outcome
        assert conflicts[0].paths and set(conflicts[0].paths) <= clash, conflicts[0].paths
        winner_i = next(i for i, o in outcome.items() if not isinstance(o, CommitConflict))
        winner = outcome[winner_i]
        assert repo.branch_head("main") == winner.commit
        assert repo.log("main", limit=1)[0].parents == (before,)
        assert repo.log("main", limit=1)[0].message == f"writer {winner_i}"


# -- (c) gc racing writers ------------------------------------------------------------------
@pytest.mark.slow
def test_gc_concurrent_with_writers_deduplicating_against_unreachable_data(
        store_spec: StoreSpec) -> None:
    iterations = 20 if store_spec.backend == "local" else 12
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    st = store_spec.open()
    commands = CTX.Queue()
    procs, q = start_workers(workers.gc_loop, store_spec, 1, commands)
    expect: dict[str, bytes] = {}
    gc_reports = []
    try:
        assert q.get(timeout=120)[0] == "ready"
        repo = st.create_repo("demo")
        for i in range(iterations):
            data = rng.randbytes(rng.randrange(50_000, 400_000))
            path = f"data/{i}.bin"
            # Unreachable copy of the same content: written on a branch that is then deleted.
            repo.create_branch("tmp")
            repo.put_bytes(data, path, branch="tmp", message=f"tmp {i}")
            repo.delete_branch("tmp")
            # Same path (identical tree to the dead one) or another path.
            if rng.random() < 0.5:
                path = f"moved/{i}.bin"
            commands.put(rng.uniform(0, 0.04))
            time.sleep(rng.uniform(0, 0.04))
            res = repo.put_bytes(data, path, message=f"keep {i}")
            assert res.created
            expect[path] = data
            m = q.get(timeout=120)
            if m[0] == "error":
                pytest.fail(f"gc failed (seed {seed}):\n{m[2]}")
            gc_reports.append(m)
            assert repo.read_bytes("main", path) == data, f"seed {seed}"
        commands.put(None)
        collect(procs, q)
    finally:
        st.close()
        for p in procs:
            if p.is_alive():
                p.kill()
    fresh_check(store_spec, expect)
    # And once more after a final quiet gc.
    st = store_spec.open()
    try:
        st.gc(grace=0)
    finally:
        st.close()
    fresh_check(store_spec, expect)


class PauseAfterScan(Progress):
    """Holds gc between its mark/scan phase and its sweep until released."""

    def __init__(self) -> None:
        self.phase = ""
        self.reached = threading.Event()
        self.resume = threading.Event()

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        self.phase = description

    def finish(self) -> None:
        if self.phase == "scanning packs":
            self.reached.set()
            assert self.resume.wait(60)


def test_gc_keeps_an_object_an_inflight_commit_wrote_again(store: Store,
                                                          store_spec: StoreSpec) -> None:
    """gc marks; a writer writes an object identical to a dead one (its index row moves to
    the writer's new, young pack); gc sweeps the old pack; then the writer publishes.

    gc must drop only the row still in the swept pack, so the commit lands (no
    ObjectsVanished) with everything readable. The writer is driven step by step through the
    real pack writer, tree builder and ``publish`` so the interleaving is exact.
    """
    repo = store.create_repo("demo")
    content = rand(100_000, seed=21)
    repo.put_bytes(content, "a.txt", message="a")
    repo.create_branch("x")
    repo.put_bytes(content, "b.txt", branch="x", message="b on x")  # deduplicated content
    dead_tree = repo.entry("x").id
    old_pack = store.catalog.locate([dead_tree])[dead_tree].pack
    repo.delete_branch("x")

    hook = PauseAfterScan()
    result: dict[str, Any] = {}
    gc_thread = threading.Thread(
        target=lambda: result.setdefault("gc", store.gc(grace=0, progress=hook)))
    gc_thread.start()
    try:
        assert hook.reached.wait(60)
        head = repo.branch_head("main")
        a = repo.entry("main", "a.txt")
        chunks = [c for c, _ in store.odb.file(a.id).chunks]
        with PackWriter(store.storage, store.catalog) as writer:
            root = TreeBuilder(store.odb, writer).apply(
                store.odb.commit(head).tree, {"b.txt": TreeEntry("b.txt", FILE, a.id, a.size)})
            assert root.id == dead_tree  # the writer's tree is the dead branch's tree
            writer.flush()
            new_pack = writer.published[-1].id
            assert store.catalog.locate([dead_tree])[dead_tree].pack == new_pack
            hook.resume.set()
            gc_thread.join(60)
            assert result["gc"]["objects_dropped"] >= 1  # the dead commit at least
            assert not store.storage.exists(pack_key(old_pack))  # the old copy is gone
            assert store.catalog.locate([dead_tree])[dead_tree].pack == new_pack
            cid = publish(repo.commit_target(), "main", head, root, (head,), "in flight",
                          writer=writer, required=[a.id, *chunks])
    finally:
        hook.resume.set()
        gc_thread.join(60)
    assert repo.branch_head("main") == cid
    fresh_check(store_spec, {"a.txt": content, "b.txt": content})


def test_gc_keeps_what_an_inflight_merge_reuses(store: Store, store_spec: StoreSpec) -> None:
    """A merge from an unreachable commit (a deleted branch) reuses its subtrees; gc sweeps
    while the merge's trees are published but its ref has not moved yet.

    gc treats young packs as roots, so the reused subtrees (and their files and chunks)
    survive, and the merge lands complete. Driven step by step for an exact interleaving.
    """
    from blacklake_ml.service import merge as merging

    repo = store.create_repo("demo")
    repo.put_bytes(b"base", "base.txt", message="base")
    repo.create_branch("x")
    content = rand(150_000, seed=5)
    repo.put_bytes(content, "x/data.bin", branch="x", message="x data")
    src = repo.branch_head("x")
    repo.delete_branch("x")  # everything only x had is now unreachable
    repo.put_bytes(b"main", "main.txt", message="diverge")

    hook = PauseAfterScan()
    result: dict[str, Any] = {}
    gc_thread = threading.Thread(
        target=lambda: result.setdefault("gc", store.gc(grace=0, progress=hook)))
    gc_thread.start()
    try:
        assert hook.reached.wait(60)
        head = repo.branch_head("main")
        base = store.odb.commit(src).parents[0]
        with PackWriter(store.storage, store.catalog) as writer:
            out = merging.three_way(store.odb, store.odb.commit(base).tree,
                                    store.odb.commit(head).tree, store.odb.commit(src).tree,
                                    writer=writer)
            writer.flush()  # the merge's trees are published, its ref not yet moved
            hook.resume.set()
            gc_thread.join(60)
            assert result["gc"]["objects_dropped"] >= 1  # the dead commit at least
            # The dead commit itself was swept: a merge naming it as parent must not land...
            with pytest.raises(ObjectsVanished):
                publish(repo.commit_target(), "main", head, out.root, (head, src), "merge x",
                        writer=writer)
            assert repo.branch_head("main") == head
            # ...but its trees, files and chunks survived: the same tree lands as a
            # cherry-pick-like commit (one parent) and reads back complete.
            cid = publish(repo.commit_target(), "main", head, out.root, (head,), "take x",
                          writer=writer)
    finally:
        hook.resume.set()
        gc_thread.join(60)
    assert repo.branch_head("main") == cid
    assert store.fsck()["ok"]
    fresh_check(store_spec, {"base.txt": b"base", "main.txt": b"main",
                             "x/data.bin": content})


class PauseAfterStoring(Progress):
    """Holds a commit once, after its contents are stored and deduplicated, before publishing."""

    def __init__(self) -> None:
        self.phase = ""
        self.stored = 0
        self.reached = threading.Event()
        self.resume = threading.Event()

    def start(self, total: int | None, unit: str = "B", description: str = "") -> None:
        self.phase = description

    def finish(self) -> None:
        if self.phase.startswith("storing"):
            self.stored += 1
            if self.stored == 1:
                self.reached.set()
                assert self.resume.wait(60)


def test_put_retries_when_gc_sweeps_its_deduplicated_objects(store: Store,
                                                            store_spec: StoreSpec,
                                                            tmp_path: Any) -> None:
    """A put deduplicates against unreachable chunks; gc sweeps them before the ref moves; the
    commit's barrier check fails (ObjectsVanished) and ``Repo.put`` redoes it once."""
    repo = store.create_repo("demo")
    content = rand(300_000, seed=22)
    repo.create_branch("tmp")
    repo.put_bytes(content, "dead.bin", branch="tmp", message="soon unreachable")
    chunks = [c for c, _ in store.odb.file(repo.entry("tmp", "dead.bin").id).chunks]
    repo.delete_branch("tmp")
    local = tmp_path / "content.bin"
    local.write_bytes(content)

    hook = PauseAfterStoring()
    result: dict[str, Any] = {}

    def writer() -> None:
        try:
            result["put"] = repo.put(local, "kept.bin", message="dedup", progress=hook)
        except BaseException as exc:  # noqa: BLE001 - checked below
            result["error"] = exc

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert hook.reached.wait(60)
        # The first attempt found every chunk already stored: nothing new was written.
        report = store.gc(grace=0)
        assert report["objects_dropped"] >= len(chunks)
        assert store.catalog.existing(chunks) == set()
    finally:
        hook.resume.set()
        t.join(120)
    assert "error" not in result, result
    assert hook.stored == 2  # stored twice: the retry wrote the chunks again
    res = result["put"]
    assert res.created and res.new_bytes >= len(content)
    assert store.catalog.existing(chunks) == set(chunks)
    fresh_check(store_spec, {"kept.bin": content})


def test_restoring_an_unreachable_commit_while_gc_runs(store: Store,
                                                      store_spec: StoreSpec) -> None:
    """gc marks a deleted branch's commit dead; before it sweeps, the commit is brought back
    (a branch is recreated at it, and main fast-forwards to it). gc's barrier re-marks what
    the refs reach now, so nothing they reach is collected."""
    repo = store.create_repo("demo")
    repo.put_bytes(b"a", "a.txt", message="a")
    repo.create_branch("x")
    content = rand(50_000, seed=23)
    lost = repo.put_bytes(content, "b.txt", branch="x", message="b on x").commit
    repo.delete_branch("x")

    hook = PauseAfterScan()
    result: dict[str, Any] = {}
    gc_thread = threading.Thread(
        target=lambda: result.setdefault("gc", store.gc(grace=0, progress=hook)))
    gc_thread.start()
    try:
        assert hook.reached.wait(60)
        repo.create_branch("restored", from_ref=lost)
        res = repo.merge(lost, "main")
        assert res.fast_forward and repo.branch_head("main") == lost
    finally:
        hook.resume.set()
        gc_thread.join(60)
    assert result["gc"]["objects_dropped"] == 0
    fresh_check(store_spec, {"a.txt": b"a", "b.txt": content})
