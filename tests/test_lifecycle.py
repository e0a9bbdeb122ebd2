"""Model lifecycle through the Python API: versions, aliases, deployments, deprecation.

Runs on both store backends (local disk + SQLite, S3 + PostgreSQL) through the ``store``
fixture; bad-input cases run on the local store and check that nothing changed.
"""
# ruff: noqa: F811 - pytest fixtures imported from helpers are used as parameters

from __future__ import annotations

import itertools
import multiprocessing
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lifecycle_workers
import pytest
from helpers import (  # noqa: F401 - fixtures are found by name
    StoreSpec,
    collect,
    local_store,
    store,
    store_spec,
    store_state,
)

import blacklake_ml as bl
from blacklake_ml.errors import (
    DeprecatedModelWarning,
    EnvironmentNotFound,
    InvalidInput,
    InvalidName,
    NoHistory,
    NotFound,
    RefConflict,
    RefExists,
    RefNotFound,
)
from blacklake_ml.service import lifecycle
from blacklake_ml.service.repo import Repo
from blacklake_ml.service.store import Store

VERSIONS = [("v1.0.0", b"one"), ("1.1.0-rc.1", b"two"), ("v1.1.0", b"three")]


def make_model(store: Store) -> tuple[Repo, dict[str, str]]:
    """Repository ``model``: one commit per version of ``model.bin``; tag ``base`` = v1.0.0."""
    repo = store.create_repo("model")
    commits: dict[str, str] = {}
    for name, data in VERSIONS:
        commits[name] = repo.put_bytes(data, "model.bin", message=f"train {name}").commit
        repo.lifecycle.create_version(name)
    repo.create_tag("base", "v1.0.0")
    return repo, commits


def lifecycle_state(store: Store, repo: Repo) -> dict[str, Any]:
    """Everything lifecycle commands may change: refs, alias logs, deployments, deprecations."""
    cat = store.catalog
    aliases = [r.name for r in cat.list_refs(repo.id, "alias")] + ["champion", "staging"]
    envs = ["prod", "staging", "dev"]
    return {"store": store_state(store),
            "alias_logs": {a: cat.alias_history(repo.id, a) for a in aliases},
            "deployments": {e: cat.deployment_history(repo.id, e) for e in envs},
            "deprecations": cat.find_deprecations(repo.id)}


@contextmanager
def recorded() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside, none filtered out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def deprecation_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DeprecatedModelWarning)]


# -- versions -------------------------------------------------------------------------------
def test_versions_are_sorted_and_resolved(store: Store) -> None:
    repo, commits = make_model(store)
    assert [(v.name, str(v.version), v.prerelease) for v in repo.lifecycle.versions()] == [
        ("v1.0.0", "1.0.0", False), ("1.1.0-rc.1", "1.1.0-rc.1", True),
        ("v1.1.0", "1.1.0", False)]
    assert repo.lifecycle.resolve_version("latest") == ("v1.1.0", commits["v1.1.0"])
    assert repo.lifecycle.resolve_version("newest") == ("v1.1.0", commits["v1.1.0"])
    assert repo.lifecycle.resolve_version("^1.0") == ("v1.1.0", commits["v1.1.0"])
    assert repo.lifecycle.resolve_version("~1.0.0") == ("v1.0.0", commits["v1.0.0"])
    assert repo.lifecycle.resolve_version(">=1,<1.1") == ("v1.0.0", commits["v1.0.0"])
    assert repo.lifecycle.resolve_version("1.1.0-rc.1") == ("1.1.0-rc.1", commits["1.1.0-rc.1"])
    assert repo.lifecycle.resolve_version("<1.1.0", prerelease=True) == \
        ("1.1.0-rc.1", commits["1.1.0-rc.1"])
    # A prerelease above every release: "newest" takes it, "latest" does not.
    c2 = repo.put_bytes(b"four", "model.bin", message="rc").commit
    repo.lifecycle.create_version("2.0.0-rc.1")
    assert repo.lifecycle.resolve_version("newest") == ("2.0.0-rc.1", c2)
    assert repo.lifecycle.resolve_version("latest") == ("v1.1.0", commits["v1.1.0"])
    assert repo.lifecycle.resolve_version("^2.0.0-rc.0") == ("2.0.0-rc.1", c2)  # names a prerelease
    assert repo.lifecycle.resolve_version(">=1.5", prerelease=True) == ("2.0.0-rc.1", c2)
    with pytest.raises(RefNotFound, match="no version matching"):
        repo.lifecycle.resolve_version(">=1.5")  # prereleases only match when asked
    # Ordinary tags are not versions, and versions are ordinary tags for everything else.
    assert "base" not in [v.name for v in repo.lifecycle.versions()]
    assert repo.read_bytes("v1.0.0", "model.bin") == b"one"
    assert {t.name for t in repo.tags()} == {"v1.0.0", "1.1.0-rc.1", "v1.1.0", "base",
                                             "2.0.0-rc.1"}


