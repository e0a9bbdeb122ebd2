"""The Python API (``Store`` / ``Repo`` / ``blacklake_ml.open``) against both real backends.

Every test runs twice through the ``store`` fixture: local disk + SQLite, and moto S3 +
PostgreSQL.
"""
# ruff: noqa: F811 - pytest fixtures imported from helpers are used as parameters

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from helpers import (  # noqa: F401 - fixtures are found by name
    StoreSpec,
    local_store,
    rand,
    sha256,
    snapshot,
    store,
    store_spec,
    tree_of,
    write,
)

import blacklake_ml as bl
from blacklake_ml.catalog import CommitBatch, CommitRow
from blacklake_ml.core.ids import Kind
from blacklake_ml.errors import (
    AmbiguousRef,
    CorruptObject,
    DirectoryNotEmpty,
    InvalidInput,
    InvalidName,
    MergeConflict,
    NotFound,
    ObjectNotFound,
    PathNotFound,
    QuotaExceeded,
    RefExists,
    RefNotFound,
    RepoExists,
    RepoNotFound,
)
from blacklake_ml.service.packs import pack_key
from blacklake_ml.service.repo import Repo
from blacklake_ml.service.store import Store

MiB = 1024 * 1024


@pytest.fixture
def repo(store: Store) -> Repo:
    return store.create_repo("demo", "a demo repository")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A small local directory tree to upload."""
    d = tmp_path / "src"
    write(d / "a.txt", b"hello")
    write(d / "d" / "b.txt", b"world")
    write(d / "d" / "e" / "c.bin", rand(300_000, seed=1))
    write(d / "empty.dat", b"")
    return d


def files_at(repo: Repo, ref: str = "main") -> dict[str, bytes]:
    """Every file of ``ref`` with its content."""
    return {e["path"]: repo.read_bytes(ref, e["path"]) for e in repo.ls(ref, recursive=True)}


# -- repositories ---------------------------------------------------------------------------
def test_repositories_create_list_delete(store: Store) -> None:
    r = store.create_repo("models", "my models")
    store.create_repo("data.sets_1")
    assert [x.name for x in store.list_repos()] == ["data.sets_1", "models"]
    assert store.repo("models").description == "my models"
    assert [b.name for b in r.branches()] == ["main"]
    assert r.ls("main") == []
    assert [c.message for c in r.log("main")] == ["Initialize repository"]
    with pytest.raises(RepoExists):
        store.create_repo("models")
    store.delete_repo("models")
    with pytest.raises(RepoNotFound):
        store.repo("models")
    with pytest.raises(RepoNotFound):
        store.delete_repo("models")
    assert [x.name for x in store.list_repos()] == ["data.sets_1"]


# -- put ------------------------------------------------------------------------------------
def test_put_directory_contents_go_under_destination(repo: Repo, src: Path) -> None:
    res = repo.put(src, "data", message="first", meta={"k": "v"})
    assert res.created and res.files == 4 and res.bytes == 5 + 5 + 300_000
    assert res.new_bytes >= 300_000
    assert repo.branch_head("main") == res.commit
    listing = {e["path"]: e for e in repo.ls("main", "data")}
    assert set(listing) == {"data/a.txt", "data/d", "data/empty.dat"}
    assert listing["data/d"]["kind"] == "dir"
    assert listing["data/d"]["size"] == 300_005
    assert listing["data/a.txt"] == {**listing["data/a.txt"], "kind": "file", "size": 5,
                                     "meta": {"k": "v"}}
    assert files_at(repo) == {"data/a.txt": b"hello", "data/d/b.txt": b"world",
                              "data/d/e/c.bin": rand(300_000, seed=1), "data/empty.dat": b""}
    # The root directory as destination: contents land at the top.
    repo.put(src / "d", "", message="to root")
    assert {e["path"] for e in repo.ls("main")} == {"b.txt", "data", "e"}


def test_put_file_destinations(repo: Repo, tmp_path: Path) -> None:
    f = write(tmp_path / "model.pt", b"weights")
    repo.put(f, "models/v1.pt", message="explicit path")
    repo.put(f, "", message="to root")
    repo.put(f, "dir/", message="trailing slash")
    repo.put(f, "models", message="existing directory")
    assert set(files_at(repo)) == {"models/v1.pt", "model.pt", "dir/model.pt",
                                   "models/model.pt"}
    # Replacing a file at the same path.
    repo.put(write(tmp_path / "new.pt", b"new weights"), "models/v1.pt", message="replace")
    assert repo.read_bytes("main", "models/v1.pt") == b"new weights"


def test_put_identical_content_creates_no_commit(repo: Repo, src: Path) -> None:
    first = repo.put(src, "data", message="first")
    again = repo.put(src, "data", message="same again")
    assert again.created is False
    assert again.commit == first.commit
    assert repo.branch_head("main") == first.commit
    assert len(repo.log("main")) == 2
    same = repo.put_bytes(b"hello", "data/a.txt", message="same bytes")
    assert same.created is False and repo.branch_head("main") == first.commit


def test_transaction_stages_several_changes_in_one_commit(repo: Repo, src: Path) -> None:
    repo.put(src, "data", message="first")
    with repo.transaction("main", "batch of changes", meta={"run": 7}) as tx:
        tx.put_bytes(b"one", "x/1.txt", {"n": 1})
        tx.put_file(src / "a.txt", "x/2.txt")
        tx.delete("data/d")
    assert tx.result is not None and tx.result.created
    assert files_at(repo) == {"data/a.txt": b"hello", "data/empty.dat": b"",
                              "x/1.txt": b"one", "x/2.txt": b"hello"}
    head = repo.log("main", limit=1)[0]
    assert head.message == "batch of changes" and head.meta == {"run": "7"}
    assert repo.entry("main", "x/1.txt").meta == {"n": "1"}
    # An exception inside the block publishes nothing.
    before = snapshot(repo)
    with pytest.raises(RuntimeError), repo.transaction("main", "never") as tx2:
        tx2.put_bytes(b"zzz", "never.txt")
        raise RuntimeError("abort")
    assert snapshot(repo) == before


# -- get / read -----------------------------------------------------------------------------
def test_get_file_and_directory_round_trip_byte_exact(repo: Repo, tmp_path: Path) -> None:
    src = tmp_path / "src"
    big = rand(20 * MiB, seed=2)
    write(src / "big.bin", big)
    write(src / "empty", b"")
    write(src / "sub" / "small.txt", b"small\n")
    write(src / "sub" / "deeper" / "x.json", b'{"a": 1}')
    res = repo.put(src, "ds", message="dataset")
    assert res.bytes == len(big) + 6 + 8
    entry = repo.entry("main", "ds/big.bin")
    manifest = repo.store.odb.file(entry.id)
    assert len(manifest.chunks) > 40  # spans many chunks
    assert manifest.sha256 is None  # big files: computed on request, not on the write path
    assert repo.digests("main", "ds/big.bin")["sha256"] == sha256(big)

    out = tmp_path / "out"
    assert repo.get("main", "ds/big.bin", out / "big.bin") == len(big)
    assert (out / "big.bin").read_bytes() == big
    repo.get("main", "ds/empty", out / "empty")
    assert (out / "empty").read_bytes() == b""
    # Into an existing directory: under the file's own name.
    repo.get("main", "ds/sub/small.txt", out)
    assert (out / "small.txt").read_bytes() == b"small\n"

    whole = tmp_path / "whole"
    n = repo.get("main", "ds", whole)
    assert n == res.bytes
    assert tree_of(whole) == tree_of(src)
    # A subdirectory.
    repo.get("main", "ds/sub", tmp_path / "sub")
    assert tree_of(tmp_path / "sub") == {"small.txt": b"small\n", "deeper/x.json": b'{"a": 1}'}
    with pytest.raises(PathNotFound):
        repo.get("main", "ds/missing", tmp_path / "m")


def test_open_seek_and_read_ranges(repo: Repo, store: Store, tmp_path: Path) -> None:
    data = rand(3 * MiB + 12345, seed=3)
    repo.put(write(tmp_path / "w.bin", data), "w.bin", message="w")
    manifest = store.odb.file(repo.entry("main", "w.bin").id)
    boundaries = []
    pos = 0
    for _, n in manifest.chunks:
        pos += n
        boundaries.append(pos)
    assert len(boundaries) > 5
    with repo.open("main", "w.bin") as f:
        assert f.size == len(data) and f.seekable() and f.readable()
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        for b in boundaries[:5]:  # reads straddling chunk boundaries
            f.seek(b - 7)
            assert f.read(20) == data[b - 7:b + 13]
        f.seek(-100, io.SEEK_END)
        assert f.read() == data[-100:]
        assert f.read(5) == b""
        f.seek(1000)
        f.seek(500, io.SEEK_CUR)
        assert f.tell() == 1500
        assert f.read(300_000) == data[1500:301_500]
        f.seek(len(data) + 10)
        assert f.read(1) == b""
        with pytest.raises(ValueError):
            f.seek(-1)
    head = repo.branch_head("main")
    for uri in ("blacklake://demo/main/w.bin", f"blacklake://demo/{head}/w.bin",
                f"blacklake://demo/{head[:10]}/w.bin"):
        with bl.open(uri, store=store) as f:
            f.seek(2 * MiB)
            assert f.read(4096) == data[2 * MiB:2 * MiB + 4096]
            f.seek(0)
            assert f.read() == data
    with bl.open("blacklake://demo/main/w.bin", store=store) as f:
        assert sha256(f.read()) == sha256(data)


def test_open_text_mode_and_errors(repo: Repo, store: Store) -> None:
    repo.put_bytes("héllo\nwörld\n".encode(), "t.txt", message="text")
    with bl.open("blacklake://demo/main/t.txt", "r", store=store) as f:
        assert f.readlines() == ["héllo\n", "wörld\n"]
    with pytest.raises(ValueError):
        bl.open("blacklake://demo/main/t.txt", "wb", store=store)
    with pytest.raises(PathNotFound):
        bl.open("blacklake://demo/main/missing.txt", store=store)
    with pytest.raises(PathNotFound):
        repo.open("main", "")  # the root is a directory
    with pytest.raises(RefNotFound):
        bl.open("blacklake://demo/nobranch/t.txt", store=store)
    with pytest.raises(RepoNotFound):
        bl.open("blacklake://nope/main/t.txt", store=store)


# -- ls / log / diff ------------------------------------------------------------------------
def test_ls_directory_and_file(repo: Repo, src: Path) -> None:
    repo.put(src, "", message="first", meta={"owner": "me"})
    top = repo.ls("main")
    assert [(e["path"], e["kind"]) for e in top] == [
        ("a.txt", "file"), ("d", "dir"), ("empty.dat", "file")]
    assert [e["size"] for e in top] == [5, 300_005, 0]
    assert all(len(e["id"]) == 64 for e in top)
    one = repo.ls("main", "d/b.txt")
    assert one == [{"path": "d/b.txt", "kind": "file", "size": 5,
                    "id": repo.entry("main", "d/b.txt").id, "meta": {"owner": "me"},
                    "safety": "safe", "safety_reasons": []}]
    assert [e["path"] for e in repo.ls("main", "d")] == ["d/b.txt", "d/e"]
    assert [e["path"] for e in repo.ls("main", "d/", recursive=True)] == \
        ["d/b.txt", "d/e/c.bin"]
    # The same content has the same id wherever it is.
    repo.put_bytes(b"hello", "copy.txt", message="copy")
    ids = {e["path"]: e["id"] for e in repo.ls("main")}
    assert ids["copy.txt"] == ids["a.txt"]
    with pytest.raises(PathNotFound):
        repo.ls("main", "nope")
    with pytest.raises(PathNotFound):
        repo.ls("main", "a.txt/below")


def test_log_newest_first_and_by_path(repo: Repo) -> None:
    c1 = repo.put_bytes(b"1", "a/x.txt", message="one", commit_meta={"step": "1"}).commit
    c2 = repo.put_bytes(b"2", "b/y.txt", message="two").commit
    c3 = repo.put_bytes(b"3", "a/x.txt", message="three").commit
    c4 = repo.put_bytes(b"4", "a/xy.txt", message="four").commit
    log = repo.log("main")
    assert [c.id for c in log[:4]] == [c4, c3, c2, c1]
    assert log[-1].message == "Initialize repository" and log[-1].parents == ()
    assert log[0].parents == (c3,)
    assert log[3].meta == {"step": "1"}
    assert log[0].nfiles == 3 and log[0].size == 3
    assert [c.id for c in repo.log("main", path="a/x.txt")] == [c3, c1]
    assert [c.id for c in repo.log("main", path="a")] == [c4, c3, c1]
    assert [c.id for c in repo.log("main", path="b/")] == [c2]
    assert repo.log("main", path="zzz") == []
    assert [c.id for c in repo.log("main", limit=2)] == [c4, c3]
    assert repo.log("main", limit=0) == []
    assert [c.id for c in repo.log(c2)] == [c2, c1, log[-1].id]
    with pytest.raises(InvalidInput):
        repo.log("main", limit=-1)


def test_diff_added_removed_modified_and_meta_only(repo: Repo) -> None:
    a = repo.put_bytes(b"keep", "keep.txt", message="1").commit
    repo.put_bytes(b"old", "mod.txt", message="2")
    repo.put_bytes(b"gone", "dir/gone.txt", message="3")
    repo.put_bytes(b"m", "meta.txt", message="4", meta={"v": "1"})
    base = repo.branch_head("main")
    repo.put_bytes(b"new", "mod.txt", message="5")
    repo.rm("dir", message="6")
    repo.put_bytes(b"added", "new/added.txt", message="7")
    repo.put_bytes(b"m", "meta.txt", message="8", meta={"v": "2"})
    d = repo.diff(base, "main")
    assert set(d.added) == {"new/added.txt"}
    assert set(d.removed) == {"dir/gone.txt"}
    assert set(d.modified) == {"mod.txt", "meta.txt"}
    j = d.to_json()
    mods = {m["path"]: m for m in j["modified"]}
    assert mods["meta.txt"]["changes"] == ["meta"]
    assert mods["meta.txt"]["meta"] == {"v": "2"}
    assert mods["meta.txt"]["before"]["meta"] == {"v": "1"}
    assert mods["mod.txt"]["changes"] == ["content"]
    assert mods["mod.txt"]["size_delta"] == 0
    assert [e["path"] for e in j["added"]] == ["new/added.txt"]
    assert [e["path"] for e in j["removed"]] == ["dir/gone.txt"]
    # Reverse direction swaps added/removed; same ref gives nothing.
    r = repo.diff("main", base)
    assert set(r.added) == {"dir/gone.txt"} and set(r.removed) == {"new/added.txt"}
    assert repo.diff("main", "main").paths() == set()
    # Restricted to a path.
    assert repo.diff(base, "main", path="meta.txt").paths() == {"meta.txt"}
    assert set(repo.diff(base, "main", path="dir").removed) == {"dir/gone.txt"}
    assert set(repo.diff(base, "main", path="new").added) == {"new/added.txt"}
    assert repo.diff(a, base, path="keep.txt").paths() == set()
    with pytest.raises(PathNotFound):
        repo.diff(a, "main", path="dir")  # in neither
    with pytest.raises(PathNotFound):
        repo.diff(base, "main", path="never")


def test_rm_file_and_directory(repo: Repo, src: Path) -> None:
    repo.put(src, "data", message="first")
    r1 = repo.rm("data/a.txt", message="rm file")
    assert r1.created
    assert "data/a.txt" not in files_at(repo)
    repo.rm("data/d", message="rm dir")
    assert set(files_at(repo)) == {"data/empty.dat"}
    repo.rm("data/empty.dat", message="last file")
    assert repo.ls("main") == []  # empty directories disappear
    before = snapshot(repo)
    with pytest.raises(PathNotFound):
        repo.rm("data/a.txt", message="again")
    with pytest.raises(InvalidInput):
        repo.rm("", message="the root")
    assert snapshot(repo) == before
    assert [c.message for c in repo.log("main", limit=3)] == ["last file", "rm dir", "rm file"]


# -- refs -----------------------------------------------------------------------------------
def test_branches_and_tags(repo: Repo) -> None:
    c1 = repo.put_bytes(b"1", "f", message="one").commit
    repo.create_branch("dev")
    repo.create_branch("old", from_ref=c1)
    c2 = repo.put_bytes(b"2", "f", message="two", branch="dev").commit
    repo.create_tag("v1", "main")
    repo.create_tag("v2", "dev")
    assert [(b.name, b.commit) for b in repo.branches()] == [
        ("dev", c2), ("main", c1), ("old", c1)]
    assert [(t.name, t.commit) for t in repo.tags()] == [("v1", c1), ("v2", c2)]
    assert repo.read_bytes("v2", "f") == b"2"
    assert repo.read_bytes("v1", "f") == b"1"
    with pytest.raises(RefExists):
        repo.create_branch("v1")
    with pytest.raises(RefExists):
        repo.create_tag("dev", "main")
    with pytest.raises(RefNotFound):
        repo.create_branch("x", from_ref="nope")
    repo.delete_tag("v1")
    repo.delete_branch("old")
    with pytest.raises(RefNotFound):
        repo.delete_branch("v2")  # a tag, not a branch
    with pytest.raises(RefNotFound):
        repo.delete_tag("dev")
    assert [b.name for b in repo.branches()] == ["dev", "main"]
    assert [t.name for t in repo.tags()] == ["v2"]
    # Deleting a branch does not lose commits still reachable elsewhere.
    repo.delete_branch("dev")
    assert repo.read_bytes("v2", "f") == b"2"


def test_tags_are_not_committable(repo: Repo, tmp_path: Path) -> None:
    repo.put_bytes(b"1", "f", message="one")
    repo.create_tag("v1", "main")
    before = snapshot(repo)
    tag_before = repo.resolve("v1")
    with pytest.raises(RefNotFound):
        repo.put_bytes(b"2", "f", branch="v1", message="to a tag")
    with pytest.raises(RefNotFound):
        repo.put(write(tmp_path / "g", b"x"), "g", branch="v1", message="to a tag")
    with pytest.raises(RefNotFound):
        repo.rm("f", branch="v1", message="to a tag")
    with pytest.raises(RefNotFound):
        repo.merge("main", "v1")
    with pytest.raises(RefNotFound):
        repo.put_bytes(b"2", "f", branch=repo.branch_head("main"), message="to a commit id")
    assert repo.resolve("v1") == tag_before
    assert snapshot(repo) == before


def test_resolve_full_id_and_prefixes(repo: Repo, store: Store) -> None:
    cid = repo.put_bytes(b"1", "f", message="one").commit
    assert repo.resolve(cid) == cid
    assert repo.resolve(cid[:8]) == cid
    assert repo.resolve(cid[:20]) == cid
    assert repo.resolve("main") == cid
    with pytest.raises(RefNotFound):
        repo.resolve(cid[:7])
    with pytest.raises(RefNotFound):
        repo.resolve("0" * 64 if not cid.startswith("0") else "f" * 64)
    with pytest.raises(InvalidName):
        repo.resolve("bad/ref")
    with pytest.raises(InvalidName):
        repo.resolve("")
    # Another indexed commit sharing the first 8 hex digits makes that prefix ambiguous.
    twin = cid[:8] + ("0" if cid[8] != "0" else "1") + cid[9:]
    row = CommitRow(id=twin, tree=repo.entry("main").id, parents=(), author="x",
                    committer="x", time="2024-01-01T00:00:00.000000Z", message="twin")
    store.catalog.index_commits(repo.id, CommitBatch(commits=[row]))
    with pytest.raises(AmbiguousRef) as exc:
        repo.resolve(cid[:8])
    assert set(exc.value.candidates) == {cid, twin}
    assert repo.resolve(cid[:9]) == cid
    # A commit of another repository is not resolvable here.
    other = store.create_repo("other")
    with pytest.raises(RefNotFound):
        other.resolve(cid)


# -- merge, cherry-pick, revert -------------------------------------------------------------
@pytest.fixture
def forked(repo: Repo) -> Repo:
    """main and dev share a base with a.txt, b.txt, dir/c.txt."""
    with repo.transaction("main", "base") as tx:
        tx.put_bytes(b"a", "a.txt")
        tx.put_bytes(b"b", "b.txt")
        tx.put_bytes(b"c", "dir/c.txt")
    repo.create_branch("dev")
    return repo


def test_merge_fast_forward(forked: Repo) -> None:
    repo = forked
    main_before = repo.branch_head("main")
    d1 = repo.put_bytes(b"x", "x.txt", branch="dev", message="dev 1").commit
    d2 = repo.put_bytes(b"y", "y.txt", branch="dev", message="dev 2").commit
    res = repo.merge("dev", "main")
    assert res.commit == d2 and res.fast_forward and not res.created
    assert res.parents == (d1,)
    assert repo.branch_head("main") == d2
    assert [c.id for c in repo.log("main", limit=2)] == [d2, d1]
    # Merging again: nothing to do.
    again = repo.merge("dev", "main")
    assert again.created is False and not again.fast_forward
    assert repo.branch_head("main") == d2
    assert main_before != d2
    # no_ff makes a merge commit even when a fast-forward is possible.
    repo.put_bytes(b"z", "z.txt", branch="dev", message="dev 3")
    res2 = repo.merge("dev", "main", no_ff=True, message="explicit merge")
    head = repo.log("main", limit=1)[0]
    assert head.id == res2.commit and len(head.parents) == 2
    assert head.message == "explicit merge"
    assert repo.read_bytes("main", "z.txt") == b"z"


def test_true_merge_combines_both_sides(forked: Repo) -> None:
    repo = forked
    m = repo.put_bytes(b"a-main", "a.txt", message="main edits a").commit
    d = repo.put_bytes(b"c-dev", "dir/c.txt", branch="dev", message="dev edits c").commit
    repo.put_bytes(b"new", "dir/new.txt", branch="dev", message="dev adds new")
    d2 = repo.branch_head("dev")
    res = repo.merge("dev", "main", meta={"why": "test"})
    assert res.created and res.parents == (m, d2)
    head = repo.log("main", limit=1)[0]
    assert head.parents == (m, d2) and head.meta == {"why": "test"}
    assert head.message == "Merge dev into main"
    assert files_at(repo) == {"a.txt": b"a-main", "b.txt": b"b", "dir/c.txt": b"c-dev",
                              "dir/new.txt": b"new"}
    # History of the merge contains both sides.
    ids = [c.id for c in repo.log("main")]
    assert {m, d, d2} <= set(ids)
    assert ids[0] == res.commit
    # dev is unchanged.
    assert repo.read_bytes("dev", "a.txt") == b"a"


def _conflicting(repo: Repo) -> None:
    repo.put_bytes(b"b-main", "b.txt", message="main b")
    repo.put_bytes(b"c-main", "dir/c.txt", message="main c")
    repo.put_bytes(b"only-main", "m.txt", message="main only")
    repo.put_bytes(b"b-dev", "b.txt", branch="dev", message="dev b")
    repo.put_bytes(b"c-dev", "dir/c.txt", branch="dev", message="dev c")
    repo.put_bytes(b"only-dev", "d.txt", branch="dev", message="dev only")


def test_merge_conflict_lists_paths_and_changes_nothing(forked: Repo) -> None:
    repo = forked
    _conflicting(repo)
    # Same change on both sides is not a conflict.
    repo.put_bytes(b"same", "a.txt", message="same main")
    repo.put_bytes(b"same", "a.txt", branch="dev", message="same dev")
    before, dev_before = snapshot(repo), snapshot(repo, "dev")
    with pytest.raises(MergeConflict) as exc:
        repo.merge("dev", "main")
    assert exc.value.paths == ["b.txt", "dir/c.txt"]
    assert snapshot(repo) == before and snapshot(repo, "dev") == dev_before


def test_merge_conflict_delete_vs_modify_and_file_vs_directory(forked: Repo) -> None:
    repo = forked
    repo.rm("a.txt", message="main deletes a")
    repo.put_bytes(b"a2", "a.txt", branch="dev", message="dev modifies a")
    repo.put_bytes(b"file", "p", message="main adds file p")
    repo.put_bytes(b"below", "p/q", branch="dev", message="dev adds dir p")
    before = snapshot(repo)
    with pytest.raises(MergeConflict) as exc:
        repo.merge("dev", "main")
    assert set(exc.value.paths) >= {"a.txt"}
    assert any(p == "p" or p.startswith("p/") for p in exc.value.paths)
    assert snapshot(repo) == before


@pytest.mark.parametrize("strategy,expect_b,expect_c", [
    ("ours", b"b-main", b"c-main"),
    ("theirs", b"b-dev", b"c-dev"),
    ({"dir/*": "theirs", "b.txt": "ours"}, b"b-main", b"c-dev"),
    ({"dir": "ours", "*.txt": "theirs"}, b"b-dev", b"c-main"),
])
def test_merge_strategies(forked: Repo, strategy: object, expect_b: bytes,
                          expect_c: bytes) -> None:
    repo = forked
    _conflicting(repo)
    res = repo.merge("dev", "main", strategy=strategy)  # type: ignore[arg-type]
    assert res.created
    got = files_at(repo)
    assert got["b.txt"] == expect_b and got["dir/c.txt"] == expect_c
    # Non-conflicting changes of both sides are always merged.
    assert got["m.txt"] == b"only-main" and got["d.txt"] == b"only-dev"
    assert len(repo.log("main", limit=1)[0].parents) == 2


def test_merge_strategy_glob_not_covering_every_conflict(forked: Repo) -> None:
    repo = forked
    _conflicting(repo)
    before = snapshot(repo)
    with pytest.raises(MergeConflict) as exc:
        repo.merge("dev", "main", strategy={"dir/*": "theirs"})
    assert exc.value.paths == ["b.txt"]
    assert snapshot(repo) == before
    with pytest.raises(InvalidInput):
        repo.merge("dev", "main", strategy="mine")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        repo.merge("dev", "main", strategy={"*": "both"})
    assert snapshot(repo) == before


def test_cherry_pick(forked: Repo) -> None:
    repo = forked
    repo.put_bytes(b"x", "x.txt", branch="dev", message="dev adds x")
    pick = repo.put_bytes(b"c2", "dir/c.txt", branch="dev", message="dev edits c").commit
    main_before = repo.branch_head("main")
    res = repo.cherry_pick(pick, "main")
    assert res.created and res.parents == (main_before,)
    head = repo.log("main", limit=1)[0]
    assert head.parents == (main_before,)
    assert head.message.startswith("dev edits c") and pick in head.message
    got = files_at(repo)
    assert got["dir/c.txt"] == b"c2" and "x.txt" not in got  # only that commit's change
    # Picking it again changes nothing.
    assert repo.cherry_pick(pick, "main").created is False
    # A pick that conflicts.
    repo.put_bytes(b"y-main", "y.txt", message="main y")
    c = repo.put_bytes(b"y-dev", "y.txt", branch="dev", message="dev y").commit
    before = snapshot(repo)
    with pytest.raises(MergeConflict) as exc:
        repo.cherry_pick(c, "main")
    assert exc.value.paths == ["y.txt"]
    assert snapshot(repo) == before


def test_revert(forked: Repo) -> None:
    repo = forked
    edit = repo.put_bytes(b"a2", "a.txt", message="edit a").commit
    add = repo.put_bytes(b"n", "n.txt", message="add n").commit
    repo.put_bytes(b"b2", "b.txt", message="edit b")
    r1 = repo.revert(edit, "main")
    assert r1.created
    head = repo.log("main", limit=1)[0]
    assert head.message.startswith('Revert "edit a"') and edit in head.message
    assert files_at(repo) == {"a.txt": b"a", "b.txt": b"b2", "dir/c.txt": b"c", "n.txt": b"n"}
    repo.revert(add, "main", message="drop n")
    assert "n.txt" not in files_at(repo)
    assert repo.log("main", limit=1)[0].message == "drop n"
    # Reverting a change that a later commit overwrote conflicts.
    e2 = repo.put_bytes(b"b3", "b.txt", message="b3").commit
    repo.put_bytes(b"b4", "b.txt", message="b4")
    before = snapshot(repo)
    with pytest.raises(MergeConflict) as exc:
        repo.revert(e2, "main")
    assert exc.value.paths == ["b.txt"]
    assert snapshot(repo) == before


# -- checkout -------------------------------------------------------------------------------
def test_checkout_and_force_semantics(repo: Repo, src: Path, tmp_path: Path) -> None:
    repo.put(src, "", message="first")
    dest = tmp_path / "co"
    repo.checkout("main", dest)
    assert tree_of(dest) == tree_of(src)
    # Non-empty: refused without force, nothing touched.
    (dest / "a.txt").write_bytes(b"local edit")
    with pytest.raises(DirectoryNotEmpty):
        repo.checkout("main", dest)
    assert (dest / "a.txt").read_bytes() == b"local edit"
    # Force overwrites tracked files.
    repo.checkout("main", dest, force=True)
    assert (dest / "a.txt").read_bytes() == b"hello"
    assert tree_of(dest) == tree_of(src)
    # A subdirectory, an older ref, a file path (refused), a file as target (refused).
    old = repo.branch_head("main")
    repo.put_bytes(b"v2", "a.txt", message="v2")
    sub = tmp_path / "sub"
    repo.checkout("main", sub, path="d")
    assert tree_of(sub) == {"b.txt": b"world", "e/c.bin": rand(300_000, seed=1)}
    repo.checkout(old, tmp_path / "old")
    assert (tmp_path / "old" / "a.txt").read_bytes() == b"hello"
    with pytest.raises(InvalidInput):
        repo.checkout("main", tmp_path / "f", path="a.txt")
    with pytest.raises(InvalidInput):
        repo.checkout("main", src / "a.txt", force=True)
    assert (src / "a.txt").read_bytes() == b"hello"
    # Into a missing nested directory.
    repo.checkout("main", tmp_path / "x" / "y" / "z")
    assert (tmp_path / "x" / "y" / "z" / "a.txt").read_bytes() == b"v2"


def test_checkout_of_many_small_files_and_big_ones(repo: Repo, tmp_path: Path) -> None:
    """The small-file path (read in batches, written by two writer threads through
    directory descriptors) and the big-file copy give the tree back byte for byte, with no
    temp file left; ``get`` of a folder writes into an existing one the same way."""
    from blacklake_ml.service import read

    src = tmp_path / "many"
    for i in range(300):
        write(src / f"p{i % 7}" / f"deep{i % 3}" / f"f{i:03d}.bin", rand(100 + i * 13, seed=i))
    write(src / "empty.dat", b"")
    write(src / "big.bin", rand(read.SMALL_FILE + 5, seed=77))
    repo.put(src, "", message="many")
    dest = tmp_path / "co"
    repo.checkout("main", dest)
    assert tree_of(dest) == tree_of(src)
    assert not [p for p in dest.rglob("*") if p.name.startswith(".blacklake-")]
    out = tmp_path / "got"
    write(out / "keep.txt", b"mine")
    write(out / "p0" / "deep0" / "f000.bin", b"stale")
    repo.get("main", "p0", out / "p0")
    assert (out / "keep.txt").read_bytes() == b"mine"
    assert tree_of(out / "p0") == tree_of(src / "p0")


def test_checkout_verifies_small_files_and_publishes_nothing_corrupt(
        local_store: Store, tmp_path: Path) -> None:
    repo = local_store.create_repo("demo")
    files = {f"d/f{i:02d}.txt": rand(500, seed=i) for i in range(40)}
    for name, data in files.items():
        write(tmp_path / "src" / name, data)
    repo.put(tmp_path / "src", "", message="small")
    victim = local_store.odb.file(repo.entry("main", "d/f20.txt").id).chunks[0][0]
    _flip_byte_of(local_store, victim)
    other = Store.open(tmp_path / "home")  # a fresh handle: nothing cached
    try:
        with pytest.raises(CorruptObject):
            other.repo("demo").checkout("main", tmp_path / "co")
    finally:
        other.close()
    written = {p.name for p in (tmp_path / "co").rglob("*") if p.is_file()}
    assert "f20.txt" not in written
    assert not [n for n in written if n.startswith(".blacklake-")]


def test_read_small_files_verifies_unless_told_the_reader_only_derives_metadata(
        local_store: Store, tmp_path: Path) -> None:
    """``verified=False`` (the indexer's extraction reads) skips the hashes; the default,
    which checkout and every content read use, refuses a corrupt chunk."""
    repo = local_store.create_repo("demo")
    files = {f"d/f{i:02d}.bin": rand(700, seed=100 + i) for i in range(12)}
    for name, data in files.items():
        write(tmp_path / "src" / name, data)
    repo.put(tmp_path / "src", "", message="small")
    manifests = [local_store.odb.file(repo.entry("main", n).id) for n in sorted(files)]
    assert local_store.odb.read_small_files(manifests) == [files[n] for n in sorted(files)]
    _flip_byte_of(local_store, manifests[3].chunks[0][0])
    other = Store.open(tmp_path / "home")  # nothing cached
    try:
        with pytest.raises(CorruptObject):
            other.odb.read_small_files(manifests)
        got = other.odb.read_small_files(manifests, verified=False)
        assert got[3] != files[sorted(files)[3]] and len(got[3]) == 700
        assert got[:3] == [files[n] for n in sorted(files)[:3]]
    finally:
        other.close()


def test_metadata_reads_take_what_this_process_just_stored_content_reads_the_store(
        local_store: Store, tmp_path: Path) -> None:
    """The store handle that put small files keeps their bodies (hashed to get their ids, so
    right by construction) for its ref listeners (the search indexer): a metadata read
    (``verified=False``) there takes them from memory, a content read still reads the packs
    and sees damage there; once the listeners have run the bodies are dropped. The put's file
    objects are known as published by this handle, another handle's are not."""
    repo = local_store.create_repo("demo")
    files = {f"d/f{i:02d}.bin": rand(700, seed=200 + i) for i in range(6)}
    for name, data in files.items():
        write(tmp_path / "src" / name, data)
    seen: list[bool] = []

    def listener(changed: Repo) -> None:
        ids = [changed.entry("main", n).id for n in sorted(files)]
        manifests = [local_store.odb.file(i) for i in ids]
        assert local_store.odb.published_here(ids) == set(ids)
        _flip_byte_of(local_store, manifests[2].chunks[0][0])
        assert local_store.odb.read_small_files(manifests, verified=False) == \
            [files[n] for n in sorted(files)]
        with pytest.raises(CorruptObject):
            local_store.odb.read_small_files(manifests)
        seen.append(True)

    local_store.ref_listeners.append(listener)
    repo.put(tmp_path / "src", "", message="small")
    local_store.ref_listeners.remove(listener)
    assert seen == [True]  # (a listener's failure is logged, not raised)
    ids = [repo.entry("main", n).id for n in sorted(files)]
    manifests = [local_store.odb.file(i) for i in ids]
    # the listeners have run: the damaged chunk is what even a metadata read gets now
    assert local_store.odb.read_small_files(manifests, verified=False)[2] != \
        files[sorted(files)[2]]
    other = Store.open(tmp_path / "home")
    try:
        assert other.odb.published_here(ids) == set()
    finally:
        other.close()


def test_dir_writer_never_writes_through_a_link_planted_after_the_checks(
        tmp_path: Path) -> None:
    """The writer opens each directory with O_NOFOLLOW relative to its parent, so a link
    that appears inside the target between the up-front checks and the write is refused."""
    from blacklake_ml.service.read import _DirWriter

    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    writer = _DirWriter(root)
    try:
        writer.write(["a", "one.txt"], b"1")
        (root / "b").symlink_to(outside, target_is_directory=True)
        with pytest.raises(InvalidInput, match="symlink"):
            writer.write(["b", "two.txt"], b"2")
        (root / "a" / "c").write_bytes(b"a file")
        with pytest.raises(InvalidInput, match="not a directory"):
            writer.write(["a", "c", "three.txt"], b"3")
        (root / "a" / "d").mkdir()
        with pytest.raises(InvalidInput, match="directory is in the way"):
            writer.write(["a", "d"], b"4")
    finally:
        writer.close()
    assert list(outside.iterdir()) == []
    assert (root / "a" / "one.txt").read_bytes() == b"1"
    assert not [p for p in root.rglob(".blacklake-*")]


# -- quotas ---------------------------------------------------------------------------------
def test_quota_bytes_and_files(store: Store, tmp_path: Path) -> None:
    repo = store.create_repo("q", max_bytes=1000, max_files=3)
    repo.put_bytes(b"x" * 600, "a", message="ok")
    before = snapshot(repo)
    commits = store.catalog.count_commits(repo.id)
    with pytest.raises(QuotaExceeded):
        repo.put_bytes(b"y" * 500, "b", message="too many bytes")
    with pytest.raises(QuotaExceeded):
        repo.put(write(tmp_path / "big", rand(2000)), "big", message="too big")
    repo.put_bytes(b"1", "b", message="ok 2")
    repo.put_bytes(b"2", "c", message="ok 3")
    before = snapshot(repo)
    commits = store.catalog.count_commits(repo.id)
    with pytest.raises(QuotaExceeded):
        repo.put_bytes(b"3", "d", message="too many files")
    d = tmp_path / "many"
    for i in range(3):
        write(d / f"f{i}", b"z")
    with pytest.raises(QuotaExceeded):
        repo.put(d, "many", message="too many files")
    assert snapshot(repo) == before
    assert store.catalog.count_commits(repo.id) == commits
    # Replacing within the limits is fine; quotas can be changed and cleared.
    repo.put_bytes(b"smaller", "a", message="replace")
    repo.set_quota(max_bytes=None, max_files=None)
    repo.put_bytes(b"y" * 5000, "d", message="no limits now")
    assert repo.entry("main").nfiles == 4
    with pytest.raises(InvalidInput):
        repo.set_quota(max_bytes=-1)


def test_quota_applies_to_merges(store: Store) -> None:
    repo = store.create_repo("qm")
    repo.put_bytes(b"a" * 100, "a", message="a")
    repo.create_branch("dev")
    repo.put_bytes(b"b" * 100, "b", message="b", branch="dev")
    repo.put_bytes(b"c" * 100, "c", message="c")
    repo.set_quota(max_bytes=250)
    before = snapshot(repo)
    with pytest.raises(QuotaExceeded):
        repo.merge("dev", "main")
    assert snapshot(repo) == before


# -- stats, gc, fsck ------------------------------------------------------------------------
def test_stats_deduplicates_similar_versions(repo: Repo, store: Store, tmp_path: Path) -> None:
    v1 = bytearray(rand(4 * MiB, seed=4))
    repo.put(write(tmp_path / "ckpt", bytes(v1)), "ckpt.bin", message="v1")
    v2 = bytearray(v1)
    for off in (100, 2 * MiB + 7, 4 * MiB - 3):
        v2[off] ^= 0xFF
    res = repo.put(write(tmp_path / "ckpt", bytes(v2)), "ckpt.bin", message="v2")
    assert res.new_bytes < 1 * MiB  # only the changed chunks were written
    s = store.stats("demo")
    assert s["file_versions"] == 2
    assert s["logical_bytes"] == 8 * MiB
    assert s["stored_bytes"] < 5 * MiB
    assert s["dedup_ratio"] > 1.6
    assert s["commits"] == 3
    whole = store.stats()
    assert whole["repos"] == 1 and whole["stored_bytes"] == s["stored_bytes"]
    assert whole["packs"] >= 2 and whole["pack_bytes"] >= s["stored_bytes"]
    assert repo.read_bytes("main", "ckpt.bin") == bytes(v2)
    assert repo.read_bytes(repo.log("main")[1].id, "ckpt.bin") == bytes(v1)


def _packs_of(store: Store, ids: list[str]) -> set[str]:
    return {loc.pack for loc in store.catalog.locate(ids).values()}


def test_gc_removes_unreachable_data(repo: Repo, store: Store, tmp_path: Path) -> None:
    keep = rand(600_000, seed=5)
    repo.put(write(tmp_path / "keep.bin", keep), "keep.bin", message="keep")
    repo.create_branch("scratch")
    unique = rand(900_000, seed=6)
    repo.put(write(tmp_path / "u.bin", unique), "u.bin", branch="scratch", message="unique")
    repo.create_tag("keep-tag", "main")
    entry = repo.entry("scratch", "u.bin")
    chunk_ids = [c for c, _ in store.odb.file(entry.id).chunks]
    doomed = _packs_of(store, chunk_ids)
    assert doomed and all(store.storage.exists(pack_key(p)) for p in doomed)
    stored_before = store.stats()["pack_bytes"]

    # Reachable data is never collected.
    report = store.gc(grace=0)
    assert report["objects_dropped"] == 0
    assert all(store.storage.exists(pack_key(p)) for p in doomed)

    scratch_head = repo.branch_head("scratch")
    repo.delete_branch("scratch")
    report = store.gc(grace=0)
    assert report["objects_dropped"] >= len(chunk_ids)
    # The swept commit left the commit index too: its id no longer resolves.
    with pytest.raises(RefNotFound):
        repo.resolve(scratch_head[:12])
    assert report["packs_deleted"] >= 1
    assert store.catalog.existing(chunk_ids + [entry.id]) == set()
    for p in doomed:
        assert not store.storage.exists(pack_key(p))
        assert not store.storage.exists(pack_key(p).replace(".pack", ".idx"))
    assert store.stats()["pack_bytes"] < stored_before - 800_000
    fs = store.fsck()
    assert fs["ok"], fs["problems"]
    assert repo.read_bytes("main", "keep.bin") == keep
    assert repo.read_bytes("keep-tag", "keep.bin") == keep
    # A second gc finds nothing more; the same content can be stored again.
    assert store.gc(grace=0)["objects_dropped"] == 0
    repo.put(write(tmp_path / "u.bin", unique), "again.bin", message="again")
    assert repo.read_bytes("main", "again.bin") == unique
    assert store.fsck()["ok"]


def test_gc_collected_commit_cannot_get_a_ref_again(repo: Repo, store: Store) -> None:
    """After gc collected a deleted branch's commit, branching or tagging it is refused
    (instead of creating a ref to objects that are gone) and the store stays sound."""
    repo.put_bytes(b"a", "a.txt", message="a")
    repo.create_branch("x")
    gone = repo.put_bytes(rand(10_000, seed=12), "b.txt", branch="x", message="b").commit
    repo.delete_branch("x")
    assert store.gc(grace=0)["objects_dropped"] >= 1
    with pytest.raises(RefNotFound):
        repo.create_branch("restored", from_ref=gone)
    with pytest.raises(RefNotFound):
        repo.create_tag("restored", gone)
    assert repo.store.catalog.get_ref(repo.id, "restored") is None
    fs = store.fsck()
    assert fs["ok"], fs["problems"]
    with pytest.raises(NotFound):
        repo.merge(gone, "main")
    assert store.fsck()["ok"]


def test_gc_with_default_grace_keeps_young_packs(repo: Repo, store: Store) -> None:
    repo.create_branch("scratch")
    repo.put_bytes(rand(50_000, seed=7), "u.bin", branch="scratch", message="u")
    fid = repo.entry("scratch", "u.bin").id
    repo.delete_branch("scratch")
    dry = store.gc(grace=0, dry_run=True)
    assert dry["dry_run"] and dry["objects_dropped"] > 0
    assert store.catalog.existing([fid]) == {fid}  # dry run changed nothing
    report = store.gc()  # the default grace (an hour) protects writers' fresh packs
    assert report["objects_dropped"] == 0
    assert store.catalog.existing([fid]) == {fid}


def test_gc_repacks_sparse_packs(repo: Repo, store: Store) -> None:
    # One commit -> one pack holding a small live file and a large doomed one.
    repo.create_branch("scratch")
    with repo.transaction("scratch", "both") as tx:
        tx.put_bytes(b"small live file", "live.txt")
        tx.put_bytes(rand(400_000, seed=8), "dead.bin")
    repo.merge("scratch", "main")
    repo.rm("dead.bin", message="drop dead")
    repo.delete_branch("scratch")
    # The original commit still reaches dead.bin through main's history; cut history by
    # making a fresh repository reference the live content only.
    live_id = repo.entry("main", "live.txt").id
    other = store.create_repo("other")
    other.put_bytes(b"small live file", "live.txt", message="only live")
    store.delete_repo("demo")
    pack = _packs_of(store, [live_id]).pop()
    report = store.gc(grace=0)
    assert report["packs_repacked"] >= 1
    assert _packs_of(store, [live_id]) != {pack}
    assert not store.storage.exists(pack_key(pack))
    assert other.read_bytes("main", "live.txt") == b"small live file"
    fs = store.fsck()
    assert fs["ok"], fs["problems"]


def _flip_byte_of(store: Store, oid: str) -> str:
    """Corrupt one byte of object ``oid`` inside its pack, through the storage API."""
    loc = store.catalog.locate([oid])[oid]
    key = pack_key(loc.pack)
    data = bytearray(store.storage.get_bytes(key))
    data[loc.offset + loc.length // 2] ^= 0x01
    store.storage.put_bytes(key, bytes(data))
    return loc.pack


def test_fsck_detects_corruption(repo: Repo, store: Store, store_spec: StoreSpec) -> None:
    good = rand(200_000, seed=9)
    bad = rand(300_000, seed=10)
    repo.put_bytes(good, "good.bin", message="good")
    repo.put_bytes(bad, "bad.bin", message="bad")
    assert store.fsck()["ok"]
    chunks = store.odb.file(repo.entry("main", "bad.bin").id).chunks
    victim = chunks[len(chunks) // 2][0]
    pack = _flip_byte_of(store, victim)

    def check(st: Store) -> None:
        report = st.fsck()
        assert report["ok"] is False
        named = [p for p in report["problems"] if p.get("object") == victim]
        assert named, report["problems"]
        assert any(p["problem"] == "hash mismatch" and p["pack"] == pack for p in named)
        assert any(p.get("path") == "bad.bin" and p.get("ref") == "main" for p in named)
        assert all(p.get("object") == victim for p in report["problems"])

    check(store)
    with pytest.raises(CorruptObject):  # this handle already read the pack before
        repo.read_bytes("main", "bad.bin")
    assert repo.read_bytes("main", "good.bin") == good
    other = store_spec.open()  # a fresh handle (another process's view)
    try:
        check(other)
        r = other.repo("demo")
        with pytest.raises(CorruptObject):
            r.read_bytes("main", "bad.bin")
        with pytest.raises(CorruptObject):
            r.get("main", "bad.bin", Path(other.config.home) / "out.bin")
        with pytest.raises(CorruptObject), \
                bl.open("blacklake://demo/main/bad.bin", store=other) as f:
            f.read()
        assert r.read_bytes("main", "good.bin") == good
    finally:
        other.close()


def _flip_bit_in_pack(store: Store, chunk: str, offset: int, mask: int) -> None:
    """Bit rot: flip ``mask`` in byte ``offset`` of ``chunk``, in place in its local pack."""
    loc = store.catalog.locate([chunk])[chunk]
    path = Path(store.storage.root) / pack_key(loc.pack)  # type: ignore[attr-defined]
    with open(path, "r+b") as fh:
        fh.seek(loc.offset + offset)
        b = fh.read(1)
        fh.seek(loc.offset + offset)
        fh.write(bytes([b[0] ^ mask]))


def test_corruption_in_place_is_seen_by_an_open_handle(local_store: Store) -> None:
    """Bit rot inside a pack file already opened (and read) by this process."""
    repo = local_store.create_repo("demo")
    data = rand(200_000, seed=11)
    repo.put_bytes(data, "f.bin", message="f")
    assert repo.read_bytes("main", "f.bin") == data  # the pack's descriptor is now cached
    chunk = local_store.odb.file(repo.entry("main", "f.bin").id).chunks[0][0]
    _flip_bit_in_pack(local_store, chunk, 3, 0x80)
    with pytest.raises(CorruptObject):
        repo.read_bytes("main", "f.bin")
    report = local_store.fsck()
    assert not report["ok"]
    assert {p.get("object") for p in report["problems"]} == {chunk}


@pytest.mark.parametrize("which", [0, -1])  # a chunk verified by either verifier thread
def test_get_of_a_big_file_with_a_corrupt_chunk_writes_nothing(local_store: Store,
                                                              tmp_path: Path, which: int) -> None:
    repo = local_store.create_repo("demo")
    data = rand(40 * 1024 * 1024, seed=12)  # several 16 MiB spans: the parallel get path
    repo.put_bytes(data, "big.bin", message="big")
    chunk = local_store.odb.file(repo.entry("main", "big.bin").id).chunks[which][0]
    _flip_bit_in_pack(local_store, chunk, 5, 0x01)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CorruptObject):
        repo.get("main", "big.bin", out / "big.bin")
    assert list(out.iterdir()) == []  # neither the file nor its temp name


def test_fsck_rebuild_restores_derived_catalog(repo: Repo, store: Store, src: Path) -> None:
    repo.put(src, "data", message="first", commit_meta={"run": "1"})
    repo.create_branch("dev")
    repo.put_bytes(b"dev", "data/dev.txt", branch="dev", message="dev")
    repo.put_bytes(b"main", "data/main.txt", message="main")
    repo.merge("dev", "main")
    repo.create_tag("v1", "main")
    log_before = [(c.id, c.parents, c.message, c.meta, c.generation)
                  for c in repo.log("main")]
    path_log = [c.id for c in repo.log("main", path="data/a.txt")]
    listing = repo.ls("main", recursive=True)
    refs = [(r.name, r.kind, r.commit) for r in store.catalog.list_refs(repo.id)]
    fid = repo.entry("main", "data/a.txt").id

    store.catalog.reset_derived()
    assert store.catalog.count_commits() == 0
    store.odb = type(store.odb)(store.storage, store.catalog)  # forget cached objects too
    with pytest.raises(ObjectNotFound):  # the index is gone: nothing is readable
        repo.read_bytes("main", "data/a.txt")

    report = store.fsck(rebuild=True)
    assert report["ok"], report["problems"]
    assert report["rebuilt"]["commits"] == len(log_before)
    assert [(r.name, r.kind, r.commit) for r in store.catalog.list_refs(repo.id)] == refs
    assert [(c.id, c.parents, c.message, c.meta, c.generation)
            for c in repo.log("main")] == log_before
    assert [c.id for c in repo.log("main", path="data/a.txt")] == path_log
    assert repo.ls("main", recursive=True) == listing
    assert repo.read_bytes("main", "data/d/e/c.bin") == rand(300_000, seed=1)
    assert repo.read_bytes("v1", "data/dev.txt") == b"dev"
    assert store.catalog.get_blob(fid).sha256 == sha256(b"hello")
    # Writing still works after a rebuild.
    repo.put_bytes(b"after", "after.txt", message="after rebuild")
    assert repo.read_bytes("main", "after.txt") == b"after"
    assert store.fsck()["ok"]


def test_objects_are_hash_verified_kinds(repo: Repo, store: Store) -> None:
    """Object ids are typed: a file id cannot be read as a tree."""
    repo.put_bytes(b"abc", "f", message="f")
    fid = repo.entry("main", "f").id
    assert store.odb.file(fid).size == 3
    with pytest.raises(CorruptObject):
        store.odb.read_raw(fid, Kind.TREE)


def test_digests_md5_on_demand_and_cached(repo: Repo, store: Store) -> None:
    """SHA-256 is recorded at commit; MD5 is computed on first request, then cached."""
    import hashlib

    data = rand(300_000, seed=99)
    repo.put_bytes(data, "m.bin", message="m")
    fid = repo.entry("main", "m.bin").id
    assert store.catalog.get_blob(fid).md5 is None  # nothing computed on the write path
    d = repo.digests("main", "m.bin")
    assert d["sha256"] == hashlib.sha256(data).hexdigest() and "md5" not in d
    d = repo.digests("main", "m.bin", md5=True)
    assert d["md5"] == hashlib.md5(data).hexdigest()
    assert store.catalog.get_blob(fid).md5 == d["md5"]
    with pytest.raises(InvalidInput):
        repo.digests("main", "")


def test_transaction_keeps_a_given_time_and_refuses_a_bad_one(tmp_path: Path) -> None:
    """Imports keep the source's dates; a time without timezone or not a time changes
    nothing."""
    from blacklake_ml.errors import InvalidInput

    st = Store.open(tmp_path / "home")
    try:
        r = st.create_repo("t")
        with r.transaction("main", "old data", time="2024-01-02T11:00:00+01:00") as tx:
            tx.put_bytes(b"x", "x.bin")
        assert r.log("main")[0].time == "2024-01-02T10:00:00.000000Z"
        head = r.resolve("main")
        for bad in ("yesterday", "2024-01-02T11:00:00"):
            with pytest.raises(InvalidInput):
                r.transaction("main", "bad", time=bad)
        assert r.resolve("main") == head
    finally:
        st.close()


def test_reads_survive_gc_deleting_the_pack_of_cached_locations(tmp_path: Path) -> None:
    """Locations are cached per store handle; gc repacking a sparse pack and deleting it
    must not break the next read through a handle that cached them (it locates again)."""
    st = Store.open(tmp_path / "home")
    other = Store.open(tmp_path / "home")
    try:
        r = st.create_repo("g")
        keep, drop = os.urandom(3 << 20), os.urandom(9 << 20)
        r.create_branch("tmp", "main")
        r.create_branch("side", "main")
        with r.transaction("tmp", "both") as tx:  # one pack holds both
            tx.put_bytes(keep, "keep.bin")
            tx.put_bytes(drop, "drop.bin")
        r.put_bytes(keep, "keep.bin", branch="side", message="keep only")  # deduplicated
        out = tmp_path / "out"
        out.mkdir()
        r.get("side", "keep.bin", out / "a.bin")          # st caches the locations
        r2 = other.repo("g")
        assert r2.read_bytes("side", "keep.bin") == keep  # so does the other handle
        r.delete_branch("tmp")
        report = st.gc(grace=0, repack_below=0.9)
        assert report["packs_repacked"] >= 1 and report["packs_deleted"] >= 1, report
        r.get("side", "keep.bin", out / "b.bin")          # copy_local from a deleted pack
        assert (out / "b.bin").read_bytes() == keep
        assert r2.read_bytes("side", "keep.bin") == keep  # iter_file from a deleted pack
        with r2.open("side", "keep.bin") as f:
            f.seek(1 << 20)
            assert f.read(1000) == keep[1 << 20:(1 << 20) + 1000]
        assert st.fsck()["ok"]
    finally:
        other.close()
        st.close()
