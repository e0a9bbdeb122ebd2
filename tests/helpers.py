"""Fixtures and helpers shared by the service-layer and catalog test modules.

Import what a module needs (``from helpers import store, snapshot, ...``); pytest finds the
fixtures in the importing module's namespace. The real services (PostgreSQL, moto S3) come
from ``conftest.py`` (``pg_catalog_url``, ``s3_storage_url``).

* ``store`` — parametrised over two real backends:

  - ``local``: ``Store.open(tmp_path)`` (objects on local disk + SQLite catalog);
  - ``s3pg``: objects in a fresh bucket on moto's S3 server + a fresh PostgreSQL database.

* ``store_spec`` — the same two backends as a picklable :class:`StoreSpec`, for tests that open
  the store again in other processes (``StoreSpec.open()``).
* ``run_cli`` / ``cli_error`` — the ``blacklake`` command in-process (click's runner, stdout and
  stderr apart, no store configuration leaking in from the environment), and the check of the
  one-line error rule.
"""

from __future__ import annotations

import hashlib
import os
import queue as queue_mod
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blacklake_ml.service.store import Store

BACKENDS = [
    "local",
    pytest.param("s3pg", marks=[pytest.mark.s3, pytest.mark.postgres]),
]


@dataclass(frozen=True)
class StoreSpec:
    """Everything needed to open one test store again (in this or another process)."""

    backend: str
    home: str
    storage: str | None = None
    catalog: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)

    def open(self) -> Store:
        if self.backend == "local":
            return Store.open(self.home)
        return Store.open(home=self.home, storage=self.storage, catalog=self.catalog,
                          storage_options=dict(self.storage_options))


def make_spec(request: pytest.FixtureRequest, backend: str, home: Path) -> StoreSpec:
    """A :class:`StoreSpec` for ``backend`` (pulling the service fixtures it needs)."""
    if backend == "local":
        return StoreSpec("local", str(home))
    url, opts = request.getfixturevalue("s3_storage_url")
    catalog = request.getfixturevalue("pg_catalog_url")
    return StoreSpec("s3pg", str(home), url, catalog, dict(opts))


@pytest.fixture(params=BACKENDS)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSpec:
    """A fresh, empty store on each backend, described (not opened)."""
    home = tmp_path / "home"
    return make_spec(request, request.param, home)


@pytest.fixture
def store(store_spec: StoreSpec) -> Iterator[Store]:
    """A fresh, open store on each backend (closed after the test)."""
    st = store_spec.open()
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh store on local disk + SQLite only."""
    st = Store.open(tmp_path / "home")
    try:
        yield st
    finally:
        st.close()


# -- the command line -----------------------------------------------------------------------
#: variables that would point a test's CLI run at some other store
CLI_ENV_CLEAR = ("BLACKLAKE_STORAGE", "BLACKLAKE_CATALOG", "BLACKLAKE_CONFIG",
                 "BLACKLAKE_STORAGE_OPTIONS", "BLACKLAKE_DEBUG")


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``blacklake --home HOME ARGS...`` in-process; returns click's ``Result``."""
    from click.testing import CliRunner

    from blacklake_ml.cli.main import cli

    full_env: dict[str, str | None] = {k: None for k in CLI_ENV_CLEAR}
    full_env.update(env or {})
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=full_env,
                              catch_exceptions=False)


def cli_error(result: Any, code: int) -> str:
    """Assert the CLI error rule (exit ``code``, exactly one ``blacklake: error:`` line on
    stderr, nothing on stdout, no traceback); returns that line."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("blacklake: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return str(lines[0])


# -- helpers --------------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (creating parents) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tree_of(directory: Path) -> dict[str, bytes]:
    """Every regular file below ``directory`` as ``{relative posix path: bytes}``."""
    out = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[p.relative_to(directory).as_posix()] = p.read_bytes()
    return out


def snapshot(repo: Any, branch: str = "main") -> tuple[str, list[tuple[str, str, str]]]:
    """Branch head + a recursive listing (path, kind, id): compare before/after an action."""
    head = repo.branch_head(branch)
    listing = sorted((e["path"], e["kind"], e["id"]) for e in repo.ls(branch, recursive=True))
    return head, listing


def store_state(store: Store) -> dict[str, Any]:
    """Repos, refs and commit count of a store: changes whenever anything is committed."""
    cat = store.catalog
    repos = {r.name: [(f.name, f.kind, f.commit) for f in cat.list_refs(r.id)]
             for r in cat.list_repos()}
    return {"repos": repos, "commits": cat.count_commits()}


def rand(n: int, seed: int | None = None) -> bytes:
    """``n`` random bytes (reproducible when ``seed`` is given)."""
    if seed is None:
        return os.urandom(n)
    import random

    return random.Random(seed).randbytes(n)


def collect(procs: list[Any], q: Any, timeout: float = 240) -> list[tuple[Any, ...]]:
    """Messages from workers until each said ``done`` (fails on an ``error`` message)."""
    msgs: list[tuple[Any, ...]] = []
    done: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while len(done) < len(procs):
            try:
                m = q.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue_mod.Empty:
                pytest.fail(f"workers timed out; got {msgs[-5:]}")
            if m[0] == "error":
                pytest.fail(f"worker {m[1]} failed:\n{m[2]}")
            if m[0] == "done":
                done.add(m[1])
            else:
                msgs.append(m)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join(5)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return msgs
