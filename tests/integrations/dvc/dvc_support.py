"""Helpers of the DVC bridge tests (imported by name: ``conftest`` is ambiguous when the
whole suite runs): the real ``git``/``dvc`` CLIs, a project builder, HTTP helpers.

:func:`build_project` makes this project:

  1. ``init`` — ``dvc init`` (no data: the import skips it)
  2. ``add raw data`` (Alice, 2024-01-02) — ``dvc add data/raw.csv data/images``
  3. ``train model`` (Bob, 2024-01-03) — a ``dvc.yaml`` stage ``train`` (``python train.py``,
     deps train.py + data, param ``lr``, out ``model/model.bin``), ``dvc repro``
  4. ``more data`` (Alice, 2024-01-04) — raw.csv grows, images/2.bin goes, ``dvc repro``
  5. ``docs`` (Bob, 2024-01-05) — README only (no DVC change: skipped)

  ``project.expected[message]`` is every DVC-tracked file's bytes at that commit.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

GIT = shutil.which("git") or "/usr/bin/git"
DVC = shutil.which("dvc") or str(Path(sys.executable).with_name("dvc"))

TRAIN_PY = """\
import os
import yaml

lr = yaml.safe_load(open("params.yaml"))["lr"]
raw = open("data/raw.csv", "rb").read()
images = sorted(os.listdir("data/images"))
os.makedirs("model", exist_ok=True)
with open("model/model.bin", "wb") as f:
    f.write(b"model lr=%s rows=%d images=%d\\n" % (str(lr).encode(), raw.count(b"\\n"),
                                                     len(images)))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    - data/raw.csv
    - data/images
    params:
    - lr
    outs:
    - model/model.bin
"""

#: the token the remote tests' servers use
TOKEN = "s3cret-token"

AUTHORS = {"Alice": "alice@example.com", "Bob": "bob@example.com"}


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a CLI; on failure show its output in the assertion."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)
    if check:
        assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def git(cwd: Path, *args: str, **kw: object) -> str:
    return run([GIT, *args], cwd, **kw).stdout  # type: ignore[arg-type]


def dvc(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([DVC, *args], cwd, check=check)


def commit(cwd: Path, message: str, author: str, date: str) -> str:
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": AUTHORS[author],
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": AUTHORS[author],
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    run([GIT, "add", "-A"], cwd)
    run([GIT, "commit", "-q", "-m", message], cwd, env=env)
    return git(cwd, "rev-parse", "HEAD").strip()


@dataclass
class Project:
    """A built project: its directory, commit shas by message, expected tracked bytes."""

    path: Path
    shas: dict[str, str] = field(default_factory=dict)
    expected: dict[str, dict[str, bytes]] = field(default_factory=dict)


def tracked_bytes(root: Path) -> dict[str, bytes]:
    """The bytes of the DVC-tracked outputs of this project in its work tree."""
    out: dict[str, bytes] = {}
    for rel in ("data/raw.csv", "model/model.bin"):
        if (root / rel).is_file():
            out[rel] = (root / rel).read_bytes()
    images = root / "data" / "images"
    if images.is_dir():
        for p in sorted(images.iterdir()):
            out[f"data/images/{p.name}"] = p.read_bytes()
    return out


def build_project(root: Path) -> Project:
    """The five-commit project of the module docstring."""
    root.mkdir(parents=True)
    p = Project(root)
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    p.shas["init"] = commit(root, "init", "Bob", "2024-01-01T09:00:00+00:00")

    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "raw.csv").write_bytes(b"x,y\n1,2\n3,4\n")
    for i in range(3):
        (root / "data" / "images" / f"{i}.bin").write_bytes(bytes([i]) * (1000 + i))
    dvc(root, "add", "-q", "data/raw.csv", "data/images")
    p.shas["add raw data"] = commit(root, "add raw data", "Alice",
                                    "2024-01-02T10:00:00+00:00")
    p.expected["add raw data"] = tracked_bytes(root)

    (root / "train.py").write_text(TRAIN_PY)
    (root / "params.yaml").write_text("lr: 0.1\n")
    (root / "dvc.yaml").write_text(DVC_YAML)
    dvc(root, "repro", "-q")
    p.shas["train model"] = commit(root, "train model", "Bob", "2024-01-03T11:00:00+00:00")
    p.expected["train model"] = tracked_bytes(root)

    with open(root / "data" / "raw.csv", "ab") as f:
        f.write(b"5,6\n7,8\n")
    (root / "data" / "images" / "2.bin").unlink()
    dvc(root, "add", "-q", "data/raw.csv", "data/images")
    dvc(root, "repro", "-q")
    p.shas["more data"] = commit(root, "more data", "Alice", "2024-01-04T12:00:00+00:00")
    p.expected["more data"] = tracked_bytes(root)

    (root / "README.md").write_text("# demo\n")
    p.shas["docs"] = commit(root, "docs", "Bob", "2024-01-05T13:00:00+00:00")
    return p


def make_project(root: Path, files: dict[str, bytes]) -> Path:
    """A git + DVC project tracking ``files`` (a top-level name with '/' in it becomes a
    tracked directory ``data/``; others are tracked one by one)."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    dvc(root, "init", "-q")
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    targets = sorted({rel.split("/")[0] for rel in files})
    dvc(root, "add", "-q", *targets)
    commit(root, "data", "Alice", "2024-03-01T10:00:00+00:00")
    return root


def use_remote(project: Path, url: str, password: str = TOKEN, *, cli: bool = False) -> None:
    """Make ``url`` the default remote ``bl`` with basic auth: with the ``dvc remote``
    commands ``serve-dvc`` prints, or (faster, same files) by writing DVC's config."""
    if cli:
        dvc(project, "remote", "add", "-f", "-d", "bl", url)
        dvc(project, "remote", "modify", "--local", "bl", "auth", "basic")
        dvc(project, "remote", "modify", "--local", "bl", "user", "anyone")
        dvc(project, "remote", "modify", "--local", "bl", "password", password)
        return
    with open(project / ".dvc" / "config", "a") as f:
        f.write(f"[core]\n    remote = bl\n['remote \"bl\"']\n    url = {url}\n")
    (project / ".dvc" / "config.local").write_text(
        f"['remote \"bl\"']\n    auth = basic\n    user = anyone\n    password = {password}\n")


def workspace(project: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    return {rel: (project / rel).read_bytes() for rel in files}


def forget_local_data(project: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(project / ".dvc" / "cache")
    for top in {rel.split("/")[0] for rel in files}:
        target = project / top
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def http(url: str, *, method: str = "GET", data: bytes | None = None,
         headers: dict[str, str] | None = None, password: str = TOKEN
         ) -> tuple[int, dict[str, str], bytes]:
    auth = base64.b64encode(f"u:{password}".encode()).decode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Basic {auth}", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def oid_path(data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    return f"files/md5/{md5[:2]}/{md5[2:]}"


def some_files(n: int, seed: int, big_every: int = 0) -> dict[str, bytes]:
    rng = random.Random(seed)
    out = {}
    for i in range(n):
        size = 300_000 + rng.randrange(50_000) if big_every and i % big_every == 0 else \
            rng.randrange(1, 4000)
        out[f"data/f{i:04d}.bin"] = rng.randbytes(size)
    return out
