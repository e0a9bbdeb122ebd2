"""The storage conformance suite (:mod:`blacklake_ml.testing.storage`, shipped so third-party
backends can run it) against every backend BlackLake has: local disk (:class:`LocalStorage`),
fsspec's in-memory filesystem and S3 through moto's real HTTP server (both
:class:`FsspecStorage`); then what only one backend or the scheme registry promises.
"""

from __future__ import annotations

import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from blacklake_ml.storage import LocalStorage, ObjectStorage, open_storage, register_storage
from blacklake_ml.storage.fsspec_storage import FsspecStorage
from blacklake_ml.testing import StorageConformance


class TestLocalStorage(StorageConformance):
    def make_storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
        return LocalStorage(tmp_path / "store")


class TestMemoryStorage(StorageConformance):
    def make_storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
        st = open_storage(f"memory://bl-test-{uuid.uuid4().hex}")
        assert isinstance(st, FsspecStorage)
        return st


@pytest.mark.s3
class TestS3Storage(StorageConformance):
    def make_storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
        url, options = request.getfixturevalue("s3_storage_url")
        st = open_storage(url, **options)
        assert isinstance(st, FsspecStorage)
        return st


# -- LocalStorage specifics -------------------------------------------------------------------
def test_local_reads_stay_correct_when_the_handle_cache_evicts(tmp_path: Path) -> None:
    """LocalStorage caches read descriptors; evicting one another thread is using must not
    make that thread read a different object (or fail with EBADF)."""
    st = LocalStorage(tmp_path / "store", fsync=False, max_open=4)
    objs = {f"k{i:02d}": bytes([i]) * 4096 for i in range(32)}
    for k, v in objs.items():
        st.put_bytes(k, v)
    names = sorted(objs)
    try:
        def work(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(2000):
                k = rng.choice(names)
                assert st.get_bytes(k, 100, 200) == objs[k][100:200], k

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(8)))
    finally:
        st.close()


def test_local_put_leaves_no_temp_files(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path / "store")
    st.put_bytes("a/b", b"1")
    st.put_bytes("a/b", b"2")
    with st.spool("a/c") as sp:
        sp.write(b"3")
        sp.commit()
    files = sorted(p.relative_to(st.root).as_posix() for p in st.root.rglob("*") if p.is_file())
    assert files == ["a/b", "a/c"]
    assert not any(name.startswith(".tmp-") for name in os.listdir(st.root / "a"))


# -- open_storage and the scheme registry -----------------------------------------------------
def test_open_storage_routes_by_scheme(tmp_path: Path) -> None:
    plain = open_storage(str(tmp_path / "plain"))
    url = open_storage(f"file://{tmp_path / 'url'}")
    mem = open_storage(f"memory://bl-test-{uuid.uuid4().hex}")
    assert isinstance(plain, LocalStorage) and plain.root == (tmp_path / "plain").resolve()
    assert isinstance(url, LocalStorage) and url.root == (tmp_path / "url").resolve()
    assert isinstance(mem, FsspecStorage)


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register schemes without leaking them into other tests."""
    import blacklake_ml.storage as storage_pkg

    monkeypatch.setattr(storage_pkg, "_REGISTRY", dict(storage_pkg._REGISTRY))


def test_register_storage_adds_a_scheme(tmp_path: Path, clean_registry: None) -> None:
    calls: list[tuple[str, dict[str, object]]] = []

    def factory(url: str, **options: object) -> ObjectStorage:
        calls.append((url, options))
        return LocalStorage(tmp_path / "testfs" / url.split("://", 1)[1])

    register_storage("testfs", factory)
    st = open_storage("testfs://x", fsync=False)
    assert calls == [("testfs://x", {"fsync": False})]
    assert isinstance(st, LocalStorage)
    assert st.root == (tmp_path / "testfs" / "x").resolve()
    st.put_bytes("k", b"v")
    assert (tmp_path / "testfs" / "x" / "k").read_bytes() == b"v"


def test_register_storage_accepts_a_class_with_from_url(tmp_path: Path,
                                                        clean_registry: None) -> None:
    class TestFS(LocalStorage):
        @classmethod
        def from_url(cls, url: str, **options: object) -> LocalStorage:
            return cls(tmp_path / "cls" / url.split("://", 1)[1])

    register_storage("testfs", TestFS)
    st = open_storage("testfs://y")
    assert type(st) is TestFS
    assert st.root == (tmp_path / "cls" / "y").resolve()
