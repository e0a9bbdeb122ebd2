"""The ``blacklake`` command line: every command's normal path and its bad inputs.

Most tests drive the click group in-process with :class:`click.testing.CliRunner` (stdout and
stderr kept apart); a few run the real console script in a subprocess. Each test has its own
store under ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from blacklake_ml.cli.args import parse_strategy
from blacklake_ml.cli.main import cli
from blacklake_ml.errors import InvalidInput

ENV_CLEAR = ("BLACKLAKE_STORAGE", "BLACKLAKE_CATALOG", "BLACKLAKE_CONFIG",
             "BLACKLAKE_STORAGE_OPTIONS", "BLACKLAKE_DEBUG")


class BL:
    """Runs ``blacklake --home HOME ...`` in-process and checks the output rules."""

    def __init__(self, home: Path, work: Path) -> None:
        self.home = home
        self.work = work
        self.runner = CliRunner()

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None
            ) -> Result:
        return self.runner.invoke(cli, ["--home", str(self.home), *args], input=input,
                                  env=env, catch_exceptions=False)

    def ok(self, *args: str, **kw: Any) -> Result:
        """Run; expect exit 0 and no traceback."""
        res = self.run(*args, **kw)
        assert res.exit_code == 0, (res.exit_code, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr
        return res

    def json(self, *args: str, **kw: Any) -> Any:
        """Run with ``--json``; stdout must be exactly one JSON document."""
        res = self.ok(*args, "--json", **kw)
        return json.loads(res.stdout)

    def fail(self, *args: str, code: int | None = None, **kw: Any) -> Result:
        """Run; expect a non-zero exit and exactly one ``blacklake: error:`` line on stderr."""
        res = self.run(*args, **kw)
        assert res.exit_code != 0, (res.stdout, res.stderr)
        if code is not None:
            assert res.exit_code == code, (res.exit_code, res.stderr)
        lines = res.stderr.splitlines()
        assert len(lines) == 1, res.stderr
        assert lines[0].startswith("blacklake: error: "), lines
        assert "Traceback" not in res.stderr + res.stdout
        assert res.stdout == ""
        return res

    def snapshot(self, repo: str = "demo") -> Any:
        """What a failed command must not change: history, tree, branches and tags."""
        return (self.json("log", f"blacklake://{repo}/main"),
                self.json("ls", "-r", f"blacklake://{repo}/main"),
                self.json("branch", "list", repo), self.json("tag", "list", repo),
                self.json("repo", "list"))


@pytest.fixture
def bl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BL:
    for var in ENV_CLEAR:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BLACKLAKE_FSYNC", "0")
    monkeypatch.setenv("BLACKLAKE_AUTHOR", "tester")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return BL(tmp_path / "home", work)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A small directory tree to put."""
    root = tmp_path / "src"
    (root / "d" / "e").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"hello")
    (root / "d" / "b.txt").write_bytes(b"world")
    (root / "d" / "e" / "c.bin").write_bytes(os.urandom(200_000))
    return root


@pytest.fixture
def demo(bl: BL, src: Path) -> BL:
    """Store with repository ``demo`` holding ``src`` under ``data/``."""
    bl.ok("repo", "create", "demo")
    bl.ok("put", str(src), "blacklake://demo/main/data", "-m", "first")
    return bl


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def messages(bl: BL, uri: str = "blacklake://demo/main", *extra: str) -> list[str]:
    return [c["message"] for c in bl.json("log", uri, *extra)]


# -- store and repositories ---------------------------------------------------------------
def test_init_human_and_json(bl: BL) -> None:
    res = bl.ok("init")
    assert str(bl.home) in res.stdout
    doc = bl.json("init")
    assert doc["home"] == str(bl.home)
    assert doc["objects_dir"] == str(bl.home / "objects")
    assert "sqlite" in doc["catalog"]
    assert (bl.home / "catalog.sqlite").exists()


