"""File manifests without an inline SHA-256 (big files), digests on request, and one content
stored in both manifest formats (a store written before the change)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from blacklake_ml.api import Store
from blacklake_ml.core.ids import Kind
from blacklake_ml.core.objects import DIGEST_INLINE_MAX, FILE, FileManifest, TreeEntry
from blacklake_ml.errors import CorruptObject
from blacklake_ml.service.commit import publish
from blacklake_ml.service.diff import diff_trees
from blacklake_ml.service.packs import PackWriter
from blacklake_ml.service.trees import TreeBuilder

BIG = DIGEST_INLINE_MAX + 123_457


def _big(tmp_path: Path, seed: int = 1) -> tuple[Path, bytes]:
    data = random.Random(seed).randbytes(BIG)
    src = tmp_path / f"big{seed}.bin"
    src.write_bytes(data)
    return src, data


def test_manifest_versions_round_trip_and_reject_unknown() -> None:
    chunks = (("a" * 64, 3),)
    v1 = FileManifest(3, "b" * 64, chunks)
    v2 = FileManifest(3, None, chunks)
    assert FileManifest.decode(v1.encode()) == v1
    assert FileManifest.decode(v2.encode()) == v2
    assert b'"v":2' in v2.encode() and b"sha256" not in v2.encode()
    assert v1.id != v2.id and v1.same_content(v2)
    assert not v1.same_content(FileManifest(3, None, (("c" * 64, 3),)))
    for bad in (b'{"v":3,"size":3,"chunks":[["' + b"a" * 64 + b'",3]]}',
                b'{"v":2,"size":3,"sha256":null,"chunks":[]}',
                b'{"size":3,"chunks":[]}', b"[1,2]"):
        with pytest.raises(CorruptObject):
            FileManifest.decode(bad)


def test_big_file_sha256_is_computed_on_request_and_cached(tmp_path: Path) -> None:
    src, data = _big(tmp_path)
    with Store.open(tmp_path / "home") as store:
        repo = store.create_repo("r")
        repo.put(src, "m.bin", message="big")
        repo.put_bytes(b"small", "s.txt", message="small")
        fid = repo.entry("main", "m.bin").id
        assert store.odb.file(fid).sha256 is None
        assert store.catalog.get_blob(fid).sha256 is None  # type: ignore[union-attr]
        d = repo.digests("main", "m.bin", md5=True)
        assert d["sha256"] == hashlib.sha256(data).hexdigest()
        assert d["md5"] == hashlib.md5(data).hexdigest()
        row = store.catalog.get_blob(fid)
        assert row is not None and (row.sha256, row.md5) == (d["sha256"], d["md5"])
        # small files keep it inline, written at commit time
        sid = repo.entry("main", "s.txt").id
        assert store.odb.file(sid).sha256 == hashlib.sha256(b"small").hexdigest()
        assert store.catalog.get_blob(sid).sha256 == store.odb.file(sid).sha256  # type: ignore[union-attr]


def test_same_big_content_from_disk_and_from_memory_has_one_id(tmp_path: Path) -> None:
    src, data = _big(tmp_path)
    with Store.open(tmp_path / "home") as store:
        repo = store.create_repo("r")
        repo.put(src, "a.bin", message="disk")
        repo.put_bytes(data, "b.bin", message="memory")
        assert repo.entry("main", "a.bin").id == repo.entry("main", "b.bin").id


def _commit_old_format(store: Store, repo_name: str, path: str, data: bytes) -> str:
    """Commit ``data`` at ``path`` the way a store written before manifest version 2 holds
    it: the same chunks, under a version-1 manifest with the SHA-256 inline."""
    repo = store.repo(repo_name)
    repo.put_bytes(data, "_scratch.bin", message="chunks")  # stores the chunks
    new = store.odb.file(repo.entry("main", "_scratch.bin").id)
    old = FileManifest(new.size, hashlib.sha256(data).hexdigest(), new.chunks)
    head = repo.resolve("main")
    with PackWriter(store.storage, store.catalog) as writer:
        writer.add(Kind.FILE, old.id, old.encode())
        root = TreeBuilder(store.odb, writer).apply(store.odb.commit(head).tree, {
            path: TreeEntry(path.rsplit("/", 1)[-1], FILE, old.id, old.size, 1, {}),
            "_scratch.bin": None})
        publish(repo.commit_target(), "main", head, root, (head,), "old format", writer=writer)
    return old.id


def test_unchanged_file_in_the_old_format_is_not_a_change(tmp_path: Path) -> None:
    src, data = _big(tmp_path)
    with Store.open(tmp_path / "home") as store:
        repo = store.create_repo("r")
        old_id = _commit_old_format(store, "r", "m.bin", data)
        head = repo.resolve("main")
        res = repo.put(src, "m.bin", message="same bytes again")
        assert not res.created and repo.resolve("main") == head
        assert repo.entry("main", "m.bin").id == old_id
        # the sha256 of the old manifest is served as before
        assert repo.digests("main", "m.bin")["sha256"] == hashlib.sha256(data).hexdigest()


def test_diff_sees_one_content_in_two_formats_as_unchanged(tmp_path: Path) -> None:
    _, data = _big(tmp_path)
    _, other = _big(tmp_path, seed=2)  # same size, different bytes
    with Store.open(tmp_path / "home") as store:
        repo = store.create_repo("r")
        _commit_old_format(store, "r", "m.bin", data)
        before = repo.resolve("main")
        repo.put_bytes(data, "new-format/m.bin", message="same content, new format")
        repo.put_bytes(other, "other.bin", message="different content")
        tree_a = store.odb.commit(before).tree

        def with_m(fid: str) -> str:
            """tree_a with m.bin pointing at ``fid``."""
            with PackWriter(store.storage, store.catalog) as writer:
                m = store.odb.file(fid)
                root = TreeBuilder(store.odb, writer).apply(tree_a, {
                    "m.bin": TreeEntry("m.bin", FILE, fid, m.size, 1, {})})
                writer.flush()
            return root.id

        same = repo.entry("main", "new-format/m.bin").id
        assert same != repo.entry(before, "m.bin").id
        d = diff_trees(store.odb, tree_a, with_m(same))
        assert not d.modified and not d.added and not d.removed
        d = diff_trees(store.odb, tree_a, with_m(repo.entry("main", "other.bin").id))
        assert list(d.modified) == ["m.bin"]
