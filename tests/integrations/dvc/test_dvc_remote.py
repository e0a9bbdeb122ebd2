"""BlackLake as a DVC HTTP remote, driven by the real ``dvc`` CLI over 127.0.0.1."""

from __future__ import annotations

import hashlib
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dvc_support import (
    TOKEN,
    dvc,
    forget_local_data,
    http,
    make_project,
    oid_path,
    some_files,
    use_remote,
    workspace,
)

from blacklake_ml import Store
from blacklake_ml.errors import ConflictError, RepoNotFound
from blacklake_ml.gateway import Gateway
from blacklake_ml.integrations.dvc import DvcRemote


@pytest.fixture
def served(store: Store) -> Iterator[tuple[DvcRemote, Gateway]]:
    remote = DvcRemote(store, quiet=0.2)
    gw = remote.serve(token=TOKEN).start()
    try:
        yield remote, gw
    finally:
        gw.close()
        remote.close()


def test_push_status_pull_roundtrip(tmp_path: Path, store: Store,
                                    served: tuple[DvcRemote, Gateway]) -> None:
    remote, gw = served
    files = some_files(20, seed=1)
    files["model.bin"] = b"weights" * 5000
    project = make_project(tmp_path / "proj", files)
    url = f"{gw.url}/dvc/demo"
    use_remote(project, url, cli=True)

    out = dvc(project, "push").stdout
    assert "22 files pushed" in out  # 20 files + the .dir listing + model.bin
    assert "in sync" in dvc(project, "status", "-c").stdout
    remote.flush()
    repo = store.repo("demo")
    objects = repo.ls("dvc-remote", recursive=True)
    assert len(objects) == 22
    # batched: the whole push is a handful of commits, not one per object
    assert 1 <= len(repo.log("dvc-remote")) - 1 <= 3
    # every object is stored under its MD5, which is cached on its file object
    for e in objects:
        name = e["path"].removeprefix("files/md5/").replace("/", "").removesuffix(".dir")
        assert store.catalog.get_blob(e["id"]).md5 == name  # type: ignore[union-attr]
        assert hashlib.md5(repo.read_bytes("dvc-remote", e["path"])).hexdigest() == name

    # a .dir listing is JSON, answers HEAD, and a Range GET is a 206
    (listing,) = [e["path"] for e in objects if e["path"].endswith(".dir")]
    status, headers, body = http(f"{url}/{listing}", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(repo.read_bytes("dvc-remote", listing))
    model = files["model.bin"]
    status, headers, body = http(f"{url}/{oid_path(model)}", headers={"Range": "bytes=10-99"})
    assert status == 206 and body == model[10:100]
    assert headers["Content-Range"] == f"bytes 10-99/{len(model)}"
    status, _, body = http(f"{url}/{oid_path(model)}", headers={"Range": "bytes=-5"})
    assert status == 206 and body == model[-5:]
    status, _, _ = http(f"{url}/{oid_path(model)}",
                        headers={"Range": f"bytes={len(model)}-"})
    assert status == 416
    # an absurdly long number is refused like any malformed range (it used to be a 500)
    status, headers, _ = http(f"{url}/{oid_path(model)}",
                              headers={"Range": "bytes=0-" + "9" * 5000})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(model)}"

    forget_local_data(project, files)
    assert "22 files fetched" in dvc(project, "pull").stdout
    assert workspace(project, files) == files
    # fetch + checkout, the two halves of pull
    forget_local_data(project, files)
    dvc(project, "fetch")
    dvc(project, "checkout")
    assert workspace(project, files) == files


@pytest.mark.slow
def test_parallel_push_pull_many_files(tmp_path: Path, store: Store,
                                       served: tuple[DvcRemote, Gateway]) -> None:
    """DVC transfers with 4 jobs; on top, 8 threads read random objects (whole and ranged)
    while their staged copies are committed and dropped under them."""
    remote, gw = served
    files = some_files(300, seed=2, big_every=25)
    project = make_project(tmp_path / "proj", files)
    url = f"{gw.url}/dvc/many"
    use_remote(project, url)
    remote.committer.quiet = 3600.0  # keep everything staged: the readers race the flush
    remote.committer.max_wait = 3600.0
    assert "301 files pushed" in dvc(project, "push", "-j", "4").stdout
    assert len(remote.staging.pending("many")) == 301

    datas = list(files.values())
    errors: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(60):
            data = rng.choice(datas)
            if rng.random() < 0.5 and len(data) > 2:
                a = rng.randrange(len(data) - 1)
                b = rng.randrange(a, len(data))
                status, _, body = http(f"{url}/{oid_path(data)}",
                                       headers={"Range": f"bytes={a}-{b}"})
                if (status, body) != (206, data[a:b + 1]):
                    errors.append(f"range {a}-{b}: {status}")
            else:
                status, _, body = http(f"{url}/{oid_path(data)}")
                if (status, body) != (200, data):
                    errors.append(f"whole: {status}")

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    remote.flush()  # commits and drops the staged copies while the readers run
    for t in threads:
        t.join()
    assert errors == []
    assert remote.staging.pending() == []
    assert len(store.repo("many").ls("dvc-remote", recursive=True)) == 301

    forget_local_data(project, files)
    assert "301 files fetched" in dvc(project, "pull", "-j", "4").stdout
    assert workspace(project, files) == files
    assert "in sync" in dvc(project, "status", "-c", "-j", "4").stdout