def test_resolve_version_without_versions(store: Store) -> None:
    repo = store.create_repo("empty")
    with pytest.raises(RefNotFound, match="no versions"):
        repo.lifecycle.resolve_version("latest")


@pytest.mark.parametrize("bad", ["1.2", "v1", "V1.2.3", "1.2.3+build", "01.2.3", "1.2.3-",
                                 "1.2.3-rc_1", "", "latest", "1.2.3-" + "a" * 130])
def test_invalid_versions_change_nothing(local_store: Store, bad: str) -> None:
    repo, _ = make_model(local_store)
    before = lifecycle_state(local_store, repo)
    with pytest.raises(InvalidInput):
        repo.lifecycle.create_version(bad)
    assert lifecycle_state(local_store, repo) == before


def test_duplicate_versions_are_refused_in_any_spelling(local_store: Store) -> None:
    repo, _ = make_model(local_store)
    before = lifecycle_state(local_store, repo)
    for dup in ("v1.0.0", "1.0.0", "1.1.0-rc.1", "v1.1.0-rc.1"):
        with pytest.raises(RefExists):
            repo.lifecycle.create_version(dup)
        with pytest.raises(RefExists):  # plain `tag create` keeps the same rule
            repo.create_tag(dup, "main")
    with pytest.raises(RefNotFound):
        repo.lifecycle.create_version("3.0.0", "no-such-ref")
    assert lifecycle_state(local_store, repo) == before
    repo.create_branch("9.9.9")
    with pytest.raises(RefExists, match="a branch named '9.9.9'"):
        repo.lifecycle.create_version("9.9.9")
    assert "9.9.9" not in [t.name for t in repo.tags()]


# -- aliases --------------------------------------------------------------------------------
def test_alias_is_a_ref_that_resolves_everywhere(store: Store) -> None:
    repo, commits = make_model(store)
    event = repo.lifecycle.set_alias("champion", "v1.0.0", reason="first", by="ann")
    assert event is not None
    assert (event.action, event.to_commit, event.to_label, event.by, event.reason) == \
        ("create", commits["v1.0.0"], "v1.0.0", "ann", "first")
    assert repo.resolve("champion") == commits["v1.0.0"]
    assert repo.read_bytes("champion", "model.bin") == b"one"
    with store.open_uri("blacklake://model/champion/model.bin") as f:
        assert f.read() == b"one"
    assert repo.log("champion")[0].id == commits["v1.0.0"]
    assert [a.name for a in repo.lifecycle.aliases()] == ["champion"]
    # Branch and tag listings do not show aliases; an alias is not a branch to commit to.
    assert [b.name for b in repo.branches()] == ["main"]
    assert "champion" not in [t.name for t in repo.tags()]
    with pytest.raises(RefNotFound, match="an alias, not a branch"):
        repo.put_bytes(b"x", "x.bin", branch="champion", message="nope")
    # Setting it where it already points changes nothing and records nothing.
    assert repo.lifecycle.set_alias("champion", commits["v1.0.0"][:12]) is None
    assert len(repo.lifecycle.alias_history("champion")) == 1


