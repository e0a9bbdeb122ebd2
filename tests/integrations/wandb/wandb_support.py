"""Helpers of the W&B bridge tests.

* :func:`sample_files` — the sample model and data (deterministic bytes);
* :func:`run_records` — the records an offline run wrote to its ``run-<id>.wandb`` file (what
  ``wandb sync`` would upload), decoded with W&B's own protobuf classes; the file is LevelDB's
  log format (32 KiB blocks, records of ``crc32 | length | type | data``, full/first/middle/
  last fragments) behind W&B's 7-byte header, which counts towards the first block;
* :func:`download_layout` — a directory laid out as ``artifact.download()`` lays one out (each
  entry at its path below the root) from an artifact built offline, plus its manifest JSON —
  for file entries from W&B's staged copies, for references by W&B's own HTTP handler
  fetching them from the gateway (which re-checks the ETag, as a download does);
* :func:`request` — one raw HTTP request (no client-side URL normalisation);
* :class:`FakeApi` — stands in for ``wandb.Api`` (which needs a W&B server): its artifacts
  are real offline ``wandb.Artifact`` s whose ``download()`` lays their files out.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import struct
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

HEADER = 7
BLOCK = 32 * 1024


def sample_files() -> dict[str, bytes]:
    """Relative path -> bytes of the sample commit."""
    rng = random.Random(5)
    weights = bytes(rng.getrandbits(8) for _ in range(700_000))  # ~10 chunks
    return {
        "bert/model.safetensors": weights,
        "bert/config.json": b'{"architectures": ["BertModel"], "hidden_size": 64}\n',
        "bert/tokenizer/vocab.txt": b"[PAD]\n[UNK]\nhello\nworld\n",
        "data/train.csv": b"x,y\n1,0\n2,1\n3,0\n",
    }


def run_records(run_dir: str | Path, *, timeout: float = 30) -> list[Any]:
    """Every record of the finished offline run in ``run_dir`` (the directory holding
    ``run-<id>.wandb``; ``Path(run.dir).parent``). wandb-core may still be writing the file
    when ``run.finish()`` returns, so this waits (up to ``timeout``) for the run's exit
    record."""
    deadline = time.monotonic() + timeout
    while True:
        records = _read_records(run_dir)
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"no exit record in {run_dir} after {timeout}s")
        time.sleep(0.05)


def _read_records(run_dir: str | Path) -> list[Any]:
    from wandb.proto import wandb_internal_pb2 as pb

    files = list(Path(run_dir).glob("run-*.wandb"))
    assert len(files) == 1, files
    data = files[0].read_bytes()
    assert data[:4] == b":W&B", data[:8]
    out: list[Any] = []
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # block trailer: padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        if pos + 7 + length > len(data):
            break  # still being written
        body = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            out.append(body)
        elif kind == 2:
            pending = body
        elif kind == 3:
            pending += body
        elif kind == 4:
            out.append(pending + body)
    records = []
    for body in out:
        r = pb.Record()
        r.ParseFromString(body)
        records.append(r)
    return records


def artifact_records(run: Any) -> list[Any]:
    """The ``ArtifactRecord`` s a finished offline run logged."""
    return [r.artifact for r in run_records(Path(run.dir).parent)
            if r.WhichOneof("record_type") == "artifact"]


def download_layout(artifact: Any, root: Path, *, manifest_name: str = "wandb_manifest.json"
                    ) -> Path:
    """Lay ``artifact``'s entries out below ``root`` as ``download()`` does, with the
    manifest JSON beside them; returns ``root``."""
    from wandb.sdk.artifacts.storage_handlers.http_handler import HTTPHandler

    root.mkdir(parents=True, exist_ok=True)
    handler = None
    for name, entry in artifact.manifest.entries.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.ref is None:
            shutil.copyfile(entry.local_path, target)
        else:
            if handler is None:
                import requests

                handler = HTTPHandler(requests.Session())
            shutil.copyfile(handler.load_path(entry, local=True), target)
    (root / manifest_name).write_text(json.dumps(artifact.manifest.to_manifest_json()))
    return root


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None,
         path: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers (lower-case names), body)`` of one request; ``path`` overrides
    the URL's path and query verbatim."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        target = path if path is not None else (u.path + (f"?{u.query}" if u.query else ""))
        conn.request(method, target, headers=headers or {})
        rsp = conn.getresponse()
        body = rsp.read()
        return rsp.status, {k.lower(): v for k, v in rsp.getheaders()}, body
    finally:
        conn.close()


class FakeApiArtifact:
    """What ``wandb.Api().artifact(path)`` returns, backed by a real offline artifact."""

    def __init__(self, real: Any, path: str) -> None:
        entity, project, name_version = path.split("/")
        self._real = real
        self.name = name_version
        self.version = name_version.split(":")[1]
        self.entity, self.project = entity, project
        self.type = real.type
        self.digest = real.digest
        self.manifest = real.manifest

    def logged_by(self) -> Any:
        return SimpleNamespace(id="run42abc", name="brisk-sun-7", entity=self.entity,
                               project=self.project,
                               url=f"https://wandb.ai/{self.entity}/{self.project}/runs/run42abc")

    def download(self, root: str | None = None) -> str:
        assert root is not None
        download_layout(self._real, Path(root))
        os.unlink(Path(root) / "wandb_manifest.json")  # download() writes no manifest
        return root


class FakeApi:
    def __init__(self, artifacts: dict[str, Any]) -> None:
        self.artifacts = artifacts
        self.asked: list[str] = []

    def artifact(self, path: str) -> Any:
        self.asked.append(path)
        if path not in self.artifacts:
            raise ValueError(f"artifact '{path}' not found in 'team/proj'")
        return FakeApiArtifact(self.artifacts[path], path)
