"""The conformance suite every :class:`~blacklake_ml.storage.ObjectStorage` backend must pass.

The spec is the docstrings of ``blacklake_ml/storage/base.py``; this suite is how a backend
shows it keeps them (round trips, ranged reads, atomic spools, listing by plain prefix, the
errors for missing objects and bad keys, concurrent readers). BlackLake runs it against local
disk, fsspec's memory filesystem and S3 (moto's server); a third-party backend runs the same
tests by subclassing :class:`StorageConformance` in its own test suite (needs ``pytest``:
``pip install blacklake-ml[testing]``)::

    import pytest
    from blacklake_ml.testing import StorageConformance

    class TestMyStorage(StorageConformance):
        def make_storage(self, request, tmp_path):
            return MyStorage(bucket=..., prefix=f"test-{tmp_path.name}")

Every test gets a fresh storage from :meth:`StorageConformance.make_storage`; the suite
deletes what the test left in it and closes it afterwards.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from blacklake_ml.errors import ObjectNotFound, StorageError
from blacklake_ml.storage import LocalStorage, ObjectStorage, StorageItem
from blacklake_ml.storage.fsspec_storage import FsspecStorage

MiB = 1024 * 1024


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(size)


def leftovers(st: ObjectStorage, spool_tmp: Path) -> list[str]:
    """Files a spool may have left: in the system temp dir, and (local) anywhere under root."""
    found = [str(p) for p in spool_tmp.rglob("*") if p.is_file()]
    if isinstance(st, LocalStorage):
        found += [str(p) for p in st.root.rglob("*") if p.is_file()]
    return found


def keys(st: ObjectStorage, prefix: str = "") -> set[str]:
    """The keys listed under ``prefix``."""
    return {item.key for item in st.list(prefix)}


LISTING = {
    "marker": 5,
    "packs/aa.pack": 1000,
    "packs/aa.idx": 30,
    "packs/sub/bb.pack": 70,
    "packsfoo/x": 4,
    "refs/heads/main": 1,
}

INVALID_KEYS = ["/abs", "/", "a/../b", "..", "../escape", "a/..", ""]


class StorageConformance:
    """The suite as a base class: subclass it (``Test...``) and implement :meth:`make_storage`."""

    def make_storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
        """A fresh, empty storage for one test (``tmp_path`` is that test's own directory;
        ``request`` gives access to other fixtures, e.g. a server's URL)."""
        raise NotImplementedError

    @pytest.fixture
    def spool_tmp(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A private system temp dir, so tests can check spools leave no temp files behind."""
        d = tmp_path / "systemp"
        d.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(d))
        return d

    @pytest.fixture
    def storage(self, request: pytest.FixtureRequest, tmp_path: Path,
                spool_tmp: Path) -> Iterator[ObjectStorage]:
        """The storage under test (emptied and closed afterwards)."""
        st = self.make_storage(request, tmp_path)
        try:
            yield st
        finally:
            try:
                for item in list(st.list()):
                    st.delete(item.key)
            finally:
                st.close()

    # -- basic reads and writes -------------------------------------------------------------------
    def test_put_get_round_trip(self, storage: ObjectStorage) -> None:
        objects = {
            "marker": b"blacklake",
            "packs/ab/abcdef.pack": payload(100_000, 1),
            "packs/ab/abcdef.idx": bytes(range(256)) * 4,
            "deep/a/b/c/d/e": b"\x00\n\r\xff",
        }
        for k, v in objects.items():
            storage.put_bytes(k, v)
        for k, v in objects.items():
            got = storage.get_bytes(k)
            assert isinstance(got, bytes)
            assert got == v

    def test_empty_object(self, storage: ObjectStorage) -> None:
        storage.put_bytes("empty", b"")
        assert storage.exists("empty")
        assert storage.get_bytes("empty") == b""
        assert storage.get_bytes("empty", 0, 0) == b""
        assert {i.key: i.size for i in storage.list()} == {"empty": 0}

    def test_ranged_reads(self, storage: ObjectStorage) -> None:
        data = payload(10_000, 2)
        storage.put_bytes("obj", data)
        for start, end in [(0, 1), (0, 10), (10, 500), (4096, 8192), (9_999, 10_000), (0, 10_000)]:
            assert storage.get_bytes("obj", start, end) == data[start:end], (start, end)
        assert storage.get_bytes("obj", 9_990) == data[9_990:]  # open end
        assert storage.get_bytes("obj", None, 5) == data[:5]  # open start

    def test_zero_length_range_is_empty(self, storage: ObjectStorage) -> None:
        """``[start, start)`` is an empty range, e.g. an empty chunk inside a pack."""
        data = payload(100, 3)
        storage.put_bytes("obj", data)
        assert storage.get_bytes("obj", 0, 0) == b""
        assert storage.get_bytes("obj", 42, 42) == b""
        assert storage.get_ranges("obj", [(10, 20), (30, 30), (99, 100)]) == [
            data[10:20], b"", data[99:100]]

    def test_get_ranges(self, storage: ObjectStorage) -> None:
        data = payload(50_000, 4)
        storage.put_bytes("obj", data)
        ranges = [(0, 100), (40_000, 50_000), (100, 101), (50, 150), (12_345, 23_456), (0, 100)]
        out = storage.get_ranges("obj", ranges)
        assert out == [data[s:e] for s, e in ranges]
        assert storage.get_ranges("obj", [(7, 77)]) == [data[7:77]]
        assert storage.get_ranges("obj", []) == []

    # -- spooled writes ---------------------------------------------------------------------------
    def test_spool_object_is_visible_only_after_commit(self, storage: ObjectStorage) -> None:
        parts = [payload(1000, 5), b"", payload(70_000, 6), payload(3, 7)]
        sp = storage.spool("packs/new.pack")
        for p in parts:
            sp.write(p)
        assert sp.size == sum(map(len, parts))
        assert not storage.exists("packs/new.pack")
        with pytest.raises(ObjectNotFound):
            storage.get_bytes("packs/new.pack")
        assert "packs/new.pack" not in keys(storage)
        sp.commit()
        assert storage.exists("packs/new.pack")
        assert storage.get_bytes("packs/new.pack") == b"".join(parts)
        assert {i.key: i.size for i in storage.list()} == {"packs/new.pack": sp.size}

    def test_spool_accepts_bytearray_and_memoryview(self, storage: ObjectStorage) -> None:
        data = payload(4096, 8)
        with storage.spool("obj") as sp:
            sp.write(bytearray(data[:1000]))
            sp.write(memoryview(data)[1000:3000])
            sp.write(data[3000:])
            assert sp.size == len(data)
            sp.commit()
        assert storage.get_bytes("obj") == data

    def test_uncommitted_spool_is_not_listed(self, storage: ObjectStorage,
                                            request: pytest.FixtureRequest) -> None:
        """``list`` shows objects only; a spool in progress is not one (nor is its temp file)."""
        storage.put_bytes("packs/old.pack", b"old")
        sp = storage.spool("packs/new.pack")
        sp.write(b"in progress")
        try:
            assert keys(storage) == {"packs/old.pack"}
            assert keys(storage, "packs/") == {"packs/old.pack"}
        finally:
            sp.abort()

    def test_spool_abort_leaves_nothing(self, storage: ObjectStorage, spool_tmp: Path) -> None:
        sp = storage.spool("packs/aborted.pack")
        sp.write(payload(100_000, 9))
        sp.abort()
        assert not storage.exists("packs/aborted.pack")
        assert keys(storage) == set()
        assert leftovers(storage, spool_tmp) == []

    def test_spool_context_manager_aborts_on_error(self, storage: ObjectStorage,
                                                   spool_tmp: Path) -> None:
        with pytest.raises(RuntimeError, match="boom"), storage.spool("packs/failed.pack") as sp:
            sp.write(payload(10_000, 10))
            raise RuntimeError("boom")
        assert not storage.exists("packs/failed.pack")
        assert keys(storage) == set()
        assert leftovers(storage, spool_tmp) == []

    def test_spool_context_manager_commit(self, storage: ObjectStorage, spool_tmp: Path) -> None:
        with storage.spool("obj") as sp:
            sp.write(b"abc")
            sp.commit()
        assert storage.get_bytes("obj") == b"abc"
        assert leftovers(storage, spool_tmp) == (
            [str(storage.root / "obj")] if isinstance(storage, LocalStorage) else [])

    def test_large_object_round_trip(self, storage: ObjectStorage) -> None:
        """20 MiB in uneven spool writes (S3: large enough for a multipart upload)."""
        data = payload(20 * MiB + 12_345, 11)
        sizes = [1, 3 * MiB, 5 * MiB - 1, 7 * MiB + 17]
        with storage.spool("big/blob") as sp:
            pos = 0
            for n in sizes:
                sp.write(data[pos:pos + n])
                pos += n
            sp.write(memoryview(data)[pos:])
            assert sp.size == len(data)
            sp.commit()
        assert storage.get_bytes("big/blob") == data
        for s, e in [(0, 1), (5 * MiB - 10, 5 * MiB + 10), (len(data) - 100, len(data))]:
            assert storage.get_bytes("big/blob", s, e) == data[s:e]
        assert {i.key: i.size for i in storage.list("big/")} == {"big/blob": len(data)}

    # -- overwrite --------------------------------------------------------------------------------
    def test_overwrite_replaces_the_whole_object(self, storage: ObjectStorage) -> None:
        """After ``put_bytes``/``spool`` replaces an object, every read path sees the new bytes."""
        v1, v2, v3 = payload(1000, 12), payload(600, 13), payload(3000, 14)
        storage.put_bytes("marker", v1)
        assert storage.get_bytes("marker", 0, 100) == v1[:100]  # warm any read caches
        assert storage.get_ranges("marker", [(0, 10), (500, 600)]) == [v1[:10], v1[500:600]]

        storage.put_bytes("marker", v2)  # shorter
        assert storage.get_bytes("marker") == v2
        assert storage.get_bytes("marker", 0, 100) == v2[:100]
        assert storage.get_ranges("marker", [(0, 10), (500, 600)]) == [v2[:10], v2[500:600]]
        assert {i.key: i.size for i in storage.list()} == {"marker": 600}

        with storage.spool("marker") as sp:  # longer, via spool
            sp.write(v3)
            sp.commit()
        assert storage.get_bytes("marker") == v3
        assert storage.get_bytes("marker", 2000, 3000) == v3[2000:]
        assert {i.key: i.size for i in storage.list()} == {"marker": 3000}

    def test_overwrite_is_atomic_for_concurrent_readers(self, storage: ObjectStorage) -> None:
        """Readers racing a writer see one whole version, never a mix or a partial object."""
        size = 256 * 1024
        versions = [bytes([b]) * size for b in range(1, 5)]
        storage.put_bytes("marker", versions[0])
        done = threading.Event()
        seen: set[bytes] = set()

        def writer() -> None:
            try:
                for i in range(1, 25):
                    storage.put_bytes("marker", versions[i % len(versions)])
            finally:
                done.set()

        def reader() -> int:
            n = 0
            while not done.is_set() or n == 0:
                data = storage.get_bytes("marker")
                assert len(data) == size and data in versions, "torn read"
                seen.add(data[:1])
                n += 1
            return n

        with ThreadPoolExecutor(max_workers=4) as pool:
            readers = [pool.submit(reader) for _ in range(3)]
            pool.submit(writer).result()
            assert all(r.result() > 0 for r in readers)
        assert storage.get_bytes("marker") == versions[24 % len(versions)]

    # -- exists / delete / list -------------------------------------------------------------------
    def test_exists_and_delete(self, storage: ObjectStorage) -> None:
        assert not storage.exists("a/b")
        storage.put_bytes("a/b", b"x")
        storage.put_bytes("a/c", b"y")
        assert storage.exists("a/b")
        storage.delete("a/b")
        assert not storage.exists("a/b")
        with pytest.raises(ObjectNotFound):
            storage.get_bytes("a/b")
        assert storage.get_bytes("a/c") == b"y"
        storage.delete("a/b")  # already gone: not an error
        storage.delete("never/existed/at/all")
        assert keys(storage) == {"a/c"}

    def test_delete_after_ranged_read(self, storage: ObjectStorage) -> None:
        storage.put_bytes("obj", b"0123456789")
        assert storage.get_bytes("obj", 2, 4) == b"23"
        storage.delete("obj")
        with pytest.raises(ObjectNotFound):
            storage.get_bytes("obj", 2, 4)

    def test_exists_is_false_for_a_directory_like_prefix(self, storage: ObjectStorage) -> None:
        """``exists`` means "holds an object"; ``packs`` is only a prefix of ``packs/x.pack``."""
        storage.put_bytes("packs/x.pack", b"x")
        assert storage.exists("packs/x.pack")
        assert not storage.exists("packs")

    @pytest.fixture
    def listed(self, storage: ObjectStorage) -> ObjectStorage:
        for i, (k, n) in enumerate(LISTING.items()):
            storage.put_bytes(k, payload(n, 100 + i))
        return storage

    def test_list_everything(self, listed: ObjectStorage) -> None:
        before = time.time()
        items = list(listed.list())
        assert all(isinstance(i, StorageItem) for i in items)
        assert len(items) == len({i.key for i in items}), "duplicates"
        assert {i.key: i.size for i in items} == LISTING
        for i in items:
            assert not i.key.startswith("/") and "//" not in i.key, i.key
            assert isinstance(i.mtime, float)
            assert abs(i.mtime - before) < 3600, f"implausible mtime {i.mtime} for {i.key}"
        assert {i.key: i.size for i in listed.list("")} == LISTING

    def test_list_directory_prefix(self, listed: ObjectStorage) -> None:
        def sizes(prefix: str) -> dict[str, int]:
            return {i.key: i.size for i in listed.list(prefix)}

        assert sizes("packs/") == {k: n for k, n in LISTING.items() if k.startswith("packs/")}
        assert sizes("packs/sub/") == {"packs/sub/bb.pack": 70}
        assert sizes("refs/heads/") == {"refs/heads/main": 1}
        assert sizes("nothing/here/") == {}
        # A directory name without the trailing slash still finds what is below it.
        assert {"packs/aa.pack", "packs/aa.idx", "packs/sub/bb.pack"} <= set(sizes("packs"))

    def test_list_prefix_is_a_plain_string_prefix(self, listed: ObjectStorage,
                                                  request: pytest.FixtureRequest) -> None:
        """``list`` yields "every object whose key starts with ``prefix``" (base.py docstring)."""
        if isinstance(listed, FsspecStorage):
            # Spec question, kept visible: FsspecStorage lists the *directory* root/prefix, so a
            # prefix that ends inside a name ("mark", "packs/a") finds nothing. All callers pass
            # directory-like prefixes ("packs/"), where every backend agrees (test above).
            request.applymarker(pytest.mark.xfail(
                strict=True, reason="FsspecStorage.list() treats prefix as a directory"))
        assert keys(listed, "packs") == {k for k in LISTING if k.startswith("packs")}
        assert keys(listed, "mark") == {"marker"}
        assert keys(listed, "packs/a") == {"packs/aa.pack", "packs/aa.idx"}

    # -- errors -----------------------------------------------------------------------------------
    def test_missing_key_raises_object_not_found(self, storage: ObjectStorage) -> None:
        storage.put_bytes("present", b"0123456789")
        calls: list[Callable[[], object]] = [
            lambda: storage.get_bytes("absent"),
            lambda: storage.get_bytes("absent", 0, 5),
            lambda: storage.get_bytes("no/such/dir/absent", 3),
            lambda: storage.get_ranges("absent", [(0, 1)]),
            lambda: storage.get_ranges("absent", [(0, 1), (2, 3)]),
        ]
        for call in calls:
            with pytest.raises(ObjectNotFound) as info:
                call()
            assert isinstance(info.value, FileNotFoundError)

    @pytest.mark.parametrize("key", INVALID_KEYS)
    def test_invalid_keys_raise_storage_error(self, storage: ObjectStorage, key: str,
                                              spool_tmp: Path) -> None:
        calls: list[Callable[[], object]] = [
            lambda: storage.put_bytes(key, b"x"),
            lambda: storage.get_bytes(key),
            lambda: storage.get_bytes(key, 0, 1),
            lambda: storage.get_ranges(key, [(0, 1), (1, 2)]),
            lambda: storage.exists(key),
            lambda: storage.delete(key),
        ]
        for call in calls:
            with pytest.raises(StorageError):
                call()

        # A spool may refuse the key up front or at commit, but never publish it.
        with pytest.raises(StorageError), storage.spool(key) as sp:
            sp.write(b"x")
            sp.commit()
        assert keys(storage) == set()
        assert leftovers(storage, spool_tmp) == []

    def test_truncated_range_raises_storage_error(self, storage: ObjectStorage) -> None:
        data = payload(100, 15)
        storage.put_bytes("obj", data)
        with pytest.raises(StorageError, match="obj"):
            storage.get_bytes("obj", 50, 150)
        with pytest.raises(StorageError):
            storage.get_bytes("obj", 200, 300)  # starts past the end
        with pytest.raises(StorageError):
            storage.get_ranges("obj", [(0, 10), (90, 110)])
        with pytest.raises(StorageError):
            storage.get_ranges("obj", [(95, 101)])
        assert storage.get_bytes("obj", 90, 100) == data[90:]  # exactly to the end is fine

    # -- threads ----------------------------------------------------------------------------------
    def test_concurrent_ranged_reads_of_one_object(self, storage: ObjectStorage) -> None:
        """8 threads share one storage instance and read random ranges of one object."""
        data = payload(2 * MiB, 16)
        storage.put_bytes("packs/shared.pack", data)
        start = threading.Barrier(8)

        def work(seed: int) -> int:
            rng = random.Random(seed)
            start.wait(timeout=60)
            checked = 0
            for _ in range(25):
                ranges = []
                for _ in range(rng.randint(1, 4)):
                    s = rng.randrange(len(data))
                    ranges.append((s, min(len(data), s + rng.randint(1, 64 * 1024))))
                if len(ranges) == 1:
                    s, e = ranges[0]
                    assert storage.get_bytes("packs/shared.pack", s, e) == data[s:e]
                else:
                    got = storage.get_ranges("packs/shared.pack", ranges)
                    assert got == [data[s:e] for s, e in ranges]
                checked += len(ranges)
            return checked

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(n > 0 for n in pool.map(work, range(8)))

    def test_concurrent_reads_of_many_objects(self, storage: ObjectStorage) -> None:
        """Reads spread over many objects (more than any handle cache) stay correct."""
        objs = {f"packs/{i:03d}.pack": payload(4096, 200 + i) for i in range(80)}
        for k, v in objs.items():
            storage.put_bytes(k, v)
        names = sorted(objs)

        def work(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(60):
                k = rng.choice(names)
                s = rng.randrange(4000)
                assert storage.get_bytes(k, s, s + 96) == objs[k][s:s + 96], k

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(8)))
