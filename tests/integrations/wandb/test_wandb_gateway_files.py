"""The files routes of the gateway (``GET/HEAD /files/<repo>/<ref>/<path>``) on a real server
on 127.0.0.1: headers W&B relies on, ranges, conditional requests, auth, errors, concurrent
reads through one store, and W&B's own HTTP reference handler against it."""

from __future__ import annotations

import base64
import hashlib
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers import StoreSpec, make_spec
from wandb_support import request as fetch
from wandb_support import sample_files

from blacklake_ml.gateway import Gateway
from blacklake_ml.gateway.files import RemoteFiles, etag_for, file_url_path, files_routes

AUTH = {"Authorization": "Bearer test-token"}
WEIGHTS = "bert/model.safetensors"


def etag_of(data: bytes) -> str:
    return '"' + base64.b64encode(hashlib.md5(data).digest()).decode() + '"'


def head_commit(store: Any) -> str:
    return str(store.repo("models").resolve("main"))


def test_get_serves_bytes_with_md5_etag_and_length(store: Any, gateway: Gateway) -> None:
    commit = head_commit(store)
    data = sample_files()[WEIGHTS]
    status, headers, body = fetch(gateway.url + file_url_path("models", commit, WEIGHTS),
                                    headers=AUTH)
    assert status == 200
    assert body == data
    assert headers["etag"] == etag_of(data) == etag_for(hashlib.md5(data).hexdigest())
    assert headers["content-length"] == str(len(data))
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-blacklake-commit"] == commit
    assert "immutable" in headers["cache-control"]  # pinned to a full commit id
    # The MD5 is cached in the catalog by the first request.
    assert store.repo("models").digests(commit, WEIGHTS, md5=True)["md5"] == \
        hashlib.md5(data).hexdigest()


def test_head_sends_headers_only(store: Any, gateway: Gateway) -> None:
    data = sample_files()["bert/config.json"]
    url = gateway.url + file_url_path("models", head_commit(store), "bert/config.json")
    status, headers, body = fetch(url, "HEAD", headers=AUTH)
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(data))
    assert headers["etag"] == etag_of(data)


def test_a_branch_ref_is_served_but_not_cached_forever(store: Any, gateway: Gateway) -> None:
    status, headers, body = fetch(gateway.url + "/files/models/main/data/train.csv",
                                    headers=AUTH)
    assert status == 200 and body == sample_files()["data/train.csv"]
    assert headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(("rng", "window"), [
    ("bytes=0-0", (0, 1)),
    ("bytes=100-65635", (100, 65636)),  # across chunk boundaries
    ("bytes=699990-", (699990, 700000)),
    ("bytes=-25", (699975, 700000)),
    ("bytes=650000-99999999", (650000, 700000)),  # end clamped to the size
])
def test_range_requests_answer_206(store: Any, gateway: Gateway, rng: str,
                                   window: tuple[int, int]) -> None:
    data = sample_files()[WEIGHTS]
    url = gateway.url + file_url_path("models", head_commit(store), WEIGHTS)
    status, headers, body = fetch(url, headers={**AUTH, "Range": rng})
    start, end = window
    assert status == 206
    assert body == data[start:end]
    assert headers["content-range"] == f"bytes {start}-{end - 1}/{len(data)}"
    assert headers["content-length"] == str(end - start)
    assert headers["etag"] == etag_of(data)


@pytest.mark.parametrize("rng", ["bytes=700000-", "bytes=5-2", "bytes=-0", "bytes=x-1",
                                 "bytes=0-" + "9" * 5000])  # the last one was a 500
def test_unsatisfiable_ranges_answer_416(store: Any, gateway: Gateway, rng: str) -> None:
    url = gateway.url + file_url_path("models", head_commit(store), WEIGHTS)
    status, headers, _ = fetch(url, headers={**AUTH, "Range": rng})
    assert status == 416
    assert headers["content-range"] == "bytes */700000"