def test_alias_rollback_and_rollforward_are_an_undo_redo_stack(store: Store) -> None:
    repo, c = make_model(store)
    a, b, d = c["v1.0.0"], c["1.1.0-rc.1"], c["v1.1.0"]
    repo.lifecycle.set_alias("champion", "v1.0.0")
    repo.lifecycle.set_alias("champion", "1.1.0-rc.1")
    repo.lifecycle.set_alias("champion", "v1.1.0")

    def at() -> str:
        return repo.resolve("champion")

    assert repo.lifecycle.rollback_alias("champion", reason="regression").to_commit == b
    assert repo.lifecycle.rollback_alias("champion").to_commit == a  # twice: two targets back
    with pytest.raises(NoHistory, match="no earlier target"):
        repo.lifecycle.rollback_alias("champion")
    assert at() == a
    e = repo.lifecycle.rollforward_alias("champion")
    assert (e.action, e.from_commit, e.to_commit, e.to_label) == \
        ("rollforward", a, b, "1.1.0-rc.1")
    # A new move clears the redo stack, as a new edit does after undo.
    repo.lifecycle.set_alias("champion", "base")  # == v1.0.0's commit
    with pytest.raises(NoHistory, match="no rollback to undo"):
        repo.lifecycle.rollforward_alias("champion")
    assert repo.lifecycle.rollback_alias("champion").to_commit == b
    assert repo.lifecycle.rollforward_alias("champion").to_commit == a
    assert at() == a
    history = repo.lifecycle.alias_history("champion")  # newest first
    assert [(h.seq, h.action) for h in history] == [
        (9, "rollforward"), (8, "rollback"), (7, "move"), (6, "rollforward"), (5, "rollback"),
        (4, "rollback"), (3, "move"), (2, "move"), (1, "create")]
    # Every event starts where the previous one ended: the log is a complete record.
    chron = history[::-1]
    for prev, nxt in itertools.pairwise(chron):
        assert nxt.from_commit == prev.to_commit
    assert history[3].reason == "" and history[5].reason == "regression"
    assert (history[3].from_label, history[3].to_label) == ("v1.0.0", "1.1.0-rc.1")
    assert history[2].to_label == "v1.0.0"  # moved via tag "base": labelled by version
    assert d in {h.to_commit for h in history}


def test_alias_delete_keeps_history_and_recreate_starts_fresh(store: Store) -> None:
    repo, c = make_model(store)
    repo.lifecycle.set_alias("staging", "v1.0.0")
    repo.lifecycle.set_alias("staging", "v1.1.0")
    e = repo.lifecycle.delete_alias("staging", reason="retired")
    assert (e.action, e.from_commit, e.to_commit, e.from_label) == \
        ("delete", c["v1.1.0"], None, "v1.1.0")
    assert repo.lifecycle.aliases() == []
    with pytest.raises(RefNotFound):
        repo.resolve("staging")
    assert [h.action for h in repo.lifecycle.alias_history("staging")] == [
        "delete", "move", "create"]
    repo.lifecycle.set_alias("staging", "1.1.0-rc.1")
    with pytest.raises(NoHistory):  # the old timeline ended with the delete
        repo.lifecycle.rollback_alias("staging")
    assert repo.lifecycle.alias_history("staging")[0].seq == 4


def test_alias_compare_and_swap(store: Store) -> None:
    repo, c = make_model(store)
    repo.lifecycle.set_alias("champion", "v1.0.0")
    before = lifecycle_state(store, repo)
    with pytest.raises(RefConflict, match="not at the expected"):
        repo.lifecycle.set_alias("champion", "v1.1.0", expected=c["v1.1.0"])
    with pytest.raises(RefConflict, match="does not exist"):
        repo.lifecycle.set_alias("staging", "v1.1.0", expected=c["v1.0.0"])
    with pytest.raises(RefConflict):
        repo.lifecycle.delete_alias("champion", expected=c["v1.1.0"])
    assert lifecycle_state(store, repo) == before
    # Expected as a full id, a prefix or a ref naming the current target.
    repo.lifecycle.set_alias("champion", "v1.1.0", expected=c["v1.0.0"])
    repo.lifecycle.set_alias("champion", "v1.0.0", expected=c["v1.1.0"][:10])
    repo.lifecycle.set_alias("champion", "v1.1.0", expected="v1.0.0")
    assert repo.resolve("champion") == c["v1.1.0"]


