"""One conformance suite for every catalog backend (the spec is ``blacklake_ml/catalog/base.py``).

Runs against SQLite in a file, the same file reopened (which takes the ``sqlite3`` read
path of :mod:`blacklake_ml.catalog.sqlite_fast`), SQLite in memory (``sqlite://``) and a
fresh PostgreSQL database, all opened through :func:`blacklake_ml.catalog.open_catalog`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from blacklake_ml.catalog import (
    BlobRow,
    Catalog,
    CommitBatch,
    CommitRow,
    ObjectLocation,
    PackRow,
    PathChange,
    open_catalog,
)
from blacklake_ml.errors import (
    ObjectsVanished,
    RefExists,
    RefMoved,
    RefNotFound,
    RepoExists,
    RepoNotFound,
)

CATALOGS = ["sqlite-file", "sqlite-reopened", "sqlite-memory",
            pytest.param("postgres", marks=pytest.mark.postgres)]


def _url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    if kind == "sqlite-file":
        return f"sqlite:///{tmp_path / 'cat' / 'catalog.sqlite'}"
    if kind == "sqlite-reopened":
        url = f"sqlite:///{tmp_path / 'cat' / 'catalog.sqlite'}"
        open_catalog(url).close()  # created at the head revision: the next open is fast
        return url
    if kind == "sqlite-memory":
        return "sqlite://"
    return request.getfixturevalue("pg_catalog_url")


@pytest.fixture(params=CATALOGS)
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request, request.param, tmp_path)


@pytest.fixture
def cat(request: pytest.FixtureRequest, catalog_url: str) -> Iterator[Catalog]:
    from blacklake_ml.catalog.sqlite_fast import FastSqliteCatalog

    c = open_catalog(catalog_url)
    assert isinstance(c, FastSqliteCatalog) == (request.node.callspec.params.get(
        "catalog_url") == "sqlite-reopened")
    try:
        yield c
    finally:
        c.close()


# -- builders -------------------------------------------------------------------------------
def hid(seed: str, prefix: str = "") -> str:
    """A 64-hex id, optionally starting with ``prefix``."""
    h = hashlib.sha256(seed.encode()).hexdigest()
    return (prefix + h)[:64]


def commit_row(cid: str, parents: tuple[str, ...] = (), message: str = "msg",
               generation: int = 1) -> CommitRow:
    return CommitRow(id=cid, tree=hid("tree" + cid), parents=parents, author="alice",
                     committer="alice", time="2024-01-01T00:00:00.000000Z", message=message,
                     meta={"k": "v"}, generation=generation, size=10, nfiles=1)


def batch(*rows: CommitRow, changes: dict[str, list[PathChange]] | None = None,
          blobs: list[BlobRow] | None = None, required: tuple[str, ...] = ()) -> CommitBatch:
    return CommitBatch(commits=list(rows), changes=changes or {}, blobs=blobs or [],
                       required_objects=required)


def new_repo(cat: Catalog, name: str = "repo") -> tuple[int, str]:
    """A repository with ``main`` at an initial commit; returns (repo id, initial commit)."""
    root = hid(f"init-{name}")
    r = cat.create_repo(name, "desc", initial_commit=commit_row(root))
    return r.id, root


def locs(pack: str, *ids: str, kind: int = 1, start: int = 8, length: int = 10
         ) -> list[ObjectLocation]:
    return [ObjectLocation(oid, kind, pack, start + i * length, length)
            for i, oid in enumerate(ids)]


def pack_row(pid: str, n: int = 1, created: float | None = None) -> PackRow:
    return PackRow(pid, 100, n, time.time() if created is None else created)


def add_objects(cat: Catalog, pack: str, *ids: str, kind: int = 1) -> None:
    cat.add_pack(pack_row(pack, len(ids)), locs(pack, *ids, kind=kind))


# -- lifecycle ------------------------------------------------------------------------------
def test_migrate_is_idempotent_and_keeps_data(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    cat.migrate()
    cat.migrate()
    assert [r.name for r in cat.list_repos()] == ["repo"]
    assert cat.get_ref(rid, "main").commit == root


def test_reopening_a_file_catalog_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'dir' / 'c.sqlite'}"
    c1 = open_catalog(url)
    try:
        _, root = new_repo(c1)
    finally:
        c1.close()
    c2 = open_catalog(url)
    try:
        c2.migrate()
        repo = c2.get_repo("repo")
        assert c2.get_ref(repo.id, "main").commit == root
    finally:
        c2.close()


# -- repositories ---------------------------------------------------------------------------
def test_create_get_list_delete_repo(cat: Catalog) -> None:
    assert cat.list_repos() == []
    init = commit_row(hid("c0"))
    r = cat.create_repo("zeta", "the z", max_bytes=100, max_files=3, initial_commit=init,
                        default_branch="trunk")
    cat.create_repo("alpha")
    assert r.name == "zeta" and r.description == "the z"
    got = cat.get_repo("zeta")
    assert (got.id, got.name, got.description, got.max_bytes, got.max_files) == \
        (r.id, "zeta", "the z", 100, 3)
    assert [x.name for x in cat.list_repos()] == ["alpha", "zeta"]
    refs = cat.list_refs(r.id)
    assert [(x.name, x.kind, x.commit) for x in refs] == [("trunk", "branch", init.id)]
    assert cat.get_commits(r.id, [init.id])[init.id].message == "msg"
    # A repo created without an initial commit has no refs.
    assert cat.list_refs(cat.get_repo("alpha").id) == []

    cat.set_quota(r.id, None, 7)
    got = cat.get_repo("zeta")
    assert (got.max_bytes, got.max_files) == (None, 7)

    cat.delete_repo("zeta")
    assert [x.name for x in cat.list_repos()] == ["alpha"]
    with pytest.raises(RepoNotFound):
        cat.get_repo("zeta")
    assert cat.list_refs(r.id) == []
    assert cat.count_commits(r.id) == 0
    # The name is free again, and the new repository starts clean.
    r2 = cat.create_repo("zeta")
    assert cat.list_refs(r2.id) == []
    assert cat.get_commits(r2.id, [init.id]) == {}


def test_duplicate_repo_raises_repo_exists_and_changes_nothing(cat: Catalog) -> None:
    rid, root = new_repo(cat, "dup")
    with pytest.raises(RepoExists):
        cat.create_repo("dup", "other", initial_commit=commit_row(hid("other")))
    assert [r.name for r in cat.list_repos()] == ["dup"]
    assert cat.get_repo("dup").description == "desc"
    assert [(r.name, r.commit) for r in cat.list_refs(rid)] == [("main", root)]
    assert cat.count_commits() == 1


def test_missing_repo_raises_repo_not_found(cat: Catalog) -> None:
    with pytest.raises(RepoNotFound):
        cat.get_repo("nope")
    with pytest.raises(RepoNotFound):
        cat.delete_repo("nope")


# -- refs -----------------------------------------------------------------------------------
def test_refs_create_list_delete(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    other_rid, _ = new_repo(cat, "other")
    c = hid("c1")
    add_objects(cat, "commits", root, c, kind=4)  # refs only point at stored commits
    cat.create_ref(rid, "dev", "branch", c)
    cat.create_ref(rid, "v1.0", "tag", root)
    cat.create_ref(rid, "Alpha_2", "branch", root)
    assert [(r.name, r.kind, r.commit) for r in cat.list_refs(rid)] == [
        ("Alpha_2", "branch", root), ("dev", "branch", c), ("main", "branch", root),
        ("v1.0", "tag", root)]
    assert [r.name for r in cat.list_refs(rid, "branch")] == ["Alpha_2", "dev", "main"]
    assert [r.name for r in cat.list_refs(rid, "tag")] == ["v1.0"]
    assert cat.get_ref(rid, "v1.0").kind == "tag"
    assert cat.get_ref(rid, "nope") is None
    # Refs are per repository.
    assert cat.get_ref(other_rid, "dev") is None
    cat.create_ref(other_rid, "dev", "branch", root)

    with pytest.raises(RefExists):
        cat.create_ref(rid, "dev", "branch", root)
    with pytest.raises(RefExists):  # a tag and a branch share one namespace
        cat.create_ref(rid, "v1.0", "branch", root)
    with pytest.raises(RefNotFound):  # a commit that is not stored (e.g. swept by gc)
        cat.create_ref(rid, "ghost", "branch", hid("never-written"))
    assert cat.get_ref(rid, "ghost") is None
    assert cat.get_ref(rid, "dev").commit == c
    assert cat.get_ref(rid, "v1.0").kind == "tag"

    with pytest.raises(RefNotFound):  # wrong kind: nothing deleted
        cat.delete_ref(rid, "v1.0", "branch")
    with pytest.raises(RefNotFound):
        cat.delete_ref(rid, "missing", "branch")
    assert cat.get_ref(rid, "v1.0") is not None
    cat.delete_ref(rid, "v1.0", "tag")
    cat.delete_ref(rid, "dev", "branch")
    assert [r.name for r in cat.list_refs(rid)] == ["Alpha_2", "main"]
    assert cat.get_ref(other_rid, "dev") is not None
    assert {(rid_, r.name) for rid_, r in cat.all_refs()} == {
        (rid, "Alpha_2"), (rid, "main"), (other_rid, "main"), (other_rid, "dev")}


def test_update_ref_cas_success_indexes_batch(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    c1 = commit_row(hid("c1"), (root,), "first", 2)
    blob = BlobRow(hid("file1"), 5, hid("sha1"))
    add_objects(cat, "p1", hid("chunk1"))
    cat.update_ref(rid, "main", root,
                   batch(c1, changes={c1.id: [PathChange("a.txt", "A")]}, blobs=[blob],
                         required=(hid("chunk1"),)), c1.id)
    assert cat.get_ref(rid, "main").commit == c1.id
    got = cat.get_commits(rid, [c1.id, root, hid("unknown")])
    assert set(got) == {c1.id, root}
    assert got[c1.id] == c1
    assert cat.commits_touching(rid, "a.txt") == {c1.id}
    assert cat.get_blob(blob.id) == blob
    assert cat.count_commits(rid) == 2


def test_update_ref_wrong_expected_raises_ref_moved_and_changes_nothing(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    c1 = commit_row(hid("c1"), (root,))
    cat.update_ref(rid, "main", root, batch(c1), c1.id)
    c2 = commit_row(hid("c2"), (root,))
    blob = BlobRow(hid("file2"), 5, hid("sha2"))
    with pytest.raises(RefMoved):
        cat.update_ref(rid, "main", root,
                       batch(c2, changes={c2.id: [PathChange("b", "A")]}, blobs=[blob]), c2.id)
    assert cat.get_ref(rid, "main").commit == c1.id
    assert cat.get_commits(rid, [c2.id]) == {}
    assert cat.commits_touching(rid, "b") == set()
    assert cat.get_blob(blob.id) is None
    assert cat.count_commits(rid) == 2


def test_update_ref_of_tag_or_missing_branch_raises_ref_not_found(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    add_objects(cat, "commits", root, kind=4)
    cat.create_ref(rid, "v1", "tag", root)
    c1 = commit_row(hid("c1"), (root,))
    with pytest.raises(RefNotFound):
        cat.update_ref(rid, "v1", root, batch(c1), c1.id)
    with pytest.raises(RefNotFound):
        cat.update_ref(rid, "ghost", root, batch(c1), c1.id)
    assert cat.get_ref(rid, "v1").commit == root
    assert cat.get_ref(rid, "ghost") is None
    assert cat.get_commits(rid, [c1.id]) == {}


def test_update_ref_with_vanished_required_objects_changes_nothing(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    present, gone = hid("present"), hid("gone")
    add_objects(cat, "p1", present)
    c1 = commit_row(hid("c1"), (root,))
    blob = BlobRow(hid("f"), 1, hid("s"))
    with pytest.raises(ObjectsVanished):
        cat.update_ref(rid, "main", root,
                       batch(c1, changes={c1.id: [PathChange("x", "A")]}, blobs=[blob],
                             required=(present, gone)), c1.id)
    assert cat.get_ref(rid, "main").commit == root
    assert cat.get_commits(rid, [c1.id]) == {}
    assert cat.commits_touching(rid, "x") == set()
    assert cat.get_blob(blob.id) is None
    # Once gc drops an object that was present, the same check fails too.
    with cat.gc_exclusive() as session:
        session.drop_objects([present])
    with pytest.raises(ObjectsVanished):
        cat.update_ref(rid, "main", root, batch(c1, required=(present,)), c1.id)
    assert cat.get_ref(rid, "main").commit == root


def test_update_ref_required_objects_with_duplicates(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    o = hid("o")
    add_objects(cat, "p1", o)
    c1 = commit_row(hid("c1"), (root,))
    cat.update_ref(rid, "main", root, batch(c1, required=(o, o)), c1.id)
    assert cat.get_ref(rid, "main").commit == c1.id


def test_update_ref_own_packs_fast_check_and_fallback(cat: Catalog) -> None:
    """A writer's own packs are checked by count; a short count falls back to per-object."""
    rid, root = new_repo(cat)
    a, b = hid("own-a"), hid("own-b")
    add_objects(cat, "mine", a, b)
    # Another writer wrote b again: its row moved to that writer's pack. Nothing is lost, so
    # the per-object fallback lets the commit land.
    add_objects(cat, "theirs", b)
    c1 = commit_row(hid("own-c1"), (root,))
    cat.update_ref(rid, "main", root, CommitBatch(commits=[c1], own_packs={"mine": 2},
                                                  own_objects=(a, b)), c1.id)
    assert cat.get_ref(rid, "main").commit == c1.id
    # gc swept a (still in "mine"): the count is short and a is really gone.
    with cat.gc_exclusive() as session:
        session.drop_objects([a], "mine")
    c2 = commit_row(hid("own-c2"), (c1.id,))
    with pytest.raises(ObjectsVanished):
        cat.update_ref(rid, "main", c1.id, CommitBatch(commits=[c2], own_packs={"mine": 2},
                                                       own_objects=(a, b)), c2.id)
    assert cat.get_ref(rid, "main").commit == c1.id
    assert cat.get_commits(rid, [c2.id]) == {}