@pytest.mark.parametrize("rng", ["bytes=0-1,5-6", "items=0-1"])
def test_multiple_ranges_and_unknown_units_get_the_whole_file(store: Any, gateway: Gateway,
                                                              rng: str) -> None:
    """RFC 9110 §14.2: an unknown range unit MUST be ignored; several ranges MAY be (the
    gateway's documented choice, blacklake_ml/gateway/ranges.py)."""
    url = gateway.url + file_url_path("models", head_commit(store), WEIGHTS)
    status, headers, body = fetch(url, headers={**AUTH, "Range": rng})
    assert status == 200 and body == sample_files()[WEIGHTS]
    assert "content-range" not in headers


def test_conditional_requests(store: Any, gateway: Gateway) -> None:
    data = sample_files()[WEIGHTS]
    url = gateway.url + file_url_path("models", head_commit(store), WEIGHTS)
    tag = etag_of(data)
    status, _, body = fetch(url, headers={**AUTH, "If-None-Match": tag})
    assert (status, body) == (304, b"")
    status, _, body = fetch(url, headers={**AUTH, "If-None-Match": '"other"'})
    assert status == 200 and body == data
    # If-Range with another tag: the client's partial copy is stale, send everything.
    status, _, body = fetch(url, headers={**AUTH, "Range": "bytes=0-9", "If-Range": '"x"'})
    assert status == 200 and body == data
    status, _, body = fetch(url, headers={**AUTH, "Range": "bytes=0-9", "If-Range": tag})
    assert status == 206 and body == data[:10]


def test_authentication(store: Any, gateway: Gateway) -> None:
    commit = head_commit(store)
    path = file_url_path("models", commit, "bert/config.json")
    assert fetch(gateway.url + path)[0] == 401
    assert fetch(gateway.url + path, headers={"Authorization": "Bearer wrong"})[0] == 401
    basic = base64.b64encode(b"anyone:test-token").decode()
    assert fetch(gateway.url + path, headers={"Authorization": f"Basic {basic}"})[0] == 200
    # Signed URLs: no header needed, valid for exactly that path.
    signed = gateway.signed_url(path)
    assert fetch(signed)[0] == 200
    assert signed == RemoteFiles(gateway.url, "test-token").signed_url(path)
    sig = signed.split("?sig=")[1]
    other = file_url_path("models", commit, "data/train.csv")
    assert fetch(gateway.url + other + f"?sig={sig}")[0] == 401
    assert fetch(signed[:-4] + "0000")[0] == 401
    assert fetch(RemoteFiles(gateway.url, "wrong").signed_url(path))[0] == 401


@pytest.mark.parametrize(("path", "status"), [
    ("/files/models/main/nope.bin", 404),
    ("/files/models/main/bert", 404),  # a directory
    ("/files/nosuchrepo/main/a.bin", 404),
    ("/files/models/nosuchbranch/a.bin", 404),
    ("/files/models/main/bert/../data/train.csv", 400),  # traversal: never normalised away
    ("/files/BAD%20NAME/main/a.bin", 400),
    ("/files/models/main", 404),  # no path: no route
])
def test_bad_requests_get_one_clear_status(store: Any, gateway: Gateway, path: str,
                                           status: int) -> None:
    got, headers, body = fetch(gateway.url, headers=AUTH, path=path)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert b"error" in body


def test_only_get_and_head(store: Any, gateway: Gateway) -> None:
    path = file_url_path("models", head_commit(store), "bert/config.json")
    assert fetch(gateway.url + path, "PUT", headers=AUTH)[0] == 405
    assert fetch(gateway.url + path, "DELETE", headers=AUTH)[0] == 405