def test_wrong_password_fails_and_stores_nothing(tmp_path: Path, store: Store,
                                                 served: tuple[DvcRemote, Gateway]) -> None:
    remote, gw = served
    files = {"data.bin": b"secret data" * 100}
    project = make_project(tmp_path / "proj", files)
    url = f"{gw.url}/dvc/locked"
    use_remote(project, url, password="wrong")
    proc = dvc(project, "push", check=False)
    assert proc.returncode != 0
    assert remote.staging.pending() == []
    remote.flush()
    with pytest.raises(RepoNotFound):
        store.repo("locked")
    # no auth at all, or a wrong bearer token: 401; the right bearer token works
    req = urllib.request.Request(f"{url}/{oid_path(files['data.bin'])}")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 401
    for token, want in (("nope", 401), (TOKEN, 404)):
        req = urllib.request.Request(f"{url}/{oid_path(files['data.bin'])}",
                                     headers={"Authorization": f"Bearer {token}"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == want


def test_corrupted_and_malformed_uploads_are_rejected(
        store: Store, served: tuple[DvcRemote, Gateway]) -> None:
    remote, gw = served
    url = f"{gw.url}/dvc/demo"
    good = b"the real content"
    target = f"{url}/{oid_path(good)}"
    status, _, body = http(target, method="POST", data=b"tampered content")
    assert status == 400 and b"MD5 mismatch" in body
    assert http(target)[0] == 404
    # a .dir object must be a JSON listing
    not_json = b"not json"
    md5 = hashlib.md5(not_json).hexdigest()
    status, _, body = http(f"{url}/files/md5/{md5[:2]}/{md5[2:]}.dir", method="POST",
                           data=not_json)
    assert status == 400 and b"directory listing" in body
    # not an object path, a bad repository name
    assert http(f"{url}/files/md5/zz/{'0' * 30}", method="POST", data=good)[0] == 400
    assert http(f"{url}/files/md5/ab", method="PUT", data=good)[0] == 400
    assert http(f"{url}/files/md5/ab")[0] == 404
    assert http(f"{gw.url}/dvc/Bad_Name/{oid_path(good)}", method="POST", data=good)[0] == 400
    # nothing of it was kept
    assert remote.staging.pending() == []
    assert not list((remote.staging.root / "demo" / "tmp").iterdir())
    remote.flush()
    with pytest.raises(RepoNotFound):
        store.repo("demo")
    # the right body is accepted (PUT too) and served back
    assert http(target, method="PUT", data=good)[0] == 200
    assert http(target) == (200, http(target)[1], good)


def test_similar_large_files_share_chunks(tmp_path: Path, store: Store,
                                          served: tuple[DvcRemote, Gateway]) -> None:
    remote, gw = served
    rng = random.Random(3)
    base = rng.randbytes(3 * 1024 * 1024)
    edited = base[:1_000_000] + b"a small edit" + base[1_000_000:]
    files = {"v1.bin": base, "v2.bin": edited}
    project = make_project(tmp_path / "proj", files)
    use_remote(project, f"{gw.url}/dvc/models")
    dvc(project, "push")
    remote.flush()
    stats = store.stats("models")
    assert stats["logical_bytes"] == len(base) + len(edited)
    # the second version costs only the chunks around the edit
    assert stats["stored_bytes"] < 0.6 * stats["logical_bytes"]
    assert stats["dedup_ratio"] > 1.6


def test_put_method(tmp_path: Path, store: Store, served: tuple[DvcRemote, Gateway]) -> None:
    remote, gw = served
    files = {"a.txt": b"put me"}
    project = make_project(tmp_path / "proj", files)
    use_remote(project, f"{gw.url}/dvc/viaput")
    dvc(project, "remote", "modify", "bl", "method", "PUT")
    dvc(project, "push")
    remote.flush()
    (entry,) = store.repo("viaput").ls("dvc-remote", recursive=True)
    assert entry["path"] == oid_path(files["a.txt"])


def test_acknowledged_uploads_survive_a_stop_without_commit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = Store.open(home)
    remote = DvcRemote(store, quiet=3600, max_wait=3600)
    files = some_files(5, seed=4)
    project = make_project(tmp_path / "proj", files)
    with remote.serve(token=TOKEN).start() as gw:
        use_remote(project, f"{gw.url}/dvc/kept")
        dvc(project, "push")
    remote.abandon()  # as a kill would: nothing committed, the staging area left behind
    with pytest.raises(RepoNotFound):
        store.repo("kept")
    store.close()

    store = Store.open(home)
    try:
        again = DvcRemote(store, quiet=0.1)
        try:
            assert len(again.staging.pending("kept")) == 6
            # visible at once, committed on its own by the new server's committer
            data = next(iter(files.values()))
            assert again.exists("kept", oid_path(data))
            deadline = time.monotonic() + 20
            while again.staging.pending() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert again.staging.pending() == []
            assert len(store.repo("kept").ls("dvc-remote", recursive=True)) == 6
            assert again.find("kept", oid_path(data)) is not None
        finally:
            again.close()
    finally:
        store.close()


def test_one_server_per_store_and_no_create(tmp_path: Path, store: Store) -> None:
    remote = DvcRemote(store)
    try:
        with pytest.raises(ConflictError, match="another process"):
            DvcRemote(store)
    finally:
        remote.close()
    strict = DvcRemote(store, create_repos=False, staging_dir=tmp_path / "strict")
    try:
        with strict.serve(token=TOKEN).start() as gw:
            data = b"x" * 10
            status, _, _ = http(f"{gw.url}/dvc/absent/{oid_path(data)}", method="POST",
                                data=data)
            assert status == 404
            store.create_repo("present")
            status, _, _ = http(f"{gw.url}/dvc/present/{oid_path(data)}", method="POST",
                                data=data)
            assert status == 200
    finally:
        strict.close()
    assert store.repo("present").read_bytes("dvc-remote", oid_path(b"x" * 10)) == b"x" * 10
    assert [p for p in (tmp_path / "strict").rglob("*") if p.is_file()] == \
        [tmp_path / "strict" / "LOCK"]  # committed uploads leave the staging area