def test_concurrent_cas_moves_of_one_alias_threads(store: Store) -> None:
    """Threads move one alias from the same expected commit: exactly one wins."""
    repo, c = make_model(store)
    repo.lifecycle.set_alias("champion", "v1.0.0")
    n = 6
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()
    targets = ["v1.1.0", "1.1.0-rc.1"] * (n // 2)

    def mover(i: int) -> None:
        handle = store.repo("model")
        barrier.wait(60)
        try:
            handle.lifecycle.set_alias("champion", targets[i], expected=c["v1.0.0"], reason=f"t{i}")
            result = "won"
        except RefConflict:
            result = "lost"
        with lock:
            outcomes.append((result, targets[i]))

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    winners = [t for r, t in outcomes if r == "won"]
    assert len(outcomes) == n and len(winners) == 1
    assert repo.resolve("champion") == c[winners[0]]
    history = repo.lifecycle.alias_history("champion")
    assert [(h.action, h.to_label) for h in history] == [("move", winners[0]),
                                                        ("create", "v1.0.0")]


def test_concurrent_unconditional_moves_all_land_in_history(store: Store) -> None:
    """Without --expect a lost race is retried: every move is recorded, none lost."""
    repo, _ = make_model(store)
    repo.lifecycle.set_alias("champion", "base")
    n = 4
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []
    moved: list[int] = []  # seq of every event a call reported (None: was already there)

    def mover(i: int) -> None:
        handle = store.repo("model")
        barrier.wait(60)
        try:
            for k in range(3):
                ev = handle.lifecycle.set_alias("champion", ["v1.1.0", "1.1.0-rc.1"][(i + k) % 2])
                if ev is not None:
                    moved.append(ev.seq)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert errors == []
    chron = repo.lifecycle.alias_history("champion")[::-1]
    assert [h.seq for h in chron] == list(range(1, len(chron) + 1))
    assert sorted(moved) == list(range(2, len(chron) + 1))  # each reported move is logged
    for prev, nxt in itertools.pairwise(chron):
        assert nxt.from_commit == prev.to_commit
    assert chron[-1].to_commit == repo.resolve("champion")


CTX = multiprocessing.get_context("spawn")


@pytest.mark.slow
def test_concurrent_cas_moves_across_processes(store_spec: StoreSpec) -> None:
    """Two processes race CAS moves of one alias: each round one wins, no event is lost."""
    st = store_spec.open()
    try:
        repo, _ = make_model(st)
        repo.lifecycle.set_alias("champion", "base")
    finally:
        st.close()
    rounds, targets = 15, ["v1.1.0", "1.1.0-rc.1"]
    q = CTX.Queue()
    barrier = CTX.Barrier(len(targets))
    procs = [CTX.Process(target=lifecycle_workers.alias_cas_mover,
                         args=(store_spec, wid, q, barrier, rounds, target), daemon=True)
             for wid, target in enumerate(targets)]
    for p in procs:
        p.start()
    msgs = collect(procs, q)
    wins = [m for m in msgs if m[0] == "won"]
    assert len(msgs) == rounds * len(targets)
    assert wins, "nobody ever won"
    st = store_spec.open()
    try:
        repo = st.repo("model")
        chron = repo.lifecycle.alias_history("champion")[::-1]
        # One event per acknowledged win (plus the create), chained without gaps.
        assert len(chron) == 1 + len(wins)
        assert [h.seq for h in chron] == list(range(1, len(chron) + 1))
        for prev, nxt in itertools.pairwise(chron):
            assert nxt.from_commit == prev.to_commit
        assert sorted(h.from_commit for h in chron[1:]) == sorted(m[2] for m in wins)
        assert chron[-1].to_commit == repo.resolve("champion")
    finally:
        st.close()


def test_alias_bad_input_changes_nothing(local_store: Store) -> None:
    repo, c = make_model(local_store)
    repo.lifecycle.set_alias("champion", "v1.0.0")
    before = lifecycle_state(local_store, repo)
    cases: list[tuple[Callable[[], Any], type[BaseException], str]] = [
        (lambda: repo.lifecycle.set_alias("main", "v1.0.0"), RefExists, "branch named 'main'"),
        (lambda: repo.lifecycle.set_alias("base", "v1.0.0"), RefExists, "tag named 'base'"),
        (lambda: repo.lifecycle.set_alias("v2.0.0", "v1.0.0"), InvalidName, "looks like a version"),
        (lambda: repo.lifecycle.set_alias("bad/name", "v1.0.0"), InvalidName, "invalid alias name"),
        (lambda: repo.lifecycle.set_alias("", "v1.0.0"), InvalidName, "invalid alias name"),
        (lambda: repo.lifecycle.set_alias("staging", "no-such-ref"), RefNotFound, "no-such-ref"),
        (lambda: repo.lifecycle.set_alias("staging", "v1.0.0", reason="two\nlines"), InvalidInput,
         "one line"),
        (lambda: repo.lifecycle.set_alias("staging", "v1.0.0", reason="x" * 2000), InvalidInput,
         "longer"),
        (lambda: repo.lifecycle.set_alias("staging", "v1.0.0", by=""), InvalidInput, "empty"),
        (lambda: repo.lifecycle.set_alias("champion", "v1.1.0", expected="deadbeefdeadbeef"),
         RefNotFound, "deadbeef"),
        (lambda: repo.lifecycle.rollback_alias("champion"), NoHistory, "no earlier target"),
        (lambda: repo.lifecycle.rollforward_alias("champion"), NoHistory, "no rollback"),
        (lambda: repo.lifecycle.rollback_alias("staging"), RefNotFound, "no alias"),
        (lambda: repo.lifecycle.rollback_alias("main"), RefNotFound, "branch, not an alias"),
        (lambda: repo.lifecycle.delete_alias("staging"), RefNotFound, "no alias"),
        (lambda: repo.lifecycle.delete_alias("base"), RefNotFound, "tag, not an alias"),
        (lambda: repo.lifecycle.alias_history("staging"), RefNotFound, "no alias"),
        (lambda: repo.lifecycle.alias_history("main"), RefNotFound, "not an alias"),
        (lambda: repo.delete_branch("champion"), RefNotFound, "branch"),
        (lambda: repo.delete_tag("champion"), RefNotFound, "tag"),
    ]
    for call, exc, text in cases:
        with pytest.raises(exc, match=text):
            call()
        assert lifecycle_state(local_store, repo) == before, text
    assert repo.resolve("champion") == c["v1.0.0"]


# -- deployments ----------------------------------------------------------------------------
def test_deployments_record_what_runs_where(store: Store) -> None:
    repo, c = make_model(store)
    repo.lifecycle.set_alias("champion", "v1.1.0")
    d1 = repo.lifecycle.deploy("prod", "v1.0.0", by="ann", note="launch")
    assert (d1.environment, d1.commit, d1.label, d1.by, d1.action, d1.note) == \
        ("prod", c["v1.0.0"], "v1.0.0", "ann", "deploy", "launch")
    # Any ref will do; the label is the version naming that commit.
    repo.lifecycle.deploy("staging", "champion", by="ci")
    d3 = repo.lifecycle.deploy("prod", "champion", by="bob")
    assert d3.label == "v1.1.0"
    current = repo.lifecycle.deployments()
    assert [(d.environment, d.label, d.by) for d in current] == [("prod", "v1.1.0", "bob"),
                                                                 ("staging", "v1.1.0", "ci")]
    assert current[0].at >= d1.at  # "since when": the time of the latest record
    assert [d.seq for d in repo.lifecycle.deployment_history("prod")] == [2, 1]

    r = repo.lifecycle.rollback_deployment("prod", by="cy", note="latency")
    assert (r.action, r.commit, r.label, r.note) == ("rollback", c["v1.0.0"], "v1.0.0",
                                                     "latency")
    with pytest.raises(NoHistory):
        repo.lifecycle.rollback_deployment("prod")
    f = repo.lifecycle.rollforward_deployment("prod")
    assert (f.action, f.commit) == ("rollforward", c["v1.1.0"])
    with pytest.raises(NoHistory):
        repo.lifecycle.rollforward_deployment("prod")
    # Redeploying what already runs is recorded but leaves the undo stack alone.
    repo.lifecycle.deploy("prod", "v1.1.0")
    assert repo.lifecycle.rollback_deployment("prod").commit == c["v1.0.0"]
    assert [d.action for d in repo.lifecycle.deployment_history("prod")] == [
        "rollback", "deploy", "rollforward", "rollback", "deploy", "deploy"]


def test_deployment_bad_input_changes_nothing(local_store: Store) -> None:
    repo, _ = make_model(local_store)
    repo.lifecycle.deploy("prod", "v1.0.0")
    before = lifecycle_state(local_store, repo)
    cases: list[tuple[Callable[[], Any], type[BaseException], str]] = [
        (lambda: repo.lifecycle.deploy("pr/od", "v1.0.0"), InvalidName, "invalid environment"),
        (lambda: repo.lifecycle.deploy("", "v1.0.0"), InvalidName, "invalid environment"),
        (lambda: repo.lifecycle.deploy("prod", "nope"), RefNotFound, "nope"),
        (lambda: repo.lifecycle.deploy("prod", "v1.1.0", note="a\x00b"), InvalidInput, "one line"),
        (lambda: repo.lifecycle.deployment_history("dev"), EnvironmentNotFound, "nothing was ever"),
        (lambda: repo.lifecycle.rollback_deployment("dev"), EnvironmentNotFound,
         "nothing was ever"),
        (lambda: repo.lifecycle.rollforward_deployment("dev"), EnvironmentNotFound,
         "ever deployed"),
        (lambda: repo.lifecycle.rollback_deployment("prod"), NoHistory, "no earlier deployment"),
        (lambda: repo.lifecycle.rollforward_deployment("prod"), NoHistory, "no rollback"),
        (lambda: repo.lifecycle.rollback_deployment("../x"), InvalidName, "invalid environment"),
    ]
    for call, exc, text in cases:
        with pytest.raises(exc, match=text):
            call()
        assert lifecycle_state(local_store, repo) == before, text


def test_deployed_and_aliased_commits_survive_gc(store: Store) -> None:
    repo, _ = make_model(store)
    repo.create_branch("exp")
    deployed = repo.put_bytes(b"deployed only", "model.bin", branch="exp",
                              message="exp").commit
    repo.lifecycle.set_alias("candidate", "exp")
    repo.lifecycle.deploy("canary", "exp")
    repo.delete_branch("exp")
    store.gc(grace=0)
    assert repo.read_bytes(deployed, "model.bin") == b"deployed only"
    repo.lifecycle.delete_alias("candidate")
    store.gc(grace=0)
    # Still the current deployment of "canary": a gc root.
    assert repo.read_bytes(deployed, "model.bin") == b"deployed only"
    repo.lifecycle.deploy("canary", "v1.0.0")
    store.gc(grace=0)
    # No longer deployed nor referenced: collected. Rolling back to it fails cleanly.
    with pytest.raises(RefNotFound):
        repo.read_bytes(deployed, "model.bin")
    history = repo.lifecycle.deployment_history("canary")
    with pytest.raises(RefNotFound, match="not stored"):
        repo.lifecycle.rollback_deployment("canary")
    assert repo.lifecycle.deployment_history("canary") == history
    assert store.fsck()["ok"]


# -- deprecation ----------------------------------------------------------------------------
def test_loading_a_deprecated_version_warns(store: Store, tmp_path: Path) -> None:
    repo, c = make_model(store)
    row = repo.lifecycle.deprecate("v1.0.0", reason="trained on leaked data", sunset="2099-12-31",
                                   by="ann")
    assert (row.commit, row.label, row.sunset, row.by) == (c["v1.0.0"], "v1.0.0",
                                                           "2099-12-31", "ann")
    assert repo.lifecycle.deprecation("base") == row  # same commit, any ref
    assert repo.lifecycle.deprecation("v1.1.0") is None
    expected = ("model 'model' version v1.0.0 is deprecated: trained on leaked data; "
                "sunset 2099-12-31")
    loads: list[Callable[[], Any]] = [
        lambda: repo.open("v1.0.0", "model.bin").close(),
        lambda: repo.read_bytes("v1.0.0", "model.bin"),
        lambda: repo.get("v1.0.0", "model.bin", tmp_path / "out.bin"),
        lambda: repo.checkout("v1.0.0", tmp_path / "co", force=True),
        lambda: store.open_uri("blacklake://model/base/model.bin").close(),
        lambda: bl.open("blacklake://model/v1.0.0/model.bin", store=store).close(),
    ]
    for load in loads:
        with recorded() as caught:
            load()
        assert deprecation_warnings(caught) == [expected]
        (w,) = [w for w in caught if issubclass(w.category, DeprecatedModelWarning)]
        assert w.filename == __file__  # attributed to the caller, not to blacklake_ml
        assert isinstance(w.message, DeprecatedModelWarning)
        assert (w.message.repo, w.message.commit, w.message.label, w.message.sunset,
                w.message.past_sunset) == ("model", c["v1.0.0"], "v1.0.0", "2099-12-31",
                                           False)
    # A version that is not deprecated loads silently.
    with recorded() as caught:
        assert repo.read_bytes("v1.1.0", "model.bin") == b"three"
        repo.checkout("v1.1.0", tmp_path / "co2")
    assert deprecation_warnings(caught) == []
    # The warning can be made an error, as any warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecatedModelWarning)
        with pytest.raises(DeprecatedModelWarning):
            repo.read_bytes("v1.0.0", "model.bin")


def test_past_sunset_repository_wide_and_undeprecate(store: Store) -> None:
    repo, c = make_model(store)
    repo.lifecycle.deprecate("v1.0.0", reason="old", sunset="2001-02-03")
    with recorded() as caught:
        repo.read_bytes("v1.0.0", "model.bin")
    assert deprecation_warnings(caught) == [
        "model 'model' version v1.0.0 is deprecated: old; past its sunset date 2001-02-03"]
    repo.lifecycle.deprecate(reason="replaced by model-v2")  # the whole repository
    with recorded() as caught:
        repo.read_bytes("v1.1.0", "model.bin")
        repo.read_bytes("v1.0.0", "model.bin")  # its own deprecation wins
    assert deprecation_warnings(caught) == [
        "model 'model' is deprecated: replaced by model-v2",
        "model 'model' version v1.0.0 is deprecated: old; past its sunset date 2001-02-03"]
    # Re-deprecating replaces; deprecating by commit id without a version names the commit.
    repo.lifecycle.deprecate(c["v1.0.0"], reason="older", sunset=None)
    assert [(d.commit, d.reason) for d in repo.lifecycle.deprecations()] == [
        (None, "replaced by model-v2"), (c["v1.0.0"], "older")]
    repo.lifecycle.undeprecate()
    repo.lifecycle.undeprecate("base")
    with recorded() as caught:  # the same handle sees it at once (its cache is dropped)
        repo.read_bytes("v1.0.0", "model.bin")
        repo.read_bytes("v1.1.0", "model.bin")
    assert deprecation_warnings(caught) == []
    main_only = repo.put_bytes(b"x", "model.bin", message="unversioned").commit
    repo.lifecycle.deprecate("main", reason="wip")
    with recorded() as caught:
        repo.read_bytes("main", "model.bin")
    assert deprecation_warnings(caught) == [
        f"model 'model' commit {main_only[:12]} is deprecated: wip"]


def test_deprecation_seen_by_other_handles_after_the_ttl(local_store: Store,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    repo, _ = make_model(local_store)
    reader = local_store.repo("model")  # another handle, e.g. in a serving process
    with recorded() as caught:
        reader.read_bytes("v1.0.0", "model.bin")  # cached: not deprecated
        repo.lifecycle.deprecate("v1.0.0", reason="bad")
        reader.read_bytes("v1.0.0", "model.bin")  # within the TTL: still the cached answer
    assert deprecation_warnings(caught) == []
    monkeypatch.setattr(lifecycle, "DEPRECATION_TTL", 0.0)
    reader.lifecycle.forget_deprecations()
    with recorded() as caught:
        reader.read_bytes("v1.0.0", "model.bin")
    assert len(deprecation_warnings(caught)) == 1


def test_deprecation_bad_input_changes_nothing(local_store: Store) -> None:
    repo, _ = make_model(local_store)
    repo.lifecycle.deprecate("v1.1.0", reason="keep")
    before = lifecycle_state(local_store, repo)
    cases: list[tuple[Callable[[], Any], type[BaseException], str]] = [
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="x", sunset="tomorrow"), InvalidInput,
         "invalid sunset"),
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="x", sunset="2027-02-30"), InvalidInput,
         "invalid sunset"),
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="x", sunset="20270101"), InvalidInput,
         "invalid sunset"),
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="x", sunset="2027-1-1"), InvalidInput,
         "invalid sunset"),
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="   "), InvalidInput, "empty"),
        (lambda: repo.lifecycle.deprecate("v1.0.0", reason="a\nb"), InvalidInput, "one line"),
        (lambda: repo.lifecycle.deprecate("nope", reason="x"), RefNotFound, "nope"),
        (lambda: repo.lifecycle.undeprecate("v1.0.0"), NotFound, "not deprecated"),
        (lambda: repo.lifecycle.undeprecate(), NotFound, "not deprecated"),
        (lambda: repo.lifecycle.undeprecate("nope"), RefNotFound, "nope"),
        (lambda: repo.lifecycle.deprecation("nope"), RefNotFound, "nope"),
    ]
    for call, exc, text in cases:
        with pytest.raises(exc, match=text):
            call()
        assert lifecycle_state(local_store, repo) == before, text


