"""Control characters and over-long segments through the command line (issue 10).

Each case runs one ``blacklake`` command with one bad argument against a populated store and
checks the CLI rule (exit 2, one ``blacklake: error:`` line naming the problem, nothing on
stdout) and that the store is exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_error, run_cli, snapshot, store_state, write

from blacklake_ml.service.store import Store


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    with Store.open(home) as st:
        repo = st.create_repo("demo")
        repo.put_bytes(b"a", "a.txt", message="base")
        repo.create_branch("dev")
    yield home


def state(home: Path) -> Any:
    with Store.open(home) as st:
        repo = st.repo("demo")
        return store_state(st), snapshot(repo, "main"), snapshot(repo, "dev")


def bad(home: Path, *args: str) -> str:
    """Run; expect the one-line error with exit code 2 and no change; return the line."""
    before = state(home)
    line = cli_error(run_cli(home, *args), 2)
    assert state(home) == before
    return line


BAD_PATHS = {"newline": "x\ny.txt", "crlf": "dir/x\r\n", "escape": "x\x1b]0;pwned\x07",
             "tab": "x\ty", "delete": "x\x7f", "long-segment": "d/" + "s" * 256,
             "long-multibyte-segment": "é" * 128}


@pytest.mark.parametrize("path", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_bad_paths(home: Path, tmp_path: Path, path: str) -> None:
    local = write(tmp_path / "f.txt", b"data")
    what = "255 bytes" if "s" * 200 in path or "é" * 100 in path else "control character"
    for args in (("put", str(local), f"blacklake://demo/main/{path}", "-m", "m"),
                 ("rm", f"blacklake://demo/main/{path}", "-m", "m"),
                 ("ls", f"blacklake://demo/main/{path}"),
                 ("get", f"blacklake://demo/main/{path}", "-o", str(tmp_path / "out"))):
        assert what in bad(home, *args)
    assert not (tmp_path / "out").exists()


BAD_NAMES = {"newline": "x\ny", "trailing-lf": "dev\n", "cr": "x\r", "escape": "\x1b[31m",
             "tab": "a\tb", "delete": "x\x7f"}


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_bad_branch_and_tag_names(home: Path, tmp_path: Path, name: str) -> None:
    local = write(tmp_path / "f.txt", b"data")
    for args in (("branch", "create", "demo", name), ("branch", "delete", "demo", name),
                 ("branch", "create", "demo", "ok", "--from", name),
                 ("tag", "create", "demo", name, "main"), ("tag", "delete", "demo", name),
                 ("merge", "demo", name, "main"), ("merge", "demo", "dev", name),
                 ("cherry-pick", "demo", "dev", name), ("revert", "demo", "main", name),
                 ("put", str(local), f"blacklake://demo/{name}/x", "-m", "m")):
        line = bad(home, *args)
        assert "name" in line or "reference" in line, line


@pytest.mark.parametrize("key", ["a\nb", "a\r", "a\tb", "\x1b[1mk", "k\x7f"])
def test_bad_metadata_keys(home: Path, tmp_path: Path, key: str) -> None:
    local = write(tmp_path / "f.txt", b"data")
    write(tmp_path / "dir" / "x.txt", b"x")
    for args in (("put", str(local), "blacklake://demo/main/f.txt", "-m", "m",
                  "--meta", f"{key}=v"),
                 ("put", str(tmp_path / "dir"), "blacklake://demo/main/d", "-m", "m",
                  "--meta", f"{key}=v"),
                 ("put", str(local), "blacklake://demo/main/f.txt", "-m", "m",
                  "--commit-meta", f"{key}=v")):
        assert "control character" in bad(home, *args)


def test_a_directory_with_a_bad_file_name_commits_nothing(home: Path, tmp_path: Path) -> None:
    write(tmp_path / "dir" / "fine.txt", b"fine")
    write(tmp_path / "dir" / "evil\r\nname", b"evil")
    line = bad(home, "put", str(tmp_path / "dir"), "blacklake://demo/main/d", "-m", "m")
    assert "control character U+000D" in line


def test_the_longest_segment_round_trips(home: Path, tmp_path: Path) -> None:
    name = "é" * 127 + "x"  # 255 bytes
    local = write(tmp_path / "f.txt", b"data")
    res = run_cli(home, "put", str(local), f"blacklake://demo/main/{name}", "-m", "m")
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "co"
    res = run_cli(home, "checkout", "blacklake://demo/main", str(out))
    assert res.exit_code == 0, res.stderr
    assert (out / name).read_bytes() == b"data"


@pytest.mark.parametrize("cmd", [["get", "blacklake://demo/dev/nope", "-o", "OUT"],
                                 ["checkout", "blacklake://demo/dev/nope", "OUT"],
                                 ["scan", "blacklake://demo/dev/nope"]])
def test_a_missing_path_is_reported_at_the_ref_given(home: Path, tmp_path: Path,
                                                     cmd: list[str]) -> None:
    """The commands pin one commit; the error still names the ref the user wrote."""
    with Store.open(home) as st:
        commit = st.repo("demo").resolve("dev")
    before = state(home)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in cmd]
    line = cli_error(run_cli(home, *args), 3)
    assert line == f"blacklake: error: no such path at dev (commit {commit[:12]}): nope"
    assert state(home) == before
    assert not (tmp_path / "out").exists()
