"""Bad input gets the right error class and changes nothing (local disk + SQLite store).

Each case runs one call with one bad argument against a populated repository and checks the
exception class (the most specific one from ``blacklake_ml.errors``), then that every
repository, ref, commit and file listing is exactly as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import snapshot, store_state, write

import blacklake_ml as bl
from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.errors import (
    BlacklakeError,
    InvalidInput,
    InvalidMessage,
    InvalidMetadata,
    InvalidName,
    InvalidPath,
    InvalidURI,
    PathNotFound,
    RefNotFound,
    RepoNotFound,
)
from blacklake_ml.service.repo import Repo
from blacklake_ml.service.store import Store


class Env:
    """A store with repository ``demo`` (main, dev, tag v1) and a local scratch directory."""

    def __init__(self, store: Store, repo: Repo, tmp: Path) -> None:
        self.store = store
        self.repo = repo
        self.tmp = tmp
        self.file = write(tmp / "local" / "f.txt", b"local file")
        self.dir = tmp / "local" / "dir"
        write(self.dir / "x.txt", b"x")


@pytest.fixture
def env(tmp_path: Path) -> Any:
    store = Store.open(tmp_path / "home")
    repo = store.create_repo("demo")
    with repo.transaction("main", "base") as tx:
        tx.put_bytes(b"a", "a.txt")
        tx.put_bytes(b"b", "dir/b.txt")
    repo.create_branch("dev")
    repo.create_tag("v1", "main")
    try:
        yield Env(store, repo, tmp_path)
    finally:
        store.close()


def state(e: Env) -> Any:
    return (store_state(e.store), snapshot(e.repo, "main"), snapshot(e.repo, "dev"),
            e.repo.resolve("v1"))


def check(e: Env, exc: type[BlacklakeError], action: Callable[[], object]) -> None:
    before = state(e)
    with pytest.raises(exc):
        action()
    assert state(e) == before
    assert e.store.fsck()["ok"]


# -- paths ----------------------------------------------------------------------------------
BAD_PATHS = {
    "parent": "../x",
    "escape-after-descent": "a/../../x",
    "dot-dot-at-end": "dir/..",
    "dot-segment": "./x",
    "absolute": "/etc/passwd",
    "windows-drive": "C:\\x",
    "windows-drive-slash": "C:/x",
    "unc": "\\\\server\\share",
    "backslash-segment": "dir\\..\\..\\x",
    "nul": "a\x00b",
    "too-long": "a/" * 2048 + "b",  # 4097 bytes
    "too-long-multibyte": "é" * 2049,  # 2049 characters, 4098 bytes
    # control characters (issue 10): a CR/LF forges output and log lines, ESC drives terminals
    "newline": "dir/a\nb.txt",
    "carriage-return": "a\rb",
    "crlf-segment": "x/\r\n/y",
    "tab": "a\tb",
    "escape": "a\x1b[2Jb",
    "unit-separator": "a\x1fb",
    "delete": "a\x7fb",
    # one segment over 255 bytes could be committed but never checked out
    "segment-too-long": "dir/" + "s" * 256,
    "segment-too-long-multibyte": "é" * 128,  # 128 characters, 256 bytes
}


@pytest.mark.parametrize("path", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_bad_paths_are_rejected_everywhere(env: Env, path: str) -> None:
    r = env.repo
    check(env, InvalidPath, lambda: r.put_bytes(b"evil", path, message="m"))
    check(env, InvalidPath, lambda: r.put(env.file, path, message="m"))
    check(env, InvalidPath, lambda: r.put(env.dir, path, message="m"))
    check(env, InvalidPath, lambda: r.rm(path, message="m"))
    check(env, InvalidPath, lambda: r.ls("main", path))
    check(env, InvalidPath, lambda: r.entry("main", path))
    check(env, InvalidPath, lambda: r.open("main", path))
    check(env, InvalidPath, lambda: r.get("main", path, env.tmp / "out"))
    check(env, InvalidPath, lambda: r.checkout("main", env.tmp / "co", path=path))
    check(env, InvalidPath, lambda: r.log("main", path=path))
    check(env, InvalidPath, lambda: r.diff("main", "dev", path=path))

    def in_transaction() -> None:
        with r.transaction("main", "m") as tx:
            tx.put_bytes(b"fine", "fine.txt")
            tx.put_bytes(b"evil", path)

    check(env, InvalidPath, in_transaction)
    assert not (env.tmp / "x").exists() and not (env.tmp / "out").exists()


def test_path_limits_are_exact(env: Env) -> None:
    """4096 bytes is allowed, 4097 is not; empty segments are normalised away."""
    segs = ["x" * 200] * 20
    path = "/".join(segs)
    path = path + "/" + "y" * (4096 - len(path) - 1)
    assert len(path.encode()) == 4096
    env.repo.put_bytes(b"deep", path, message="longest path")
    assert env.repo.read_bytes("main", path) == b"deep"
    check(env, InvalidPath, lambda: env.repo.put_bytes(b"deep", path + "z", message="m"))
    env.repo.put_bytes(b"n", "n1//n2/", message="normalised")
    assert env.repo.read_bytes("main", "n1/n2") == b"n"
    check(env, InvalidPath, lambda: env.repo.put_bytes(b"root", "///", message="m"))
    check(env, InvalidPath, lambda: env.repo.put_bytes(b"root", "", message="m"))


def test_segment_limit_is_exact_and_checks_out(env: Env) -> None:
    """255 bytes per segment (UTF-8) is allowed and can be checked out; 256 is not."""
    longest = "s" * 255
    multibyte = "é" * 127 + "x"  # 255 bytes
    env.repo.put_bytes(b"ok", f"{longest}/{multibyte}", message="longest segments")
    out = env.tmp / "co"
    env.repo.checkout("main", out)
    assert (out / longest / multibyte).read_bytes() == b"ok"
    check(env, InvalidPath, lambda: env.repo.put_bytes(b"x", "s" * 256, message="m"))
    check(env, InvalidPath, lambda: env.repo.put_bytes(b"x", "é" * 127 + "xy", message="m"))


def test_control_characters_in_local_file_names_commit_nothing(env: Env) -> None:
    """A directory holding a file whose name has a newline: the put names it and stores
    nothing, not even the good files next to it."""
    bad_dir = env.tmp / "with-bad-name"
    write(bad_dir / "good.txt", b"good")
    write(bad_dir / "bad\nname.txt", b"bad")
    with pytest.raises(InvalidPath, match=r"control character U\+000A") as info:
        env.repo.put(bad_dir, "d", message="m")
    assert "\n" not in str(info.value)  # the message stays one line
    check(env, InvalidPath, lambda: env.repo.put(bad_dir, "d", message="m"))


def test_control_character_errors_are_one_line(env: Env) -> None:
    for action in (lambda: env.repo.put_bytes(b"x", "a\r\nb", message="m"),
                   lambda: env.repo.create_branch("x\ny"),
                   lambda: env.repo.put_bytes(b"x", "x", message="m", meta={"k\n": "v"})):
        with pytest.raises(InvalidInput) as info:
            action()
        text = str(info.value)
        assert "\n" not in text and "\r" not in text and "control character" in text


def test_put_below_an_existing_file_is_rejected(env: Env) -> None:
    r = env.repo
    check(env, InvalidPath, lambda: r.put_bytes(b"x", "a.txt/b", message="m"))
    check(env, InvalidPath, lambda: r.put(env.file, "a.txt/b", message="m"))
    check(env, InvalidPath, lambda: r.put(env.dir, "a.txt", message="m"))
    check(env, InvalidPath, lambda: r.put_bytes(b"x", "dir", message="file over directory"))

    def both_in_one_commit() -> None:
        with r.transaction("main", "m") as tx:
            tx.put_bytes(b"1", "new")
            tx.put_bytes(b"2", "new/below")

    check(env, InvalidPath, both_in_one_commit)


def test_missing_local_files(env: Env) -> None:
    r = env.repo
    check(env, PathNotFound, lambda: r.put(env.tmp / "nope.bin", "x", message="m"))
    check(env, PathNotFound, lambda: r.put(env.tmp / "nodir", "", message="m"))

    def staged() -> None:
        with r.transaction("main", "m") as tx:
            tx.put_file(env.tmp / "nope.bin", "x")

    check(env, PathNotFound, staged)

    def vanished_before_commit() -> None:
        victim = write(env.tmp / "vanishing.bin", b"soon gone")
        tx = r.transaction("main", "m")
        tx.put_file(victim, "v.bin")
        os.unlink(victim)
        tx.commit()

    check(env, PathNotFound, vanished_before_commit)


# -- names ----------------------------------------------------------------------------------
BAD_REPO_NAMES = ["Bad", "-x", "a/b", "x" * 64, "", ".hidden", "a b", "ü", "a\x00"]


@pytest.mark.parametrize("name", BAD_REPO_NAMES)
def test_bad_repo_names(env: Env, name: str) -> None:
    s = env.store
    check(env, InvalidName, lambda: s.create_repo(name))
    check(env, InvalidName, lambda: s.repo(name))
    check(env, InvalidName, lambda: s.delete_repo(name))


def test_good_repo_name_limits(env: Env) -> None:
    env.store.create_repo("x" * 63)
    env.store.create_repo("0.a_b-c")
    assert {r.name for r in env.store.list_repos()} == {"demo", "x" * 63, "0.a_b-c"}


BAD_REF_NAMES = ["a/b", "..", ".", "x" * 129, "", "a b", "a\x00", "a:b", "a~1", "a^",
                 "a\nb", "main\n", "a\rb", "a\tb", "\x1b[31m", "a\x7f", "a\x01"]


@pytest.mark.parametrize("name", BAD_REF_NAMES)
def test_bad_branch_and_tag_names(env: Env, name: str) -> None:
    r = env.repo
    check(env, InvalidName, lambda: r.create_branch(name))
    check(env, InvalidName, lambda: r.create_tag(name, "main"))
    check(env, InvalidName, lambda: r.delete_branch(name))
    check(env, InvalidName, lambda: r.delete_tag(name))
    check(env, InvalidName, lambda: r.put_bytes(b"x", "x", branch=name, message="m"))
    check(env, InvalidName, lambda: r.create_branch("ok", from_ref=name))
    check(env, InvalidName, lambda: r.merge(name, "main"))
    check(env, InvalidName, lambda: r.merge("dev", name))
    check(env, InvalidName, lambda: r.cherry_pick(name, "main"))
    check(env, InvalidName, lambda: r.cherry_pick("dev", name))
    check(env, InvalidName, lambda: r.revert(name, "main"))
    check(env, InvalidName, lambda: r.revert("main", name))

    def in_transaction() -> None:
        with r.transaction(name, "m") as tx:
            tx.put_bytes(b"x", "x")

    check(env, InvalidName, in_transaction)


def test_good_ref_name_limits(env: Env) -> None:
    env.repo.create_branch("x" * 128)
    env.repo.create_tag("v1.0-rc_1", "main")
    assert "x" * 128 in {b.name for b in env.repo.branches()}


def test_unknown_refs_and_repos(env: Env) -> None:
    r, s = env.repo, env.store
    check(env, RefNotFound, lambda: r.put_bytes(b"x", "x", branch="nope", message="m"))
    check(env, RefNotFound, lambda: r.ls("nope"))
    check(env, RefNotFound, lambda: r.log("nope"))
    check(env, RefNotFound, lambda: r.create_branch("new", from_ref="nope"))
    check(env, RefNotFound, lambda: r.create_tag("new", "nope"))
    check(env, RefNotFound, lambda: r.delete_branch("nope"))
    check(env, RefNotFound, lambda: r.merge("nope", "main"))
    check(env, RefNotFound, lambda: r.merge("dev", "nope"))
    check(env, RefNotFound, lambda: r.cherry_pick("deadbeefdeadbeef", "main"))
    check(env, RefNotFound, lambda: r.revert("main", "nope"))
    check(env, RefNotFound, lambda: r.resolve("0123456"))  # 7 hex chars: never a prefix
    check(env, RepoNotFound, lambda: s.repo("nope"))
    check(env, RepoNotFound, lambda: s.delete_repo("nope"))
    check(env, RepoNotFound, lambda: s.stats("nope"))
    check(env, RepoNotFound, lambda: bl.open("blacklake://nope/main/a.txt", store=s))
    check(env, PathNotFound, lambda: r.ls("main", "nope"))
    check(env, PathNotFound, lambda: r.read_bytes("main", "dir"))


# -- metadata and messages ------------------------------------------------------------------
BAD_META: dict[str, Any] = {
    "value-too-long": {"k": "v" * 4097},
    "too-many-keys": {f"k{i}": "v" for i in range(257)},
    "too-large-in-total": {f"k{i}": "v" * 4000 for i in range(20)},
    "nul-in-value": {"k": "a\x00b"},
    "nul-in-key": {"k\x00": "v"},
    "empty-key": {"": "v"},
    "equals-in-key": {"a=b": "v"},
    "key-too-long": {"k" * 129: "v"},
    "newline-in-key": {"a\nb": "v"},
    "cr-in-key": {"a\r": "v"},
    "tab-in-key": {"a\tb": "v"},
    "escape-in-key": {"\x1b[31mred": "v"},
    "delete-in-key": {"a\x7f": "v"},
    "list-value": {"k": ["a", "b"]},
    "dict-value": {"k": {"nested": "x"}},
    "none-value": {"k": None},
    "bytes-value": {"k": b"v"},
    "int-key": {1: "v"},
    "not-a-mapping": [("k", "v")],
}


@pytest.mark.parametrize("meta", list(BAD_META.values()), ids=list(BAD_META))
def test_bad_metadata(env: Env, meta: Any) -> None:
    r = env.repo
    check(env, InvalidMetadata, lambda: r.put_bytes(b"x", "x", message="m", meta=meta))
    check(env, InvalidMetadata, lambda: r.put(env.file, "x", message="m", meta=meta))
    check(env, InvalidMetadata, lambda: r.put(env.dir, "d", message="m", meta=meta))
    check(env, InvalidMetadata,
          lambda: r.put_bytes(b"x", "x", message="m", commit_meta=meta))
    check(env, InvalidMetadata, lambda: r.merge("dev", "main", no_ff=True, meta=meta))
    check(env, InvalidMetadata, lambda: r.transaction("main", "m", meta=meta))

    def staged() -> None:
        with r.transaction("main", "m") as tx:
            tx.put_bytes(b"fine", "fine.txt")
            tx.put_bytes(b"x", "x", meta)

    check(env, InvalidMetadata, staged)


def test_metadata_values_may_span_lines(env: Env) -> None:
    """Only keys refuse control characters: a value may be a multi-line description."""
    env.repo.put_bytes(b"x", "x", message="m", meta={"description": "line 1\nline 2\tend"})
    assert env.repo.entry("main", "x").meta["description"] == "line 1\nline 2\tend"


def test_metadata_limits_are_exact(env: Env) -> None:
    meta: dict[str, Any] = {f"k{i}": "v" for i in range(256)}
    meta.update(k0="v" * 4096, flag=True, n=3, x=1.5)
    meta.pop("k1"), meta.pop("k2"), meta.pop("k3")
    assert len(meta) == 256
    env.repo.put_bytes(b"x", "x", message="m", meta=meta)
    got = env.repo.entry("main", "x").meta
    assert got["k0"] == "v" * 4096 and got["flag"] == "true" and got["n"] == "3"


BAD_MESSAGES = {"empty": "", "blank": "   \n\t ", "nul": "a\x00b", "too-long": "m" * 16385,
                "not-a-string": b"bytes"}


@pytest.mark.parametrize("message", list(BAD_MESSAGES.values()), ids=list(BAD_MESSAGES))
def test_bad_commit_messages(env: Env, message: Any) -> None:
    r = env.repo
    check(env, InvalidMessage, lambda: r.put_bytes(b"x", "x", message=message))
    check(env, InvalidMessage, lambda: r.put(env.file, "x", message=message))
    check(env, InvalidMessage, lambda: r.rm("a.txt", message=message))
    check(env, InvalidMessage, lambda: r.transaction("main", message))
    check(env, InvalidMessage, lambda: r.merge("dev", "main", no_ff=True, message=message))
    check(env, InvalidMessage, lambda: r.revert("main", "main", message=message))


def test_other_bad_arguments(env: Env) -> None:
    r, s = env.repo, env.store
    check(env, InvalidInput, lambda: s.create_repo("new", "d" * 4097))
    check(env, InvalidInput, lambda: s.create_repo("new", max_bytes=-1))
    check(env, InvalidInput, lambda: r.set_quota(max_files=-1))
    check(env, InvalidInput, lambda: r.log("main", limit=-1))
    check(env, InvalidInput, lambda: r.merge("dev", "main", strategy="both"))
    check(env, InvalidInput, lambda: r.checkout("main", env.tmp / "co", path="a.txt"))
    check(env, InvalidInput, lambda: r.checkout("main", env.file, force=True))
    assert env.file.read_bytes() == b"local file"


# -- checkout never writes outside the target -----------------------------------------------
def test_checkout_refuses_to_write_through_a_planted_directory_symlink(env: Env) -> None:
    r = env.repo
    r.put_bytes(b"payload", "data/x", message="data")
    outside = env.tmp / "outside"
    outside.mkdir()
    target = env.tmp / "target"
    target.mkdir()
    (target / "data").symlink_to(outside, target_is_directory=True)
    check(env, InvalidPath, lambda: r.checkout("main", target, force=True))
    assert list(outside.iterdir()) == []
    # Deeper: the link is a subdirectory of a directory in the tree.
    r.put_bytes(b"payload", "deep/er/y", message="deep")
    (target / "deep").mkdir()
    (target / "deep" / "er").symlink_to(outside, target_is_directory=True)
    check(env, InvalidPath, lambda: r.get("main", "deep", target / "deep"))
    assert list(outside.iterdir()) == []
    # Via get of a directory too.
    check(env, InvalidPath, lambda: r.get("main", "", target))
    assert list(outside.iterdir()) == []


def test_checkout_replaces_a_planted_file_symlink_instead_of_following_it(env: Env) -> None:
    outside = env.tmp / "outside"
    secret = write(outside / "secret.txt", b"do not overwrite")
    target = env.tmp / "target"
    target.mkdir()
    (target / "a.txt").symlink_to(secret)
    env.repo.checkout("main", target, force=True)
    assert secret.read_bytes() == b"do not overwrite"
    assert not (target / "a.txt").is_symlink()
    assert (target / "a.txt").read_bytes() == b"a"


# -- URIs -----------------------------------------------------------------------------------
BAD_URIS = {
    "other-scheme": ("s3://x", InvalidURI),
    "no-scheme": ("demo/main/a.txt", InvalidURI),
    "no-repo": ("blacklake://", InvalidURI),
    "no-ref": ("blacklake://demo", InvalidURI),
    "empty-ref": ("blacklake://demo/", InvalidURI),
    "query": ("blacklake://demo/main/a.txt?version=2", InvalidURI),
    "fragment": ("blacklake://demo/main/a.txt#x", InvalidURI),
    "query-on-repo": ("blacklake://demo?x=1", InvalidURI),
    "bad-repo": ("blacklake://Demo/main/a.txt", InvalidName),
    "traversal": ("blacklake://demo/main/../../etc/passwd", InvalidPath),
    "nul": ("blacklake://demo/main/a\x00.txt", InvalidPath),
    "bad-ref": ("blacklake://demo/ma:in/a.txt", InvalidName),
}


@pytest.mark.parametrize("uri,exc", list(BAD_URIS.values()), ids=list(BAD_URIS))
def test_bad_uris(env: Env, uri: str, exc: type[BlacklakeError]) -> None:
    s = env.store
    if exc is not InvalidName or "ma:in" not in uri:  # a ref is only checked on resolve
        check(env, exc, lambda: BlacklakeURI.parse(uri))
    check(env, exc, lambda: s.resolve_uri(uri))
    check(env, exc, lambda: s.open_uri(uri))
    check(env, exc, lambda: bl.open(uri, store=s))


def test_good_uris(env: Env) -> None:
    s = env.store
    head = env.repo.resolve("main")
    for uri in ("blacklake://demo/main/a.txt", "blacklake://demo/v1/a.txt",
                f"blacklake://demo/{head}/a.txt", f"blacklake://demo/{head[:8]}/a.txt",
                "blacklake://demo/main/a.txt/"):
        with bl.open(uri, store=s) as f:
            assert f.read() == b"a"
    assert str(BlacklakeURI.parse("blacklake://demo/main/dir/")) == "blacklake://demo/main/dir"