def test_sunset_accepts_dates() -> None:
    import datetime as dt

    assert lifecycle.parse_sunset(dt.date(2027, 1, 31)) == "2027-01-31"
    assert lifecycle.parse_sunset(dt.datetime(2027, 1, 31, 12, 0)) == "2027-01-31"
    assert lifecycle.parse_sunset("2028-02-29") == "2028-02-29"
    assert lifecycle.parse_sunset(None) is None


# -- housekeeping ---------------------------------------------------------------------------
def test_delete_repo_takes_lifecycle_records_with_it(store: Store) -> None:
    repo, _ = make_model(store)
    repo.lifecycle.set_alias("champion", "v1.0.0")
    repo.lifecycle.deploy("prod", "v1.0.0")
    repo.lifecycle.deprecate(reason="gone soon")
    store.delete_repo("model")
    again = store.create_repo("model")
    assert again.lifecycle.aliases() == []
    assert again.lifecycle.deployments() == []
    assert again.lifecycle.deprecations() == []
    with pytest.raises(RefNotFound):
        again.lifecycle.alias_history("champion")
    with pytest.raises(EnvironmentNotFound):
        again.lifecycle.deployment_history("prod")


def test_fsck_rebuild_keeps_lifecycle_records(store: Store) -> None:
    repo, c = make_model(store)
    repo.lifecycle.set_alias("champion", "v1.1.0")
    repo.lifecycle.deploy("prod", "v1.0.0")
    repo.lifecycle.deprecate("v1.0.0", reason="old", sunset="2030-01-01")
    before = lifecycle_state(store, repo)
    report = store.fsck(rebuild=True)
    assert report["ok"], report
    assert lifecycle_state(store, repo) == before
    assert repo.lifecycle.resolve_version("latest") == ("v1.1.0", c["v1.1.0"])
    assert repo.log("champion")[0].id == c["v1.1.0"]


def test_deprecated_repo_lifecycle_aliases_warn_and_forward(local_store: Store) -> None:
    repo, _ = make_model(local_store)
    with pytest.warns(DeprecationWarning, match=r"repo\.lifecycle\.resolve_version"):
        assert repo.resolve_version("latest") == repo.lifecycle.resolve_version("latest")
    with pytest.warns(DeprecationWarning, match=r"repo\.lifecycle\.aliases"):
        assert repo.aliases() == repo.lifecycle.aliases()
