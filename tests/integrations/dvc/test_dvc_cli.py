"""The real ``blacklake serve-dvc`` process: configure DVC from what it prints, push, kill -9,
restart, pull; SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from dvc_support import dvc, forget_local_data, make_project, some_files, workspace

from blacklake_ml import Store
from blacklake_ml.errors import RefNotFound, RepoNotFound

pytestmark = pytest.mark.slow


def blacklake(*args: str) -> list[str]:
    return [sys.executable, "-m", "blacklake_ml.cli.main", *args]


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(blacklake("--home", str(home), "serve-dvc", "--port", "0", *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def read_until(stream: IO[str] | None, done: Any, timeout: float = 60) -> list[str]:
    assert stream is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if done(lines):
            return lines
    raise AssertionError(f"server output ended early: {lines}")


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def test_serve_dvc_cli_kill_restart_pull(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = some_files(12, seed=7)
    project = make_project(tmp_path / "proj", files)

    # 1. --json, no --token: a token is generated; nothing commits for an hour
    proc = start(home, "--json", "--commit-delay", "3600")
    try:
        doc = json.loads(read_until(proc.stdout, lambda ls: True)[0])  # one line
        assert doc["url"].startswith("http://127.0.0.1:") and doc["url"].endswith("/dvc/<repo>")
        token = doc["token"]
        assert token and len(token) >= 20
        commands = doc["commands"]
        assert commands[0].startswith("dvc remote add -d bl http://127.0.0.1:")
        assert commands[-1].endswith(f"password {token}")
        for line in commands:  # exactly what the server printed
            argv = shlex.split(line.replace("/dvc/REPO", "/dvc/cli-demo"))
            assert argv[0] == "dvc"
            dvc(project, *argv[1:])
        assert "13 files pushed" in dvc(project, "push").stdout
    finally:
        proc.kill()  # SIGKILL: acknowledged uploads are only in the staging area now
        proc.wait()
    staged = list((home / "dvc-remote" / "cli-demo" / "files" / "md5").rglob("*"))
    assert len([p for p in staged if p.is_file()]) == 13
    with Store.open(home) as store, pytest.raises(RepoNotFound):
        store.repo("cli-demo")

    # 2. restart on the same port, human output, given token: the leftovers get committed
    port = re.search(r":(\d+)/", doc["url"]).group(1)  # type: ignore[union-attr]
    proc = subprocess.Popen(blacklake("--home", str(home), "serve-dvc", "--port", port,
                                      "--token", token),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        out = read_until(proc.stdout, lambda ls: "password" in ls[-1])
        assert out[0].startswith(f"DVC remote on http://127.0.0.1:{port}/dvc/<repo>")
        assert not any(token in line for line in out)  # a given token is not echoed
        deadline = time.monotonic() + 30
        committed: list[Any] = []
        while time.monotonic() < deadline and len(committed) < 13:
            time.sleep(0.2)
            with Store.open(home) as store:
                try:
                    committed = store.repo("cli-demo").ls("dvc-remote", recursive=True)
                except (RepoNotFound, RefNotFound):  # not committed yet
                    committed = []
        assert len(committed) == 13
        assert "in sync" in dvc(project, "status", "-c").stdout
        forget_local_data(project, files)
        dvc(project, "pull")
        assert workspace(project, files) == files
    finally:
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert "stopped" in err
    assert not [p for p in (home / "dvc-remote" / "cli-demo").rglob("*") if p.is_file()]