@pytest.mark.parametrize("backend", [
    "local",
    pytest.param("s3pg", marks=[pytest.mark.s3, pytest.mark.postgres, pytest.mark.slow]),
])
def test_concurrent_range_reads_through_one_store(backend: str, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """8 client threads x 40 (S3: 20) random ranges (+ whole files) over files of several
    chunks, all through one Store behind the threaded gateway: every byte as stored; the
    first MD5 (raced by every thread at once) computed right."""
    spec: StoreSpec = make_spec(request, backend, tmp_path / "home")
    store = spec.open()
    rng = random.Random(7)
    files = {f"f{i}.bin": rng.randbytes(rng.randrange(300_000, 1_500_000)) for i in range(3)}
    repo = store.create_repo("hammer")
    for name, data in files.items():
        repo.put_bytes(data, name, message=f"add {name}")
    commit = repo.resolve("main")
    errors: list[str] = []
    rounds = 40 if backend == "local" else 20
    try:
        with Gateway(files_routes(store), token="test-token") as gw:
            start = threading.Barrier(8)

            def client(seed: int) -> int:
                r = random.Random(seed)
                start.wait()
                done = 0
                for i in range(rounds):
                    name = r.choice(sorted(files))
                    data = files[name]
                    url = gw.url + file_url_path("hammer", commit, name)
                    if i % 10 == 0:
                        status, headers, body = fetch(url, headers=AUTH)
                        want = data
                    else:
                        a = r.randrange(len(data))
                        b = min(len(data), a + r.randrange(1, 300_000))
                        status, headers, body = fetch(
                            url, headers={**AUTH, "Range": f"bytes={a}-{b - 1}"})
                        want = data[a:b]
                    if body != want or headers.get("etag") != etag_of(data):
                        errors.append(f"{name} {status} {headers.get('content-range')}")
                    done += 1
                return done

            t0 = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                assert sum(pool.map(client, range(8))) == 8 * rounds
            elapsed = time.monotonic() - t0
        assert not errors, errors[:5]
        for name, data in files.items():
            assert repo.digests(commit, name, md5=True)["md5"] == hashlib.md5(data).hexdigest()
        print(f"{backend}: {8 * rounds} requests in {elapsed:.2f}s")
    finally:
        store.close()


def test_wandb_http_handler_fetches_and_rechecks_the_etag(store: Any,
                                                          gateway: Gateway) -> None:
    """W&B's own HTTP reference handler: stores digest = ETag without quotes and size =
    Content-Length, downloads through the signed URL, and refuses a changed ETag."""
    import requests
    from wandb.sdk.artifacts.storage_handlers.http_handler import HTTPHandler

    data = sample_files()[WEIGHTS]
    url = gateway.signed_url(file_url_path("models", head_commit(store), WEIGHTS))
    handler = HTTPHandler(requests.Session())
    import wandb

    art = wandb.Artifact("probe", type="model")
    [entry] = handler.store_path(art, url, name="w.bin")
    assert entry.digest == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert entry.size == len(data)
    assert entry.extra == {"etag": etag_of(data)}
    local = handler.load_path(entry, local=True)
    assert Path(local).read_bytes() == data
    stale = entry.model_copy(update={"digest": "AAAAAAAAAAAAAAAAAAAAAA==", "size": len(data)})
    with pytest.raises(ValueError, match="Digest mismatch"):
        handler.load_path(stale, local=True)


def test_blacklake_serve_prints_url_and_token_and_serves(home: Path, store: Any) -> None:
    """The ``blacklake serve`` command in its own process: a generated (or the given)
    token, files served, stops cleanly on SIGTERM and on SIGINT (Ctrl-C)."""
    import json

    commit = head_commit(store)
    for stop, token in ((signal.SIGTERM, None), (signal.SIGINT, "given-token")):
        extra = ["--token", token] if token else []
        proc = subprocess.Popen([sys.executable, "-m", "blacklake_ml.cli.main", "--home",
                                 str(home), "serve", "--port", "0", "--json", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            doc = json.loads(proc.stdout.readline())
            assert doc["url"].startswith("http://127.0.0.1:")
            assert doc["token"] == token if token else len(doc["token"]) >= 24
            path = file_url_path("models", commit, "data/train.csv")
            status, _, body = fetch(doc["url"] + path,
                                      headers={"Authorization": f"Bearer {doc['token']}"})
            assert (status, body) == (200, sample_files()["data/train.csv"])
            assert fetch(doc["url"] + path)[0] == 401
            proc.send_signal(stop)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_blacklake_serve_refuses_a_bad_port(home: Path, store: Any) -> None:
    from click.testing import CliRunner

    from blacklake_ml.cli.main import cli

    result = CliRunner().invoke(cli, ["--home", str(home), "serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "70000" in result.output