def test_update_ref_reindexing_a_known_commit_is_harmless(cat: Catalog) -> None:
    """A fast-forward publishes a commit the index already has."""
    rid, root = new_repo(cat)
    c1 = commit_row(hid("c1"), (root,), generation=2)
    cat.index_commits(rid, batch(c1, changes={c1.id: [PathChange("a", "A")]}))
    cat.update_ref(rid, "main", root, batch(c1, changes={c1.id: [PathChange("a", "A")]}),
                   c1.id)
    assert cat.get_ref(rid, "main").commit == c1.id
    assert cat.count_commits(rid) == 2
    assert cat.commits_touching(rid, "a") == {c1.id}


def _race_update_ref(cat: Catalog, rid: int, expected: str,
                     candidates: list[CommitRow]) -> dict[int, str]:
    """Each candidate's update_ref from ``expected``, in its own thread, released at once."""
    barrier = threading.Barrier(len(candidates))
    outcomes: dict[int, str] = {}

    def attempt(t: int) -> None:
        barrier.wait()
        try:
            cat.update_ref(rid, "main", expected, batch(candidates[t]), candidates[t].id)
            outcomes[t] = "won"
        except RefMoved:
            outcomes[t] = "moved"
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
            outcomes[t] = f"error: {exc!r}"

    threads = [threading.Thread(target=attempt, args=(t,)) for t in range(len(candidates))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return outcomes


def test_update_ref_concurrent_cas_exactly_one_wins(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    rounds = 10
    expected = root
    for i in range(rounds):
        candidates = [commit_row(hid(f"r{i}t{t}"), (expected,)) for t in range(2)]
        outcomes = _race_update_ref(cat, rid, expected, candidates)
        assert sorted(outcomes.values()) == ["moved", "won"], outcomes
        winner = next(t for t, o in outcomes.items() if o == "won")
        head = cat.get_ref(rid, "main").commit
        assert head == candidates[winner].id
        loser = candidates[1 - winner].id
        assert cat.get_commits(rid, [loser]) == {}
        expected = head
    assert cat.count_commits(rid) == 1 + rounds


# -- commit index ---------------------------------------------------------------------------
def test_find_commits_prefix_matching(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    other, _ = new_repo(cat, "other")
    ids = [hid("a", "abcd1234"), hid("b", "abcd1235"), hid("c", "abcd12ff"),
           hid("d", "abcd2"), hid("e", "abce"), hid("f", "abcc")]
    cat.index_commits(rid, batch(*[commit_row(i) for i in ids]))
    cat.index_commits(other, batch(commit_row(hid("x", "abcd1234"))))
    assert cat.find_commits(rid, "abcd1234") == [ids[0]]
    assert cat.find_commits(rid, ids[1]) == [ids[1]]  # a full id
    assert cat.find_commits(rid, "abcd123", limit=5) == sorted(ids[:2])
    assert cat.find_commits(rid, "abcd12", limit=5) == sorted(ids[:3])
    assert cat.find_commits(rid, "abcd", limit=10) == sorted(ids[:4])
    assert cat.find_commits(rid, "abcd", limit=2) == sorted(ids[:4])[:2]
    assert cat.find_commits(rid, "abcd12f0") == []
    assert cat.find_commits(rid, "abcf") == []
    assert cat.find_commits(rid, "abc", limit=10) == sorted(ids)
    # The other repository's commit with the same prefix is not ours.
    assert cat.find_commits(other, "abcd1234") == [hid("x", "abcd1234")]
    assert root not in cat.find_commits(rid, "abcd", limit=10)


def _index_paths(cat: Catalog, rid: int, paths: list[str]) -> dict[str, str]:
    out = {}
    rows = []
    changes = {}
    for p in paths:
        cid = hid("touch:" + p)
        out[p] = cid
        rows.append(commit_row(cid))
        changes[cid] = [PathChange(p, "A")]
    cat.index_commits(rid, batch(*rows, changes=changes))
    return out


def test_commits_touching_path_prefixes(cat: Catalog) -> None:
    rid, _ = new_repo(cat)
    other, _ = new_repo(cat, "other")
    paths = ["a/b", "a/bc", "a/b/c", "a/b/d/e.bin", "a/b.txt", "a/b-c", "a/b0", "a/ba",
             "a/b_/x", "a/b/ü.txt", "ab", "a", "b/a/b", "a/b%/y"]
    ids = _index_paths(cat, rid, paths)
    _index_paths(cat, other, ["a/b/c"])

    def touching(p: str) -> set[str]:
        return {k for k, v in ids.items() if v in cat.commits_touching(rid, p)}

    assert touching("a/b") == {"a/b", "a/b/c", "a/b/d/e.bin", "a/b/ü.txt"}
    assert touching("a/bc") == {"a/bc"}
    assert touching("a/b/c") == {"a/b/c"}
    assert touching("a/b/d") == {"a/b/d/e.bin"}
    assert touching("a") == set(paths) - {"ab", "b/a/b"}
    assert touching("a/b_") == {"a/b_/x"}
    assert touching("a/b%") == {"a/b%/y"}
    assert touching("b") == {"b/a/b"}
    assert touching("zzz") == set()
    # A commit with several changes is returned once.
    multi = commit_row(hid("multi"))
    cat.index_commits(rid, batch(multi, changes={multi.id: [
        PathChange("m/1", "A"), PathChange("m/2", "M"), PathChange("m/3", "D")]}))
    assert cat.commits_touching(rid, "m") == {multi.id}
    assert cat.commits_touching(rid, "m/3") == {multi.id}


def test_get_and_count_commits(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    other, oroot = new_repo(cat, "other")
    many = [commit_row(hid(f"m{i}"), (root,), generation=2) for i in range(1200)]
    cat.index_commits(rid, batch(*many))
    assert cat.count_commits(rid) == 1201
    assert cat.count_commits(other) == 1
    assert cat.count_commits() == 1202
    # More ids than one IN (...) batch, with duplicates and foreign ids.
    got = cat.get_commits(rid, [c.id for c in many] + [many[0].id, oroot])
    assert len(got) == 1200 and oroot not in got
    assert got[many[7].id] == many[7]
    # Indexing the same commits again is a no-op.
    cat.index_commits(rid, batch(*many[:10]))
    assert cat.count_commits(rid) == 1201


# -- objects and packs ----------------------------------------------------------------------
def test_add_pack_locate_existing_pack_objects(cat: Catalog) -> None:
    a, b, c, d = (hid(x) for x in "abcd")
    cat.add_pack(pack_row("p1", 2), locs("p1", a, b))
    cat.add_pack(pack_row("p2", 1), locs("p2", c, kind=3))
    assert cat.locate([a, b, c, d]) == {
        a: ObjectLocation(a, 1, "p1", 8, 10), b: ObjectLocation(b, 1, "p1", 18, 10),
        c: ObjectLocation(c, 3, "p2", 8, 10)}
    assert cat.existing([a, c, d, a]) == {a, c}
    assert cat.existing([]) == set()
    assert cat.locate([]) == {}
    assert [o.id for o in cat.pack_objects("p1")] == [a, b]
    assert cat.pack_objects("nope") == []
    assert {p.id: (p.nobjects, p.state) for p in cat.list_packs()} == {
        "p1": (2, "live"), "p2": (1, "live")}
    assert sorted(cat.iter_object_ids()) == sorted([(a, 1), (b, 1), (c, 3)])
    assert list(cat.iter_object_ids(3)) == [(c, 3)]


def test_add_pack_many_objects(cat: Catalog) -> None:
    ids = [hid(f"obj{i}") for i in range(1500)]
    cat.add_pack(pack_row("big", len(ids)), locs("big", *ids))
    assert cat.existing(ids) == set(ids)
    assert len(cat.locate(ids)) == 1500
    assert len(cat.pack_objects("big")) == 1500


def test_add_pack_readding_an_object_moves_it_to_the_new_pack(cat: Catalog) -> None:
    a, b, c = hid("a"), hid("b"), hid("c")
    cat.add_pack(pack_row("old"), locs("old", a, b))
    cat.add_pack(pack_row("new"), [ObjectLocation(b, 1, "new", 100, 10),
                                   ObjectLocation(c, 1, "new", 110, 10)])
    loc = cat.locate([a, b, c])
    assert loc[a].pack == "old"
    assert (loc[b].pack, loc[b].offset) == ("new", 100)
    assert [o.id for o in cat.pack_objects("old")] == [a]
    assert [o.id for o in cat.pack_objects("new")] == [b, c]


def test_gc_session_drop_move_retire(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    a, b, c, d = (hid(x) for x in "abcd")
    cat.add_pack(pack_row("p1"), locs("p1", a, b, c))
    cat.add_pack(pack_row("p2"), [ObjectLocation(c, 1, "p2", 8, 10),
                                  ObjectLocation(d, 1, "p2", 18, 10)])
    # c now lives in p2 (re-added); a repack of p1 copied b to p3.
    cat.add_pack(pack_row("p3"), [ObjectLocation(b, 1, "p3", 8, 10)])
    cat.add_pack(pack_row("p4"), [])
    when = time.time()
    with cat.gc_exclusive() as session:
        assert [(r_id, r.name, r.commit) for r_id, r in session.all_refs()] == \
            [(rid, "main", root)]
        session.drop_objects([a])
        # Only objects still located in the source pack move.
        session.move_objects([ObjectLocation(b, 1, "p5", 0, 10),
                              ObjectLocation(d, 1, "p5", 10, 10)], "p1")
        session.move_objects([], "p1")
        session.retire_packs(["p1", "p4"], when)
    loc = cat.locate([a, b, c, d])
    assert a not in loc
    assert loc[b].pack == "p3"  # was not in p1 any more
    assert loc[d].pack == "p2"  # was not in p1
    packs = {p.id: p for p in cat.list_packs()}
    assert packs["p1"].state == "retired" and packs["p1"].retired_at == pytest.approx(when)
    assert packs["p4"].state == "retired"
    assert packs["p2"].state == "live" and packs["p2"].retired_at is None

    with cat.gc_exclusive() as session:
        session.move_objects([ObjectLocation(d, 1, "p6", 4, 10)], "p2")
    assert (cat.locate([d])[d].pack, cat.locate([d])[d].offset) == ("p6", 4)


def test_gc_session_drop_objects_only_from_the_given_pack(cat: Catalog) -> None:
    a, b, c = hid("a"), hid("b"), hid("c")
    cat.add_pack(pack_row("old"), locs("old", a, b, c))
    # b was written again by a writer since gc looked: its row now points at "young".
    cat.add_pack(pack_row("young"), [ObjectLocation(b, 1, "young", 8, 10)])
    with cat.gc_exclusive() as session:
        session.drop_objects([a, b, c], "old")
        session.retire_packs(["old"], time.time())
    assert set(cat.locate([a, b, c])) == {b}
    assert cat.locate([b])[b].pack == "young"


def test_gc_session_rolls_back_on_error(cat: Catalog) -> None:
    a = hid("a")
    cat.add_pack(pack_row("p1"), locs("p1", a))
    with pytest.raises(RuntimeError, match="boom"), cat.gc_exclusive() as session:
        session.drop_objects([a])
        session.retire_packs(["p1"], time.time())
        raise RuntimeError("boom")
    assert cat.existing([a]) == {a}
    assert cat.list_packs()[0].state == "live"


def test_gc_exclusive_blocks_update_ref(cat: Catalog) -> None:
    """A ref update waits for gc's session (the barrier), then sees what gc dropped."""
    rid, root = new_repo(cat)
    o = hid("o")
    add_objects(cat, "p1", o)
    c1 = commit_row(hid("c1"), (root,))
    result: dict[str, object] = {}
    entered = threading.Event()

    def writer() -> None:
        entered.wait(30)
        try:
            cat.update_ref(rid, "main", root, batch(c1, required=(o,)), c1.id)
            result["r"] = "won"
        except ObjectsVanished:
            result["r"] = "vanished"

    t = threading.Thread(target=writer)
    t.start()
    with cat.gc_exclusive() as session:
        entered.set()
        time.sleep(0.5)  # the writer is now waiting for the gc lock
        assert "r" not in result
        session.drop_objects([o])
    t.join(60)
    assert result["r"] == "vanished"
    assert cat.get_ref(rid, "main").commit == root


def test_delete_packs_forgets_packs_and_their_objects(cat: Catalog) -> None:
    a, b, c = hid("a"), hid("b"), hid("c")
    cat.add_pack(pack_row("p1"), locs("p1", a, b))
    cat.add_pack(pack_row("p2"), locs("p2", c))
    cat.delete_packs(["p1", "unknown"])
    assert [p.id for p in cat.list_packs()] == ["p2"]
    assert cat.existing([a, b, c]) == {c}
    cat.delete_packs([])
    assert [p.id for p in cat.list_packs()] == ["p2"]


def test_list_packs_in_creation_order(cat: Catalog) -> None:
    now = time.time()
    cat.add_pack(pack_row("later", created=now + 10), [])
    cat.add_pack(pack_row("earlier", created=now - 10), [])
    assert [p.id for p in cat.list_packs()] == ["earlier", "later"]


# -- blobs ----------------------------------------------------------------------------------
def test_blobs_and_set_md5(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    f1, f2 = hid("f1"), hid("f2")
    b1 = BlobRow(f1, 11, hid("sha-f1"))
    c1 = commit_row(hid("c1"), (root,))
    # The same blob twice in one batch, and again in a later batch: stored once.
    cat.index_commits(rid, batch(c1, blobs=[b1, b1]))
    c2 = commit_row(hid("c2"), (root,))
    cat.index_commits(rid, batch(c2, blobs=[b1, BlobRow(f2, 0, hid("sha-f2"))]))
    assert cat.get_blob(f1) == b1
    assert cat.get_blob(f2).size == 0
    assert cat.get_blob(hid("nope")) is None
    md5 = hashlib.md5(b"hello world").hexdigest()
    cat.set_md5(f1, md5)
    assert cat.get_blob(f1) == BlobRow(f1, 11, b1.sha256, md5)
    cat.set_md5(hid("nope"), md5)  # unknown blob: nothing to update, not an error
    assert cat.get_blob(hid("nope")) is None


def test_blob_without_sha256_is_filled_later(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    f = hid("big")
    cat.index_commits(rid, batch(commit_row(hid("c1"), (root,)), blobs=[BlobRow(f, 9, None)]))
    assert cat.get_blob(f) == BlobRow(f, 9, None)
    cat.set_sha256(f, hid("digest"))
    cat.set_md5(f, "0" * 32)
    assert cat.get_blob(f) == BlobRow(f, 9, hid("digest"), "0" * 32)
    cat.set_sha256(hid("nope"), hid("digest"))  # unknown blob: not an error
    assert cat.get_blob(hid("nope")) is None


@pytest.mark.parametrize("kind", ["sqlite-file", pytest.param("postgres",
                                                              marks=pytest.mark.postgres)])
def test_migration_0005_keeps_blobs_and_allows_a_missing_sha256(
        request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> None:
    """A catalog at 0004 (blobs.sha256 NOT NULL) upgrades with its rows intact."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from blacklake_ml.catalog.sql import SqlCatalog

    url = _url(request, kind, tmp_path)
    cat = SqlCatalog(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(
        Path(__file__).parents[1] / "blacklake_ml" / "catalog" / "migrations"))
    try:
        cat.migrate()
        rid, root = new_repo(cat)
        old = BlobRow(hid("f"), 5, hid("sha"))
        cat.index_commits(rid, batch(commit_row(hid("c1"), (root,)), blobs=[old]))
        with cat.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
        with cat.engine.begin() as conn:  # at 0004 the column refuses NULL
            with pytest.raises(sa.exc.IntegrityError):
                with conn.begin_nested():
                    conn.execute(sa.text("INSERT INTO blobs (id, size, sha256) "
                                         "VALUES ('x', 1, NULL)"))
        cat.migrate()  # back to the head revision
        assert cat.get_blob(old.id) == old
        cat.index_commits(rid, batch(commit_row(hid("c2"), (root,)),
                                     blobs=[BlobRow(hid("g"), 7, None)]))
        assert cat.get_blob(hid("g")) == BlobRow(hid("g"), 7, None)
    finally:
        cat.close()


# -- rebuild --------------------------------------------------------------------------------
def test_reset_derived_keeps_repos_and_refs(cat: Catalog) -> None:
    rid, root = new_repo(cat)
    c1 = commit_row(hid("c1"), (root,))
    add_objects(cat, "p1", hid("o1"))
    cat.update_ref(rid, "main", root,
                   batch(c1, changes={c1.id: [PathChange("a", "A")]},
                         blobs=[BlobRow(hid("f"), 1, hid("s"))]), c1.id)
    add_objects(cat, "commits", c1.id, kind=4)
    cat.create_ref(rid, "v1", "tag", c1.id)
    cat.set_quota(rid, 1000, None)
    cat.reset_derived()
    assert [r.name for r in cat.list_repos()] == ["repo"]
    assert cat.get_repo("repo").max_bytes == 1000
    assert [(r.name, r.kind, r.commit) for r in cat.list_refs(rid)] == [
        ("main", "branch", c1.id), ("v1", "tag", c1.id)]
    assert cat.count_commits() == 0
    assert cat.get_commits(rid, [c1.id, root]) == {}
    assert cat.commits_touching(rid, "a") == set()
    assert cat.list_packs() == []
    assert cat.existing([hid("o1")]) == set()
    assert cat.get_blob(hid("f")) is None
    # Still fully usable afterwards.
    c2 = commit_row(hid("c2"), (c1.id,))
    cat.update_ref(rid, "main", c1.id, batch(c2), c2.id)
    assert cat.get_ref(rid, "main").commit == c2.id


# -- model lifecycle: version tags, aliases, deployments, deprecations ----------------------
def _lifecycle_repo(cat: Catalog, name: str = "repo") -> tuple[int, str, str, str]:
    """A repository whose initial commit and two more commits are stored objects."""
    rid, root = new_repo(cat, name)
    c1, c2 = hid(f"{name}-c1"), hid(f"{name}-c2")
    add_objects(cat, f"commits-{name}", root, c1, c2, kind=4)
    return rid, root, c1, c2


def test_create_tag_exclusive_refuses_equivalent_names(cat: Catalog) -> None:
    rid, root, c1, _ = _lifecycle_repo(cat)
    row = cat.create_tag_exclusive(rid, "v1.0.0", root, ["1.0.0", "v1.0.0"])
    assert (row.name, row.kind, row.commit) == ("v1.0.0", "tag", root)
    with pytest.raises(RefExists, match="v1.0.0"):
        cat.create_tag_exclusive(rid, "1.0.0", c1, ["1.0.0", "v1.0.0"])
    with pytest.raises(RefExists):
        cat.create_tag_exclusive(rid, "main", c1, [])
    with pytest.raises(RefNotFound):
        cat.create_tag_exclusive(rid, "v2.0.0", hid("never-written"), ["2.0.0"])
    assert [(r.name, r.kind) for r in cat.list_refs(rid)] == [("main", "branch"),
                                                              ("v1.0.0", "tag")]


def test_create_tag_exclusive_is_atomic_across_threads(cat: Catalog) -> None:
    rid, root, _, _ = _lifecycle_repo(cat)
    names = ["v3.1.4", "3.1.4"] * 4
    outcomes: list[str] = []
    barrier = threading.Barrier(len(names))

    def create(name: str) -> None:
        barrier.wait(30)
        try:
            cat.create_tag_exclusive(rid, name, root, ["3.1.4", "v3.1.4"])
            outcomes.append("won")
        except RefExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=create, args=(n,)) for n in names]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(outcomes) == ["exists"] * (len(names) - 1) + ["won"]
    assert len([r for r in cat.list_refs(rid, "tag") if r.name.endswith("3.1.4")]) == 1


def test_alias_create_move_delete_record_events(cat: Catalog) -> None:
    rid, root, c1, _ = _lifecycle_repo(cat)
    e1 = cat.move_alias(rid, "champion", None, root, action="create", by="ann",
                        to_label="v1.0.0")
    assert (e1.alias, e1.seq, e1.action, e1.from_commit, e1.to_commit, e1.to_label, e1.by) == \
        ("champion", 1, "create", None, root, "v1.0.0", "ann")
    alias = cat.get_ref(rid, "champion")
    assert (alias.kind, alias.commit) == ("alias", root)
    # An alias is a ref of its own kind: branch and tag listings do not show it.
    assert [r.name for r in cat.list_refs(rid, "alias")] == ["champion"]
    assert [r.name for r in cat.list_refs(rid, "branch")] == ["main"]
    assert cat.list_refs(rid, "tag") == []
    assert {(i, r.name) for i, r in cat.all_refs()} >= {(rid, "champion")}  # a gc root
    e2 = cat.move_alias(rid, "champion", root, c1, action="move", by="bob", reason="better",
                        from_label="v1.0.0", to_label="v1.1.0")
    assert (e2.seq, e2.from_commit, e2.to_commit, e2.reason) == (2, root, c1, "better")
    assert cat.get_ref(rid, "champion").commit == c1
    e3 = cat.move_alias(rid, "champion", c1, None, action="delete", by="cy")
    assert (e3.seq, e3.to_commit) == (3, None)
    assert cat.get_ref(rid, "champion") is None
    assert cat.alias_history(rid, "champion") == [e1, e2, e3]
    # Re-created: the log continues (seq never restarts).
    e4 = cat.move_alias(rid, "champion", None, c1, action="create", by="ann")
    assert e4.seq == 4
    assert [e.seq for e in cat.alias_history(rid, "champion")] == [1, 2, 3, 4]
    assert cat.alias_history(rid, "other") == []


def test_move_alias_refusals_change_nothing(cat: Catalog) -> None:
    rid, root, c1, c2 = _lifecycle_repo(cat)
    cat.move_alias(rid, "staging", None, root, action="create", by="ann")
    before = (cat.list_refs(rid), cat.alias_history(rid, "staging"))
    with pytest.raises(RefExists):  # one namespace for branches, tags and aliases
        cat.move_alias(rid, "main", None, c1, action="create", by="ann")
    with pytest.raises(RefExists):
        cat.move_alias(rid, "staging", None, c1, action="create", by="ann")
    with pytest.raises(RefMoved):  # compare-and-swap lost
        cat.move_alias(rid, "staging", c1, c2, action="move", by="ann")
    with pytest.raises(RefMoved):  # history moved on since the caller read it
        cat.move_alias(rid, "staging", root, c1, action="rollback", by="ann", after_seq=0)
    with pytest.raises(RefNotFound, match="not an alias"):
        cat.move_alias(rid, "main", root, c1, action="move", by="ann")
    with pytest.raises(RefNotFound):
        cat.move_alias(rid, "ghost", root, c1, action="move", by="ann")
    with pytest.raises(RefNotFound):  # the target must be a stored commit
        cat.move_alias(rid, "staging", root, hid("never-written"), action="move", by="ann")
    with pytest.raises(RefMoved):
        cat.move_alias(rid, "staging", c1, None, action="delete", by="ann")
    assert (cat.list_refs(rid), cat.alias_history(rid, "staging")) == before
    assert cat.get_ref(rid, "main").kind == "branch"
    ok = cat.move_alias(rid, "staging", root, c1, action="move", by="ann", after_seq=1)
    assert ok.seq == 2


def test_alias_cas_race_exactly_one_wins(cat: Catalog) -> None:
    rid, root, _, _ = _lifecycle_repo(cat)
    cat.move_alias(rid, "champion", None, root, action="create", by="ann")
    targets = [hid(f"race-{i}") for i in range(6)]
    add_objects(cat, "race", *targets, kind=4)
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(len(targets))

    def mover(target: str) -> None:
        barrier.wait(30)
        try:
            cat.move_alias(rid, "champion", root, target, action="move", by="w")
            outcomes[target] = "won"
        except RefMoved:
            outcomes[target] = "lost"

    threads = [threading.Thread(target=mover, args=(x,)) for x in targets]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    winners = [x for x, r in outcomes.items() if r == "won"]
    assert len(winners) == 1 and len(outcomes) == len(targets)
    assert cat.get_ref(rid, "champion").commit == winners[0]
    history = cat.alias_history(rid, "champion")
    assert [(e.seq, e.to_commit) for e in history] == [(1, root), (2, winners[0])]


def test_deployments_history_and_current(cat: Catalog) -> None:
    rid, root, c1, c2 = _lifecycle_repo(cat)
    other, oroot, _, _ = _lifecycle_repo(cat, "other")
    d1 = cat.record_deployment(rid, "prod", root, action="deploy", by="ann", label="v1.0.0",
                               note="first")
    assert (d1.environment, d1.seq, d1.commit, d1.label, d1.action, d1.by, d1.note) == \
        ("prod", 1, root, "v1.0.0", "deploy", "ann", "first")
    d2 = cat.record_deployment(rid, "prod", c1, action="deploy", by="bob")
    s1 = cat.record_deployment(rid, "staging", c2, action="deploy", by="bob")
    cat.record_deployment(other, "prod", oroot, action="deploy", by="ann")
    assert cat.deployment_history(rid, "prod") == [d1, d2]
    assert cat.deployment_history(rid, "nowhere") == []
    assert cat.current_deployments(rid) == [d2, s1]
    assert cat.deployed_commits() == {c1, c2, oroot}
    with cat.gc_exclusive() as session:
        assert session.deployed_commits() == {c1, c2, oroot}
    with pytest.raises(RefMoved):
        cat.record_deployment(rid, "prod", root, action="rollback", by="ann", after_seq=1)
    with pytest.raises(RefNotFound):
        cat.record_deployment(rid, "prod", hid("never-written"), action="deploy", by="ann")
    assert cat.deployment_history(rid, "prod") == [d1, d2]
    d3 = cat.record_deployment(rid, "prod", root, action="rollback", by="ann", after_seq=2)
    assert (d3.seq, d3.commit) == (3, root)
    assert [d.commit for d in cat.current_deployments(rid)] == [root, c2]


def test_concurrent_deployments_all_land(cat: Catalog) -> None:
    rid, root, c1, _ = _lifecycle_repo(cat)
    n = 8
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def deployer(i: int) -> None:
        barrier.wait(30)
        try:
            cat.record_deployment(rid, "prod", root if i % 2 else c1, action="deploy",
                                  by=f"w{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deployer, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    history = cat.deployment_history(rid, "prod")
    assert [d.seq for d in history] == list(range(1, n + 1))
    assert sorted(d.by for d in history) == sorted(f"w{i}" for i in range(n))


def test_deprecations_set_replace_find_clear(cat: Catalog) -> None:
    rid, root, c1, _ = _lifecycle_repo(cat)
    other, _, _, _ = _lifecycle_repo(cat, "other")
    assert cat.find_deprecations(rid) == []
    d1 = cat.set_deprecation(rid, root, reason="bias", sunset="2027-01-31", by="ann",
                             label="v1.0.0")
    assert (d1.commit, d1.label, d1.reason, d1.sunset, d1.by) == \
        (root, "v1.0.0", "bias", "2027-01-31", "ann")
    whole = cat.set_deprecation(rid, None, reason="superseded", sunset=None, by="bob")
    assert whole.commit is None
    assert cat.find_deprecations(rid, root) == [whole, d1]  # repository-wide first
    assert cat.find_deprecations(rid, c1) == [whole]
    assert cat.find_deprecations(other, root) == []
    d2 = cat.set_deprecation(rid, root, reason="worse bias", sunset=None, by="cy")
    assert cat.find_deprecations(rid) == [whole, d2]
    assert cat.clear_deprecation(rid, None) is True
    assert cat.clear_deprecation(rid, None) is False
    assert cat.clear_deprecation(rid, c1) is False
    assert cat.find_deprecations(rid, root) == [d2]


def test_lifecycle_rows_survive_reset_derived_and_go_with_the_repo(cat: Catalog) -> None:
    rid, root, c1, _ = _lifecycle_repo(cat)
    cat.move_alias(rid, "champion", None, c1, action="create", by="ann")
    cat.record_deployment(rid, "prod", c1, action="deploy", by="ann")
    cat.set_deprecation(rid, root, reason="old", sunset=None, by="ann")
    cat.reset_derived()  # fsck --rebuild: lifecycle rows are not derivable, so they stay
    assert cat.get_ref(rid, "champion").commit == c1
    assert len(cat.alias_history(rid, "champion")) == 1
    assert [d.commit for d in cat.current_deployments(rid)] == [c1]
    assert len(cat.find_deprecations(rid)) == 1
    cat.delete_repo("repo")
    assert cat.alias_history(rid, "champion") == []
    assert cat.deployment_history(rid, "prod") == []
    assert cat.find_deprecations(rid) == []
    assert cat.deployed_commits() == set()
    again = cat.create_repo("repo")
    assert cat.alias_history(again.id, "champion") == []
    assert cat.current_deployments(again.id) == []


def test_reopened_catalog_at_an_old_revision_takes_the_migrating_path(tmp_path: Path) -> None:
    import sqlite3

    from blacklake_ml.catalog.sqlite_fast import FastSqliteCatalog

    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    open_catalog(url).close()
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    c = open_catalog(url, migrate=False)
    try:
        assert not isinstance(c, FastSqliteCatalog)
    finally:
        c.close()
