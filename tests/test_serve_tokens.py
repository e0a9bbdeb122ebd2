"""Where ``blacklake serve`` and ``serve-dvc`` take their token from, through the real CLI:
``--token`` > ``--token-file`` > ``$BLACKLAKE_SERVE_TOKEN`` > generated; a token from a file
or the environment never appears in the process list or the output; bad token files are
refused before anything is served."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from blacklake_ml.cli.main import cli
from blacklake_ml.config import ENV_SERVE_TOKEN

FILE_TOKEN = "from-the-file-0123456789"
ENV_TOKEN = "from-the-env-0123456789"
OPTION_TOKEN = "from-the-option-0123456789"

#: a path each command answers 401 without the token and something else with it
PROBES = {"serve": "/files/nothing/main/x.bin",
          "serve-dvc": "/dvc/nothing/files/md5/00/" + "0" * 30}


def token_file(tmp_path: Path, text: str | bytes, mode: int = 0o600,
               name: str = "token") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, wait, check a clean exit; the process's stderr."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


def status_of(url: str, token: str | None, *, basic: bool = False) -> int:
    headers = {}
    if token is not None:
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"dvc:{token}".encode()).decode() if basic
            else f"Bearer {token}")
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def serving(command: str, home: Path, *args: str, env: dict[str, str] | None = None
            ) -> Iterator[tuple[dict[str, Any], subprocess.Popen[str]]]:
    """Run ``blacklake COMMAND --port 0 --json ARGS``; yields its JSON line and the process,
    then stops it with SIGTERM (and checks it exited cleanly)."""
    full_env = {k: v for k, v in os.environ.items() if k != ENV_SERVE_TOKEN}
    full_env.update(env or {})
    full_env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "blacklake_ml.cli.main", "--home",
                             str(home), command, "--port", "0", "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=30)[1]
        yield json.loads(line), proc
        if proc.returncode is None:
            stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def base_url(command: str, doc: dict[str, Any]) -> str:
    return str(doc["url"] if command == "serve" else doc["base_url"])


def cmdline(proc: subprocess.Popen[str]) -> bytes:
    return Path(f"/proc/{proc.pid}/cmdline").read_bytes()


@pytest.mark.parametrize("command", ["serve", "serve-dvc"])
def test_token_precedence_option_file_env_generated(command: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = token_file(tmp_path, FILE_TOKEN + "\nsecond line is ignored\n")
    env = {ENV_SERVE_TOKEN: ENV_TOKEN}
    cases = [  # (args, env, the token that must work, source)
        (["--token", OPTION_TOKEN, "--token-file", str(path)], env, OPTION_TOKEN, "option"),
        (["--token-file", str(path)], env, FILE_TOKEN, "file"),
        ([], env, ENV_TOKEN, "env"),
        ([], {}, None, "generated"),
    ]
    for args, extra_env, want, source in cases:
        with serving(command, tmp_path / "home", *args, env=extra_env) as (doc, proc):
            assert doc["token_source"] == source
            if source == "generated":
                want = doc["token"]
                assert want and len(want) >= 20
            url = base_url(command, doc) + PROBES[command]
            assert status_of(url, want) == 404, (source, command)  # authenticated
            assert status_of(url, want, basic=True) == 404
            for other in {OPTION_TOKEN, FILE_TOKEN, ENV_TOKEN} - {want}:
                assert status_of(url, other) == 401, (source, other)
            assert status_of(url, None) == 401
            if source in ("file", "env"):
                # neither printed nor in the process list
                assert doc["token"] is None
                assert want.encode() not in cmdline(proc)
                assert want not in json.dumps(doc)
            if command == "serve" and source == "option":
                assert doc["token"] == OPTION_TOKEN  # visible in ps anyway: still echoed
    assert home.exists()


def test_serve_dvc_prints_a_placeholder_for_a_token_it_did_not_make(tmp_path: Path) -> None:
    path = token_file(tmp_path, f"  {FILE_TOKEN}  \r\n")  # surrounding whitespace stripped
    with serving("serve-dvc", tmp_path / "home", "--token-file", str(path)) as (doc, _proc):
        assert doc["commands"][-1].endswith("password <token from --token-file>")
        url = doc["base_url"] + PROBES["serve-dvc"]
        assert status_of(url, FILE_TOKEN, basic=True) == 404


def test_human_output_never_shows_a_file_token(tmp_path: Path) -> None:
    path = token_file(tmp_path, FILE_TOKEN)
    env = {k: v for k, v in os.environ.items() if k != ENV_SERVE_TOKEN}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "blacklake_ml.cli.main", "--home",
                             str(tmp_path / "home"), "serve", "--port", "0",
                             "--token-file", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert lines[0].startswith("serving http://127.0.0.1:")
        assert lines[1].strip() == "token: <token from --token-file>"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert FILE_TOKEN not in out + err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_group_readable_token_file_works_with_a_warning(tmp_path: Path) -> None:
    path = token_file(tmp_path, FILE_TOKEN, mode=0o640)
    with serving("serve", tmp_path / "home", "--token-file", str(path)) as (doc, proc):
        assert doc["token_source"] == "file"
        assert status_of(doc["url"] + PROBES["serve"], FILE_TOKEN) == 404
        err = stop(proc)
        assert "accessible to its group" in err and "warning" in err


def test_token_option_warns_about_the_process_list(tmp_path: Path) -> None:
    with serving("serve", tmp_path / "home", "--token", OPTION_TOKEN) as (_doc, proc):
        assert "process list" in stop(proc)


@pytest.mark.parametrize("command", ["serve", "serve-dvc"])
@pytest.mark.parametrize(("text", "mode", "message"), [
    (FILE_TOKEN, 0o644, "accessible to every user"),
    (FILE_TOKEN, 0o602, "accessible to every user"),
    ("", 0o600, "is empty"),
    ("   \n" + FILE_TOKEN, 0o600, "is empty"),  # the token is the FIRST line
    ("abc\x1bdef", 0o600, "control characters"),
    ("x" * 5000, 0o600, "over 4096 characters"),
    (b"\xff\xfebinary", 0o600, "not UTF-8"),
])
def test_bad_token_files_are_refused_before_serving(command: str, text: str | bytes,
                                                    mode: int, message: str,
                                                    tmp_path: Path) -> None:
    path = token_file(tmp_path, text, mode)
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), command, "--port", "0",
                                      "--token-file", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not home.exists()  # refused before the store was even opened


@pytest.mark.parametrize("command", ["serve", "serve-dvc"])
def test_missing_token_file_and_directory_are_refused(command: str, tmp_path: Path) -> None:
    for path in (tmp_path / "missing", tmp_path):
        result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), command,
                                          "--port", "0", "--token-file", str(path)])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