def test_home_from_environment(tmp_path: Path, bl: BL) -> None:
    other = tmp_path / "envhome"
    res = bl.runner.invoke(cli, ["init", "--json"], env={"BLACKLAKE_HOME": str(other)},
                           catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["home"] == str(other)


def test_repo_create_list_delete(bl: BL) -> None:
    doc = bl.json("repo", "create", "models", "--description", "all models",
                  "--max-bytes", "1000", "--max-files", "3")
    assert doc["name"] == "models" and doc["description"] == "all models"
    assert (doc["max_bytes"], doc["max_files"]) == (1000, 3)
    bl.ok("repo", "create", "data.v2")
    assert [r["name"] for r in bl.json("repo", "list")] == ["data.v2", "models"]
    assert bl.ok("repo", "list").stdout.splitlines()[0].startswith("data.v2")
    # stdin is not a TTY under the runner: no prompt
    assert bl.json("repo", "delete", "models") == {"deleted": "models"}
    assert [r["name"] for r in bl.json("repo", "list")] == ["data.v2"]
    bl.ok("repo", "delete", "data.v2", "--yes")
    assert bl.json("repo", "list") == []
    bl.fail("repo", "delete", "data.v2", code=3)


def test_repo_delete_prompts_on_a_terminal(bl: BL, monkeypatch: pytest.MonkeyPatch) -> None:
    bl.ok("repo", "create", "keep")
    monkeypatch.setattr("blacklake_ml.cli.repo_cmds.stdin_is_tty", lambda: True)
    res = bl.run("repo", "delete", "keep", input="n\n")
    assert res.exit_code != 0
    assert [r["name"] for r in bl.json("repo", "list")] == ["keep"]
    res = bl.run("repo", "delete", "keep", input="y\n")
    assert res.exit_code == 0, res.stderr
    assert bl.json("repo", "list") == []


def test_repo_create_existing(bl: BL) -> None:
    bl.ok("repo", "create", "demo")
    bl.fail("repo", "create", "demo", code=4)


@pytest.mark.parametrize("name", ["Bad_Name", "-x", "a" * 64, "has space", "_x", ""])
def test_invalid_repo_names(bl: BL, name: str) -> None:
    bl.ok("init")
    res = bl.fail("repo", "create", "--", name, code=2)
    assert "invalid repository name" in res.stderr
    assert bl.json("repo", "list") == []


def test_repo_name_of_63_chars_is_fine(bl: BL) -> None:
    bl.ok("repo", "create", "a" * 63)


def test_option_like_name_without_separator_is_a_one_line_usage_error(bl: BL) -> None:
    res = bl.fail("repo", "create", "-x", code=2)
    assert "-x" in res.stderr and "--help" in res.stderr


# -- put / get / ls / rm / checkout -------------------------------------------------------
def test_put_directory_json_and_get_round_trip(bl: BL, src: Path, tmp_path: Path) -> None:
    bl.ok("repo", "create", "demo")
    doc = bl.json("put", str(src), "blacklake://demo/main/data", "-m", "first",
                  "--meta", "k=v", "--commit-meta", "run=42")
    assert len(doc["commit"]) == 64
    assert doc["files"] == 3 and doc["bytes"] == 200_010
    assert doc["new_bytes"] >= 200_010
    log = bl.json("log", "blacklake://demo/main")
    assert log[0]["id"] == doc["commit"]
    assert log[0]["meta"] == {"run": "42"}
    assert log[0]["author"] == "tester"
    # a file, to an explicit output
    out = tmp_path / "c.bin"
    got = bl.json("get", "blacklake://demo/main/data/d/e/c.bin", "-o", str(out))
    assert got["bytes"] == 200_000 and got["kind"] == "file"
    assert out.read_bytes() == (src / "d" / "e" / "c.bin").read_bytes()
    # a file, default output = basename in cwd
    bl.ok("get", "blacklake://demo/main/data/a.txt")
    assert (bl.work / "a.txt").read_bytes() == b"hello"
    # a directory, default output = basename
    bl.ok("get", "blacklake://demo/main/data/d")
    assert (bl.work / "d" / "b.txt").read_bytes() == b"world"
    assert (bl.work / "d" / "e" / "c.bin").stat().st_size == 200_000
    # the root, default output = repository name
    bl.ok("get", f"blacklake://demo/{doc['commit'][:10]}")
    assert (bl.work / "demo" / "data" / "a.txt").read_bytes() == b"hello"


def test_put_prints_commit_id_only(bl: BL, src: Path) -> None:
    bl.ok("repo", "create", "demo")
    res = bl.ok("put", str(src / "a.txt"), "blacklake://demo/main/", "-m", "m")
    (line,) = res.stdout.splitlines()
    assert len(line) == 64
    assert bl.json("log", "blacklake://demo/main", "-n", "1")[0]["id"] == line


def test_put_same_content_twice_creates_nothing(demo: BL, src: Path) -> None:
    before = demo.json("log", "blacklake://demo/main")
    doc = demo.json("put", str(src), "blacklake://demo/main/data", "-m", "again")
    assert doc["created"] is False and doc["commit"] == before[0]["id"]
    assert demo.json("log", "blacklake://demo/main") == before


def test_put_file_placement(bl: BL, src: Path) -> None:
    bl.ok("repo", "create", "demo")
    a = str(src / "a.txt")
    bl.ok("put", a, "blacklake://demo/main", "-m", "root")
    bl.ok("put", a, "blacklake://demo/main/renamed.txt", "-m", "renamed")
    bl.ok("put", a, "blacklake://demo/main/dir/", "-m", "below")
    paths = [e["path"] for e in bl.json("ls", "-r", "blacklake://demo/main")]
    assert paths == ["a.txt", "dir/a.txt", "renamed.txt"]


def test_ls_json_and_human(demo: BL) -> None:
    top = demo.json("ls", "blacklake://demo/main/data")
    assert [(e["path"], e["kind"]) for e in top] == [("data/a.txt", "file"), ("data/d", "dir")]
    assert top[0]["size"] == 5 and len(top[0]["id"]) == 64 and top[0]["meta"] == {}
    assert set(top[0]) == {"path", "kind", "size", "id", "meta", "safety", "safety_reasons"}
    assert top[0]["safety"] == "safe" and top[0]["safety_reasons"] == []
    assert "safety" not in top[1]  # folders: their files carry their own
    deep = demo.json("ls", "--recursive", "blacklake://demo/main")
    assert [e["path"] for e in deep] == ["data/a.txt", "data/d/b.txt", "data/d/e/c.bin"]
    assert all(e["kind"] == "file" for e in deep)
    one = demo.json("ls", "blacklake://demo/main/data/a.txt")
    assert [e["path"] for e in one] == ["data/a.txt"]
    human = demo.ok("ls", "blacklake://demo/main/data").stdout.splitlines()
    assert human == ["file\t5\tdata/a.txt\t", "dir\t200005\tdata/d/\t"]


def test_file_metadata(bl: BL, src: Path) -> None:
    bl.ok("repo", "create", "demo")
    bl.ok("put", str(src / "a.txt"), "blacklake://demo/main/a.txt", "-m", "m",
          "--meta", "framework=torch", "--meta", "eq=a=b")
    (entry,) = bl.json("ls", "blacklake://demo/main/a.txt")
    assert entry["meta"] == {"framework": "torch", "eq": "a=b"}


def test_rm(demo: BL) -> None:
    doc = demo.json("rm", "blacklake://demo/main/data/d", "-m", "drop d")
    assert doc["created"] is True
    assert [e["path"] for e in demo.json("ls", "-r", "blacklake://demo/main")] == ["data/a.txt"]
    assert messages(demo) == ["drop d", "first", "Initialize repository"]
    demo.fail("rm", "blacklake://demo/main/data/nope", "-m", "x", code=3)
    demo.fail("rm", "blacklake://demo/main", "-m", "x", code=2)  # the root


def test_checkout(demo: BL, tmp_path: Path) -> None:
    dest = tmp_path / "co"
    doc = demo.json("checkout", "blacklake://demo/main", str(dest))
    assert doc["bytes"] == 200_010
    assert (dest / "data" / "d" / "b.txt").read_bytes() == b"world"
    # the URI path selects a subdirectory
    sub = tmp_path / "sub"
    demo.ok("checkout", "blacklake://demo/main/data/d", str(sub))
    assert sorted(p.name for p in sub.iterdir()) == ["b.txt", "e"]
    # non-empty without --force: refused, nothing written
    busy = tmp_path / "busy"
    write(busy / "mine.txt", b"keep")
    res = demo.fail("checkout", "blacklake://demo/main", str(busy), code=4)
    assert "not empty" in res.stderr
    assert [p.name for p in busy.iterdir()] == ["mine.txt"]
    demo.ok("checkout", "blacklake://demo/main", str(busy), "--force")
    assert (busy / "mine.txt").read_bytes() == b"keep"
    assert (busy / "data" / "a.txt").read_bytes() == b"hello"
    # a file is not a tree
    demo.fail("checkout", "blacklake://demo/main/data/a.txt", str(tmp_path / "x"), code=2)


# -- history ------------------------------------------------------------------------------
def test_log_order_path_and_limit(demo: BL, tmp_path: Path) -> None:
    f = write(tmp_path / "m.bin", b"v1")
    demo.ok("put", str(f), "blacklake://demo/main/model/m.bin", "-m", "model v1")
    write(f, b"v2")
    demo.ok("put", str(f), "blacklake://demo/main/model/m.bin", "-m", "model v2")
    log = demo.json("log", "blacklake://demo/main")
    assert [c["message"] for c in log] == ["model v2", "model v1", "first",
                                          "Initialize repository"]
    assert log[0]["parents"] == [log[1]["id"]]
    assert log[-1]["parents"] == []
    assert {"id", "parents", "author", "time", "message", "meta"} <= set(log[0])
    assert [c["time"] for c in log] == sorted((c["time"] for c in log), reverse=True)
    assert messages(demo, "blacklake://demo/main", "-n", "2") == ["model v2", "model v1"]
    assert messages(demo, "blacklake://demo/main", "--path", "model") == ["model v2",
                                                                          "model v1"]
    assert messages(demo, "blacklake://demo/main/data") == ["first"]
    assert messages(demo, f"blacklake://demo/{log[1]['id'][:8]}") == \
        ["model v1", "first", "Initialize repository"]
    human = demo.ok("log", "blacklake://demo/main").stdout.splitlines()
    assert len(human) == 4 and human[0].startswith(log[0]["id"][:12])
    assert human[0].endswith("model v2")


def test_diff(demo: BL, tmp_path: Path) -> None:
    first = demo.json("log", "blacklake://demo/main")[0]["id"]
    demo.ok("put", str(write(tmp_path / "n.txt", b"new")), "blacklake://demo/main/data/n.txt",
            "-m", "add")
    demo.ok("put", str(write(tmp_path / "a.txt", b"HELLO!")),
            "blacklake://demo/main/data/a.txt", "-m", "modify")
    demo.ok("rm", "blacklake://demo/main/data/d/b.txt", "-m", "remove")
    doc = demo.json("diff", f"blacklake://demo/{first}", "blacklake://demo/main")
    assert [e["path"] for e in doc["added"]] == ["data/n.txt"]
    assert [e["path"] for e in doc["removed"]] == ["data/d/b.txt"]
    (mod,) = doc["modified"]
    assert mod["path"] == "data/a.txt" and mod["size"] == 6 and mod["before"]["size"] == 5
    # below a path only
    below = demo.json("diff", f"blacklake://demo/{first}/data/d", "blacklake://demo/main")
    assert below == {"added": [], "removed": [doc["removed"][0]], "modified": []}
    human = demo.ok("diff", f"blacklake://demo/{first}", "blacklake://demo/main").stdout
    assert human.splitlines() == ["A\tdata/n.txt", "D\tdata/d/b.txt",
                                  "M\tdata/a.txt\t(content)"]
    assert demo.json("diff", "blacklake://demo/main", "blacklake://demo/main") == \
        {"added": [], "removed": [], "modified": []}
    demo.ok("repo", "create", "other")
    demo.fail("diff", "blacklake://demo/main", "blacklake://other/main", code=2)


# -- branches and tags --------------------------------------------------------------------
def test_branches_and_tags(demo: BL) -> None:
    head = demo.json("log", "blacklake://demo/main")[0]["id"]
    init = demo.json("log", "blacklake://demo/main")[1]["id"]
    made = demo.json("branch", "create", "demo", "dev")
    assert made == {"name": "dev", "kind": "branch", "commit": head}
    demo.ok("branch", "create", "demo", "old", "--from", init[:8])
    assert demo.json("branch", "list", "demo") == [
        {"name": "dev", "kind": "branch", "commit": head},
        {"name": "main", "kind": "branch", "commit": head},
        {"name": "old", "kind": "branch", "commit": init}]
    assert demo.json("tag", "create", "demo", "v1", "dev") == \
        {"name": "v1", "kind": "tag", "commit": head}
    assert demo.json("tag", "list", "demo") == [{"name": "v1", "kind": "tag", "commit": head}]
    assert demo.ok("tag", "list", "demo").stdout.split() == ["v1", head[:12]]
    demo.fail("tag", "create", "demo", "v1", "main", code=4)
    demo.fail("branch", "create", "demo", "bad/name", code=2)
    # tags are not branches: put to a tag is refused
    demo.fail("put", str(Path(__file__)), "blacklake://demo/v1/x.py", "-m", "m", code=3)
    demo.ok("branch", "delete", "demo", "old")
    demo.json("tag", "delete", "demo", "v1")
    assert [b["name"] for b in demo.json("branch", "list", "demo")] == ["dev", "main"]
    assert demo.json("tag", "list", "demo") == []
    demo.fail("branch", "delete", "demo", "old", code=3)


# -- merge, cherry-pick, revert -----------------------------------------------------------
def test_merge_fast_forward_and_true_merge(demo: BL, tmp_path: Path) -> None:
    demo.ok("branch", "create", "demo", "dev")
    ff_src = demo.json("put", str(write(tmp_path / "x.txt", b"x")),
                       "blacklake://demo/dev/x.txt", "-m", "dev x")["commit"]
    doc = demo.json("merge", "demo", "dev", "main")
    assert doc["commit"] == ff_src and doc["created"] is False and doc["fast_forward"] is True
    assert demo.json("log", "blacklake://demo/main")[0]["id"] == ff_src
    # already merged: nothing to do
    assert demo.json("merge", "demo", "dev", "main")["created"] is False
    # diverge, then a real merge commit with two parents
    demo.ok("put", str(write(tmp_path / "y.txt", b"y")), "blacklake://demo/dev/y.txt",
            "-m", "dev y")
    demo.ok("put", str(write(tmp_path / "z.txt", b"z")), "blacklake://demo/main/z.txt",
            "-m", "main z")
    main_head = demo.json("log", "blacklake://demo/main")[0]["id"]
    dev_head = demo.json("log", "blacklake://demo/dev")[0]["id"]
    doc = demo.json("merge", "demo", "dev", "main", "-m", "bring dev in")
    assert doc["parents"] == [main_head, dev_head] and doc["fast_forward"] is False
    top = demo.json("log", "blacklake://demo/main", "-n", "1")[0]
    assert top["message"] == "bring dev in" and top["parents"] == [main_head, dev_head]
    demo.ok("put", str(write(tmp_path / "w.txt", b"w")), "blacklake://demo/dev/w.txt",
            "-m", "dev w")
    demo.ok("merge", "demo", "dev", "main", "--no-ff")
    assert messages(demo, "blacklake://demo/main", "-n", "1") == ["Merge dev into main"]
    paths = {e["path"] for e in demo.json("ls", "blacklake://demo/main")}
    assert {"w.txt", "x.txt", "y.txt", "z.txt", "data"} == paths


def test_merge_no_ff(demo: BL, tmp_path: Path) -> None:
    demo.ok("branch", "create", "demo", "dev")
    head = demo.json("log", "blacklake://demo/main")[0]["id"]
    dev = demo.json("put", str(write(tmp_path / "x.txt", b"x")), "blacklake://demo/dev/x.txt",
                    "-m", "dev x")["commit"]
    doc = demo.json("merge", "demo", "dev", "main", "--no-ff")
    assert doc["commit"] != dev and doc["parents"] == [head, dev]


def _conflict(demo: BL, tmp_path: Path) -> None:
    demo.ok("branch", "create", "demo", "dev")
    demo.ok("put", str(write(tmp_path / "dev" / "a.txt", b"dev")),
            "blacklake://demo/dev/data/a.txt", "-m", "dev a")
    demo.ok("put", str(write(tmp_path / "dev" / "b.txt", b"dev")),
            "blacklake://demo/dev/data/d/b.txt", "-m", "dev b")
    demo.ok("put", str(write(tmp_path / "main" / "a.txt", b"main")),
            "blacklake://demo/main/data/a.txt", "-m", "main a")
    demo.ok("put", str(write(tmp_path / "main" / "b.txt", b"main")),
            "blacklake://demo/main/data/d/b.txt", "-m", "main b")


def test_merge_conflict_lists_paths(demo: BL, tmp_path: Path) -> None:
    _conflict(demo, tmp_path)
    before = demo.snapshot()
    res = demo.run("merge", "demo", "dev", "main")
    assert res.exit_code == 5
    lines = res.stderr.splitlines()
    assert lines[0].startswith("blacklake: error: merge conflict")
    assert lines[1:] == ["data/a.txt", "data/d/b.txt"]
    assert res.stdout == "" and "Traceback" not in res.stderr
    res = demo.run("merge", "demo", "dev", "main", "--json")
    assert res.exit_code == 5
    assert json.loads(res.stdout) == {"conflicts": ["data/a.txt", "data/d/b.txt"]}
    assert demo.snapshot() == before


def test_merge_strategy_resolves(demo: BL, tmp_path: Path) -> None:
    _conflict(demo, tmp_path)
    demo.ok("merge", "demo", "dev", "main", "--strategy", "theirs")
    assert demo.ok("get", "blacklake://demo/main/data/a.txt", "-o", "-a").exit_code == 0
    assert (demo.work / "-a").read_bytes() == b"dev"
    demo.ok("get", "blacklake://demo/main/data/d/b.txt", "-o", "b")
    assert (demo.work / "b").read_bytes() == b"dev"


def test_merge_per_path_strategy(demo: BL, tmp_path: Path) -> None:
    _conflict(demo, tmp_path)
    # only one path covered: still a conflict naming the other
    res = demo.run("merge", "demo", "dev", "main", "--strategy", "data/d/*=theirs")
    assert res.exit_code == 5 and res.stderr.splitlines()[1:] == ["data/a.txt"]
    demo.ok("merge", "demo", "dev", "main", "--strategy", "data/d/*=theirs",
            "--strategy", "ours")
    demo.ok("get", "blacklake://demo/main/data", "-o", "out")
    assert (demo.work / "out" / "a.txt").read_bytes() == b"main"
    assert (demo.work / "out" / "d" / "b.txt").read_bytes() == b"dev"


def test_parse_strategy() -> None:
    assert parse_strategy(()) is None
    assert parse_strategy(("ours",)) == "ours"
    assert parse_strategy(("a/*=theirs", "ours")) == {"a/*": "theirs", "*": "ours"}
    for bad in (("mine",), ("=ours",), ("ours", "theirs"), ("x=both",)):
        with pytest.raises(InvalidInput):
            parse_strategy(bad)


def test_bad_strategy_is_rejected(demo: BL, tmp_path: Path) -> None:
    _conflict(demo, tmp_path)
    demo.fail("merge", "demo", "dev", "main", "--strategy", "mine", code=2)


def test_cherry_pick(demo: BL, tmp_path: Path) -> None:
    demo.ok("branch", "create", "demo", "dev")
    demo.ok("put", str(write(tmp_path / "1.txt", b"1")), "blacklake://demo/dev/one.txt",
            "-m", "one")
    two = demo.json("put", str(write(tmp_path / "2.txt", b"2")),
                    "blacklake://demo/dev/two.txt", "-m", "two")["commit"]
    main_head = demo.json("log", "blacklake://demo/main")[0]["id"]
    doc = demo.json("cherry-pick", "demo", two[:12], "main")
    assert doc["created"] is True and doc["parents"] == [main_head]
    paths = [e["path"] for e in demo.json("ls", "blacklake://demo/main")]
    assert paths == ["data", "two.txt"]
    top = demo.json("log", "blacklake://demo/main", "-n", "1")[0]
    assert top["id"] == doc["commit"] and top["message"].startswith("two")
    assert demo.json("cherry-pick", "demo", two, "main")["created"] is False


def test_revert(demo: BL, tmp_path: Path) -> None:
    change = demo.json("put", str(write(tmp_path / "a.txt", b"changed")),
                       "blacklake://demo/main/data/a.txt", "-m", "change a")["commit"]
    res = demo.ok("revert", "demo", change, "main")
    new = res.stdout.strip()
    assert len(new) == 64
    top = demo.json("log", "blacklake://demo/main", "-n", "1")[0]
    assert top["id"] == new and top["message"].startswith('Revert "change a"')
    demo.ok("get", "blacklake://demo/main/data/a.txt")
    assert (demo.work / "a.txt").read_bytes() == b"hello"


# -- maintenance --------------------------------------------------------------------------
def test_stats(demo: BL, src: Path) -> None:
    demo.ok("put", str(src / "d" / "e" / "c.bin"), "blacklake://demo/main/copy.bin", "-m", "dup")
    doc = demo.json("stats")
    assert doc["repos"] == 1 and doc["commits"] == 3
    assert doc["logical_bytes"] == 200_010
    assert doc["stored_bytes"] == 200_010  # the copy deduplicates (same file version)
    assert doc["dedup_ratio"] == 1.0 and doc["packs"] >= 1
    per_repo = demo.json("stats", "demo")
    assert per_repo["repo"] == "demo" and per_repo["logical_bytes"] == 200_010
    assert "logical_bytes: 200010" in demo.ok("stats").stdout
    demo.fail("stats", "nope", code=3)


def test_gc(demo: BL, tmp_path: Path) -> None:
    demo.ok("branch", "create", "demo", "tmp")
    demo.ok("put", str(write(tmp_path / "junk.bin", os.urandom(50_000))),
            "blacklake://demo/tmp/junk.bin", "-m", "junk")
    demo.ok("branch", "delete", "demo", "tmp")
    dry = demo.json("gc", "--grace", "0", "--dry-run")
    assert dry["dry_run"] is True and dry["objects_dropped"] > 0
    doc = demo.json("gc", "--grace", "0")
    assert doc["dry_run"] is False and doc["objects_dropped"] == dry["objects_dropped"]
    assert doc["bytes_freed"] >= 50_000
    assert demo.json("fsck")["ok"] is True
    demo.ok("get", "blacklake://demo/main/data/a.txt")
    assert (demo.work / "a.txt").read_bytes() == b"hello"
    assert "packs_scanned:" in demo.ok("gc").stdout
    demo.fail("gc", "--grace", "-1", code=2)


def test_fsck_ok_and_rebuild(demo: BL) -> None:
    res = demo.ok("fsck")
    assert res.stdout.startswith("ok: ")
    doc = demo.json("fsck", "--rebuild")
    assert doc["ok"] is True and doc["rebuilt"]["commits"] == 2
    assert messages(demo) == ["first", "Initialize repository"]


def test_fsck_reports_a_corrupt_pack(demo: BL) -> None:
    packs = sorted((demo.home / "objects" / "packs").glob("*.pack"),
                   key=lambda p: p.stat().st_size)
    biggest = packs[-1]  # holds the 200 kB file's chunks
    os.chmod(biggest, 0o644)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    biggest.write_bytes(bytes(data))
    res = demo.run("fsck", "--json")
    assert res.exit_code == 7
    doc = json.loads(res.stdout)
    assert doc["ok"] is False
    bad = {p["object"] for p in doc["problems"] if p["problem"] == "hash mismatch"}
    assert len(bad) == 1
    (obj,) = bad
    assert any(p.get("path") == "data/d/e/c.bin" for p in doc["problems"])
    human = demo.run("fsck")
    assert human.exit_code == 7 and "Traceback" not in human.stderr
    assert len(human.stderr.splitlines()) == 1
    assert human.stderr.startswith("blacklake: error: fsck found")
    out = human.stdout.splitlines()
    assert len(out) == len(doc["problems"])
    assert any(line.startswith("hash mismatch: object " + obj) for line in out)
    assert any("data/d/e/c.bin" in line for line in out)
    # reading the damaged file fails cleanly too
    res = demo.fail("get", "blacklake://demo/main/data/d/e/c.bin", code=7)
    assert not (demo.work / "c.bin").exists()


# -- bad input: one line, non-zero, nothing changed -----------------------------------------
BAD_INPUTS = [
    # (args, exit code)
    (["put", "{src}/a.txt", "blacklake://demo/main/../x", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main//etc/passwd", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/x\x00y", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "m", "--meta", "k=v\x00"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "m", "--meta", "k\x00=v"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "m", "--meta", "novalue"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "m", "--meta",
      "k=" + "v" * 4097], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "m", "--commit-meta",
      "k=" + "v" * 4097], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", ""], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt", "-m", "   "], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/a.txt"], 2),  # no -m at all
    (["put", "{src}/missing.bin", "blacklake://demo/main/a.txt", "-m", "m"], 3),
    (["put", "{src}/a.txt", "blacklake://Bad_Name/main/a.txt", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://nope/main/a.txt", "-m", "m"], 3),
    (["put", "{src}/a.txt", "blacklake://demo/nobranch/a.txt", "-m", "m"], 3),
    (["put", "{src}/a.txt", "s3://demo/main/a.txt", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://demo", "-m", "m"], 2),
    (["put", "{src}/a.txt", "blacklake://demo/main/data/a.txt/x", "-m", "m"], 2),
    (["rm", "blacklake://demo/main/../data", "-m", "m"], 2),
    (["rm", "blacklake://demo/main/data", "-m", ""], 2),
    (["ls", "blacklake://demo/unknown"], 3),
    (["ls", "blacklake://demo/main/nope"], 3),
    (["ls", "blacklake://demo/main/../../etc"], 2),
    (["get", "blacklake://demo/main/nope.txt"], 3),
    (["get", "blacklake://demo/main/../x"], 2),
    (["log", "blacklake://demo/unknown"], 3),
    (["log", "blacklake://demo/main", "-n", "-1"], 2),
    (["log", "blacklake://demo/main/data", "--path", "other"], 2),
    (["diff", "blacklake://demo/main", "blacklake://demo/nope"], 3),
    (["branch", "create", "demo", "x", "--from", "nope"], 3),
    (["branch", "create", "demo", "main"], 4),
    (["branch", "create", "Bad_Name", "x"], 2),
    (["branch", "create", "demo", "a" * 129], 2),
    (["tag", "create", "demo", "v1", "nope"], 3),
    (["merge", "demo", "nope", "main"], 3),
    (["merge", "demo", "main", "nope"], 3),
    (["merge", "demo", "v0", "main", "-m", ""], 2),
    (["cherry-pick", "demo", "deadbeefdeadbeef", "main"], 3),
    (["revert", "demo", "nope", "main"], 3),
    (["repo", "create", "x", "--max-bytes", "-5"], 2),
    (["repo", "delete", "nope"], 3),
    (["stats", "Bad_Name"], 2),
    (["frobnicate"], 2),
]


@pytest.mark.parametrize("args,code", BAD_INPUTS,
                         ids=[f"{i}-{a[0]}" for i, (a, _) in enumerate(BAD_INPUTS)])
def test_bad_input_changes_nothing(demo: BL, src: Path, args: list[str], code: int) -> None:
    demo.ok("tag", "create", "demo", "v0", "main")
    before = demo.snapshot()
    demo.fail(*[a.replace("{src}", str(src)) for a in args], code=code)
    assert demo.snapshot() == before


def test_bad_input_with_json_prints_nothing_on_stdout(demo: BL) -> None:
    res = demo.fail("ls", "blacklake://demo/main/../x", "--json", code=2)
    assert res.stdout == ""


def test_commit_prefix_rules(demo: BL) -> None:
    full = demo.json("log", "blacklake://demo/main")[0]["id"]
    res = demo.fail("ls", f"blacklake://demo/{full[:7]}", code=3)
    assert "at least 8" in res.stderr
    for n in (8, 12, 64):
        assert demo.json("log", f"blacklake://demo/{full[:n]}")[0]["id"] == full
    # upper case is not a commit prefix: take the shortest prefix >= 8 that has a letter
    # (a prefix of digits only is the same in both cases, ~2% of ids)
    n = next(i for i in range(8, 65) if not full[:i].isdigit())
    demo.fail("ls", f"blacklake://demo/{full[:n].upper()}", code=3)


def test_quota(bl: BL, src: Path) -> None:
    bl.ok("repo", "create", "small", "--max-bytes", "100")
    res = bl.fail("put", str(src), "blacklake://small/main", "-m", "too big", code=6)
    assert "quota" in res.stderr
    assert messages(bl, "blacklake://small/main") == ["Initialize repository"]
    bl.ok("put", str(src / "a.txt"), "blacklake://small/main", "-m", "fits")


def test_error_messages_stay_on_one_line(demo: BL) -> None:
    # a control character in a path is bad input (exit 2); the message names it escaped
    res = demo.fail("ls", "blacklake://demo/main/a\nb", code=2)
    assert "a\\nb" in res.stderr and "U+000A" in res.stderr


# -- failure modes of the process ---------------------------------------------------------
def test_keyboard_interrupt(demo: BL, src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml.service.repo import Repo

    def interrupted(*_a: Any, **_k: Any) -> None:
        raise KeyboardInterrupt

    before = demo.snapshot()
    monkeypatch.setattr(Repo, "put", interrupted)
    res = demo.run("put", str(src), "blacklake://demo/main/x", "-m", "m")
    assert res.exit_code == 130
    assert res.stderr == "blacklake: cancelled; nothing was committed\n"
    monkeypatch.undo()
    assert demo.snapshot() == before


def test_unexpected_error(demo: BL, monkeypatch: pytest.MonkeyPatch) -> None:
    from blacklake_ml.service.repo import Repo

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Repo, "ls", broken)
    res = demo.run("ls", "blacklake://demo/main")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "blacklake: error: unexpected RuntimeError: boom (set BLACKLAKE_DEBUG=1 for a traceback)"]
    res = demo.run("ls", "blacklake://demo/main", env={"BLACKLAKE_DEBUG": "1"})
    assert res.exit_code == 1
    assert "Traceback" in res.stderr and "RuntimeError: boom" in res.stderr
    assert res.stderr.splitlines()[-1] == "blacklake: error: unexpected RuntimeError: boom"


def test_local_os_error_is_one_line(demo: BL, tmp_path: Path) -> None:
    blocker = write(tmp_path / "file", b"x")
    res = demo.fail("get", "blacklake://demo/main/data/a.txt", "-o", str(blocker / "a.txt"))
    assert "Not a directory" in res.stderr or "exists" in res.stderr


def test_every_read_command_prints_one_json_document(demo: BL) -> None:
    demo.ok("tag", "create", "demo", "v1", "main")
    for args in (["init"], ["repo", "list"], ["ls", "blacklake://demo/main"],
                 ["log", "blacklake://demo/main"],
                 ["diff", "blacklake://demo/v1", "blacklake://demo/main"],
                 ["branch", "list", "demo"], ["tag", "list", "demo"], ["stats"],
                 ["stats", "demo"], ["fsck"], ["gc", "--dry-run"]):
        res = demo.ok(*args, "--json")
        json.loads(res.stdout)  # exactly one document: extra output would not parse
        assert res.stderr == ""


def test_quiet_and_help(bl: BL) -> None:
    res = bl.ok("--help")
    for cmd in ("init", "repo", "put", "get", "rm", "checkout", "ls", "log", "diff", "branch",
                "tag", "merge", "cherry-pick", "revert", "stats", "gc", "fsck", "lab"):
        assert f"  {cmd} " in res.stdout
    assert bl.ok("--version").stdout.strip().endswith("0.1.0")
    bl.ok("-q", "init")


def test_rich_progress_renders() -> None:
    import io

    from rich.console import Console

    from blacklake_ml.cli.progress import RichProgress

    buf = io.StringIO()
    p = RichProgress(Console(file=buf, force_terminal=True, width=100))
    p.start(1000, "B", "storing 1 files")
    p.advance(500)
    p.advance(500)
    p.start(3, "packs", "scanning packs")  # a new phase closes the previous one
    p.advance(3)
    p.finish()
    p.finish()
    p.advance(1)  # after finish: ignored
    assert "storing 1 files" in buf.getvalue() or "scanning" in buf.getvalue()


# -- the real console script --------------------------------------------------------------
def _script() -> list[str]:
    exe = Path(sys.executable).parent / "blacklake"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("blacklake")
    return [found] if found else [sys.executable, "-m", "blacklake_ml.cli.main"]


def _proc(home: Path, *args: str, cmd: list[str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAR}
    env.update(BLACKLAKE_HOME=str(home), BLACKLAKE_FSYNC="0", BLACKLAKE_AUTHOR="proc")
    return subprocess.run([*(cmd or _script()), *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_subprocess_round_trip(tmp_path: Path, src: Path) -> None:
    home = tmp_path / "home"
    r = _proc(home, "init", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["home"] == str(home)
    assert _proc(home, "repo", "create", "demo").returncode == 0
    r = _proc(home, "put", str(src), "blacklake://demo/main/data", "-m", "first", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # not a TTY: no progress bar
    commit = json.loads(r.stdout)["commit"]
    out = tmp_path / "out.bin"
    r = _proc(home, "get", f"blacklake://demo/{commit[:8]}/data/d/e/c.bin", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (src / "d" / "e" / "c.bin").read_bytes()
    r = _proc(home, "log", "blacklake://demo/main", "--json",
              cmd=[sys.executable, "-m", "blacklake_ml.cli.main"])
    assert [c["author"] for c in json.loads(r.stdout)] == ["proc", "proc"]


def test_subprocess_errors_have_no_traceback(tmp_path: Path, src: Path) -> None:
    home = tmp_path / "home"
    _proc(home, "repo", "create", "demo")
    for args, code in ((["put", str(src), "blacklake://demo/main/../x", "-m", "m"], 2),
                       (["ls", "blacklake://demo/nope"], 3),
                       (["put", str(src)], 2),
                       (["checkout", "blacklake://demo/main", str(src)], 4)):
        r = _proc(home, *args)
        assert r.returncode == code, (args, r.stderr)
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("blacklake: error: ")


def test_help_does_not_import_the_service_layer() -> None:
    code = ("import sys; from blacklake_ml.cli.main import cli; "
            "print(sorted(m for m in ('sqlalchemy', 'rich', 'blacklake_ml.service.store') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_ctrl_c_during_put_commits_nothing(tmp_path: Path) -> None:
    """A real SIGINT in the middle of a large put: exit 130, one line, store unchanged."""
    home = tmp_path / "home"
    assert _proc(home, "repo", "create", "demo").returncode == 0
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        for _ in range(24):
            f.write(os.urandom(16 << 20))  # 384 MiB: several seconds of work
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAR}
    env.update(BLACKLAKE_HOME=str(home), BLACKLAKE_FSYNC="0")
    proc = subprocess.Popen([*_script(), "put", str(big), "blacklake://demo/main/big.bin",
                             "-m", "big"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Interrupt while the ingest is writing: once its first pack's temp file exists, most
    # of the 384 MiB is still ahead (a fixed delay raced the put's end on a fast machine,
    # and a signal during interpreter teardown is the default action, not ours).
    packs = home / "objects" / "packs"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if packs.is_dir() and any(p.name.startswith(".tmp-") for p in packs.iterdir()):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the put finished before the signal arrived (very fast machine)")
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["blacklake: cancelled; nothing was committed"]
    assert "Traceback" not in err
    log = json.loads(_proc(home, "log", "blacklake://demo/main", "--json").stdout)
    assert [c["message"] for c in log] == ["Initialize repository"]
    r = _proc(home, "fsck", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"], r.stdout


def test_scan_and_ls_show_safety(bl: BL, tmp_path: Path) -> None:
    """`blacklake scan` (local paths and stored URIs) and `ls --json` agree on a verdict;
    exit 0 only when every file is safe."""
    import pickle

    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    odd = tmp_path / "blob.dat"
    odd.write_bytes(bytes(range(256)) * 4)
    doc = bl.json("scan", str(good))
    assert doc["verdict"] == "safe" and doc["files"][0]["format"] == "pickle"
    res = bl.run("scan", str(evil), str(good), str(odd), "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    by = {Path(f["path"]).name: f for f in doc["files"]}
    assert doc["verdict"] == "unsafe"
    assert by["evil.pkl"]["verdict"] == "unsafe" and "os.system" in by["evil.pkl"]["reasons"][0]
    assert by["blob.dat"]["verdict"] == "unknown"  # unknown is never presented as safe
    bl.ok("repo", "create", "sec")
    bl.ok("put", str(tmp_path), "blacklake://sec/main/in", "-m", "files")
    entries = {e["path"]: e for e in bl.json("ls", "blacklake://sec/main/in")}
    assert entries["in/evil.pkl"]["safety"] == "unsafe"
    assert entries["in/good.pkl"]["safety"] == "safe"
    assert entries["in/blob.dat"]["safety"] == "unknown"
    res = bl.run("scan", "blacklake://sec/main/in", "--json")
    assert res.exit_code == 1
    stored = {Path(f["path"]).name: f["verdict"] for f in json.loads(res.stdout)["files"]}
    assert stored == {"evil.pkl": "unsafe", "good.pkl": "safe", "blob.dat": "unknown"}
    missing = bl.fail("scan", str(tmp_path / "nope"), code=3)
    assert "no such file" in missing.stderr
