"""``put DIR`` and symlinks (issue 10): a link out of the tree is refused unless following was
asked for; links inside are stored as their targets; loops end. Python API and CLI.

Every refusal is checked to change nothing (same refs, commits and listings as before) and,
for the outside case, that the outside file's bytes are nowhere in the store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cli_error, run_cli, snapshot, store_state, write

from blacklake_ml.errors import InvalidInput, UnsafeSymlink
from blacklake_ml.service import localtree
from blacklake_ml.service.repo import Repo
from blacklake_ml.service.store import Store

SECRET = b"host secret: not for the repository\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    st = Store.open(home)
    st.create_repo("demo")
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def repo(store: Store) -> Repo:
    return store.repo("demo")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file and a directory outside the tree that is put."""
    write(tmp_path / "outside" / "secret.txt", SECRET)
    write(tmp_path / "outside" / "dir" / "inner.txt", SECRET)
    return tmp_path / "outside"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A model folder with one ordinary file."""
    write(tmp_path / "model" / "weights.bin", b"weights")
    return tmp_path / "model"


def files(repo: Repo, branch: str = "main") -> dict[str, bytes]:
    return {e["path"]: repo.read_bytes(branch, e["path"])
            for e in repo.ls(branch, recursive=True) if e["kind"] == "file"}


def refused(store: Store, repo: Repo, action: object, match: str) -> UnsafeSymlink:
    """Run ``action``; it must raise UnsafeSymlink matching ``match`` and change nothing."""
    before = (store_state(store), snapshot(repo))
    with pytest.raises(UnsafeSymlink, match=match) as info:
        action()  # type: ignore[operator]
    assert (store_state(store), snapshot(repo)) == before
    assert "\n" not in str(info.value)
    return info.value


# -- links out of the tree ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["file", "dir", "dangling", "relative-chain", "below-dir-link"])
def test_a_link_out_of_the_tree_is_refused(store: Store, repo: Repo, tree: Path,
                                           outside: Path, kind: str) -> None:
    if kind == "file":
        link = tree / "hostname"
        link.symlink_to(outside / "secret.txt")
    elif kind == "dir":
        link = tree / "aws"
        link.symlink_to(outside / "dir", target_is_directory=True)
    elif kind == "dangling":  # whether it exists must not decide what happens
        link = tree / "later"
        link.symlink_to(outside / "not-yet-there")
    elif kind == "relative-chain":  # inside -> inside -> out: the resolved target counts
        (tree / "hop2").symlink_to(os.path.relpath(outside / "secret.txt", tree))
        link = tree / "hop1"
        link.symlink_to("hop2")
    else:  # a link inside a directory reached through an inside link
        write(tree / "real" / "ok.txt", b"ok")
        (tree / "alias").symlink_to("real", target_is_directory=True)
        (tree / "real" / "escape").symlink_to(outside / "secret.txt")
        link = tree / "alias" / "escape"
    err = refused(store, repo, lambda: repo.put(tree, "m", message="put"), "outside")
    assert link.name in str(err) and "--follow-symlinks" in str(err)
    assert SECRET not in b"".join(files(repo).values())


def test_follow_symlinks_stores_what_the_links_point_to(repo: Repo, tree: Path,
                                                        outside: Path) -> None:
    (tree / "hostname").symlink_to(outside / "secret.txt")
    (tree / "aws").symlink_to(outside / "dir", target_is_directory=True)
    repo.put(tree, "m", message="put", follow_symlinks=True)
    assert files(repo) == {"m/weights.bin": b"weights", "m/hostname": SECRET,
                           "m/aws/inner.txt": SECRET}


def test_the_directory_argument_itself_may_be_a_link(repo: Repo, tree: Path,
                                                     tmp_path: Path) -> None:
    (tmp_path / "current").symlink_to(tree, target_is_directory=True)
    (tree / "alias.bin").symlink_to("weights.bin")  # inside the resolved tree
    repo.put(tmp_path / "current", "m", message="put")
    assert files(repo) == {"m/weights.bin": b"weights", "m/alias.bin": b"weights"}


# -- links inside the tree --------------------------------------------------------------------
def test_links_inside_the_tree_are_stored_as_their_targets(repo: Repo, tree: Path) -> None:
    write(tree / "shards" / "0.bin", b"shard0")
    (tree / "latest.bin").symlink_to("weights.bin")
    (tree / "shards-alias").symlink_to("shards", target_is_directory=True)
    (tree / "shards" / "up.bin").symlink_to("../weights.bin")
    (tree / "dangling").symlink_to("nowhere")  # inside, leads nowhere: skipped
    os.mkfifo(tree / "pipe")  # not a file: skipped (reading it would block)
    repo.put(tree, "", message="put")
    assert files(repo) == {
        "weights.bin": b"weights", "latest.bin": b"weights",
        "shards/0.bin": b"shard0", "shards/up.bin": b"weights",
        "shards-alias/0.bin": b"shard0", "shards-alias/up.bin": b"weights"}
    assert not any(e["path"].startswith(("dangling", "pipe"))
                   for e in repo.ls("main", recursive=True))


def test_files_are_read_from_the_resolved_target(tree: Path) -> None:
    """The staged source is the link's target as checked, not the link (a retargeted link
    cannot redirect the read)."""
    (tree / "latest.bin").symlink_to("weights.bin")
    found = {f.rel: f.path for f in localtree.scan_dir(str(tree))}
    assert found["latest.bin"] == os.path.realpath(tree / "weights.bin")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["parent", "self", "mutual", "deep"])
def test_symlink_loops_are_refused_not_followed_forever(store: Store, repo: Repo, tree: Path,
                                                        kind: str) -> None:
    if kind == "parent":
        (tree / "sub").mkdir()
        (tree / "sub" / "up").symlink_to("..", target_is_directory=True)
    elif kind == "self":
        (tree / "me").symlink_to(".", target_is_directory=True)
    elif kind == "mutual":
        (tree / "a").mkdir()
        (tree / "b").mkdir()
        (tree / "a" / "to-b").symlink_to("../b", target_is_directory=True)
        (tree / "b" / "to-a").symlink_to("../a", target_is_directory=True)
    else:
        write(tree / "x" / "y" / "z" / "f", b"f")
        (tree / "x" / "y" / "z" / "back").symlink_to("../../..", target_is_directory=True)
    refused(store, repo, lambda: repo.put(tree, "m", message="put"), "loop")
    refused(store, repo, lambda: repo.put(tree, "m", message="put", follow_symlinks=True),
            "loop")


@pytest.mark.timeout(60)
def test_a_lattice_of_links_cannot_explode_the_walk(store: Store, repo: Repo,
                                                    tree: Path) -> None:
    """Two links per level to the next level: 2**20 paths without a cap."""
    levels = 20
    for i in range(levels):
        (tree / f"l{i}").mkdir()
    write(tree / f"l{levels - 1}" / "leaf", b"leaf")
    for i in range(levels - 1):
        for name in ("a", "b"):
            (tree / f"l{i}" / name).symlink_to(f"../l{i + 1}", target_is_directory=True)
    refused(store, repo, lambda: repo.put(tree, "m", message="put"), "more than")


def test_symlink_loops_and_links_out_in_a_transaction(store: Store, repo: Repo, tree: Path,
                                                      outside: Path) -> None:
    """Transaction.put_dir applies the same rule, and a refused directory stages nothing."""
    (tree / "hostname").symlink_to(outside / "secret.txt")

    def staged() -> None:
        with repo.transaction("main", "m") as tx:
            tx.put_bytes(b"fine", "fine.txt")
            tx.put_dir(tree, "m")

    refused(store, repo, staged, "outside")
    tx = repo.transaction("main", "m")
    with pytest.raises(UnsafeSymlink):
        tx.put_dir(tree, "m")
    tx.put_bytes(b"fine", "fine.txt")
    tx.commit()
    assert files(repo) == {"fine.txt": b"fine"}
    with repo.transaction("main", "m") as tx:
        assert tx.put_dir(tree, "m", follow_symlinks=True) == 2
    assert files(repo)["m/hostname"] == SECRET


def test_unsafe_symlink_is_bad_input() -> None:
    assert issubclass(UnsafeSymlink, InvalidInput) and UnsafeSymlink.exit_code == 2


# -- the command line ---------------------------------------------------------------------------
def test_cli_put_refuses_a_link_out_and_commits_nothing(home: Path, store: Store, repo: Repo,
                                                        tree: Path, outside: Path) -> None:
    (tree / "hostname").symlink_to(outside / "secret.txt")
    before = (store_state(store), snapshot(repo))
    res = run_cli(home, "put", str(tree), "blacklake://demo/main/m", "-m", "put")
    line = cli_error(res, 2)
    assert "hostname" in line and "outside" in line and "--follow-symlinks" in line
    assert (store_state(store), snapshot(repo)) == before

    res = run_cli(home, "put", str(tree), "blacklake://demo/main/m", "-m", "put",
                  "--follow-symlinks", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["files"] == 2
    assert files(repo) == {"m/weights.bin": b"weights", "m/hostname": SECRET}


def test_cli_put_of_a_tree_with_a_loop_ends_with_one_line(home: Path, store: Store,
                                                          repo: Repo, tree: Path) -> None:
    (tree / "me").symlink_to(".", target_is_directory=True)
    before = (store_state(store), snapshot(repo))
    for extra in ((), ("--follow-symlinks",)):
        res = run_cli(home, "put", str(tree), "blacklake://demo/main/m", "-m", "put", *extra)
        assert "loop" in cli_error(res, 2)
    assert (store_state(store), snapshot(repo)) == before


def test_cli_put_stores_inside_links_as_their_targets(home: Path, repo: Repo,
                                                      tree: Path) -> None:
    (tree / "latest.bin").symlink_to("weights.bin")
    res = run_cli(home, "put", str(tree), "blacklake://demo/main/", "-m", "put")
    assert res.exit_code == 0, res.stderr
    assert files(repo) == {"weights.bin": b"weights", "latest.bin": b"weights"}
