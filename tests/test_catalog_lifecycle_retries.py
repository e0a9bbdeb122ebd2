"""The SQL catalog's primary-key race retries (deployments, deprecations), on ``retry_cas``.

A lost race is simulated: the catalog's transaction raises ``IntegrityError`` (what a
concurrent insert of the same key causes on PostgreSQL) a given number of times. Retries are
immediate (no backoff), 50 at most; a deployment that asked for ``after_seq`` reports the
race as ``RefMoved`` at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import blacklake_ml.core.retry as retry_mod
from blacklake_ml.catalog.base import CommitBatch, CommitRow, ObjectLocation, PackRow
from blacklake_ml.catalog.sql import SqlCatalog
from blacklake_ml.errors import CatalogError, RefMoved

COMMIT = "c" * 64


@pytest.fixture
def cat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlCatalog]:
    def no_sleep(_seconds: float) -> None:
        raise AssertionError("these retries must not back off")

    monkeypatch.setattr(retry_mod.time, "sleep", no_sleep)
    c = SqlCatalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    c.migrate()
    try:
        yield c
    finally:
        c.close()


def _repo(cat: SqlCatalog) -> int:
    rid = cat.create_repo("repo").id
    cat.add_pack(PackRow("p1", 10, 1, 0.0), [ObjectLocation(COMMIT, 4, "p1", 0, 10)])
    cat.index_commits(rid, CommitBatch(commits=[CommitRow(
        id=COMMIT, tree="t" * 64, parents=(), author="a", committer="a", time="t",
        message="m", meta={}, generation=1, size=0, nfiles=0)]))
    return rid


class _Losing:
    """Wraps ``cat._tx``: the next ``losses`` write transactions fail with IntegrityError."""

    def __init__(self, cat: SqlCatalog, losses: int) -> None:
        self.real = cat._tx
        self.losses = losses
        self.writes = 0

    def __call__(self, write: bool = False) -> AbstractContextManager[Any]:
        return self._tx(write)

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Any]:
        if write:
            self.writes += 1
            if self.losses > 0:
                self.losses -= 1
                raise sa.exc.IntegrityError("INSERT …", {}, Exception("duplicate key"))
        with self.real(write) as conn:
            yield conn


def _lose(cat: SqlCatalog, monkeypatch: pytest.MonkeyPatch, losses: int) -> _Losing:
    losing = _Losing(cat, losses)
    monkeypatch.setattr(cat, "_tx", losing)
    return losing


def test_deployment_retries_lost_races_at_once(cat: SqlCatalog,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _repo(cat)
    losing = _lose(cat, monkeypatch, 3)
    row = cat.record_deployment(rid, "prod", COMMIT, action="deploy", by="ann")
    assert losing.writes == 4
    assert (row.seq, row.commit) == (1, COMMIT)
    assert cat.deployment_history(rid, "prod") == [row]


def test_deployment_after_seq_reports_a_lost_race(cat: SqlCatalog,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _repo(cat)
    first = cat.record_deployment(rid, "prod", COMMIT, action="deploy", by="ann")
    losing = _lose(cat, monkeypatch, 1)
    with pytest.raises(RefMoved, match="deployments to 'prod' changed"):
        cat.record_deployment(rid, "prod", COMMIT, action="rollback", by="ann",
                              after_seq=first.seq)
    assert losing.writes == 1  # not retried
    assert cat.deployment_history(rid, "prod") == [first]


def test_deployment_gives_up_after_50_lost_races(cat: SqlCatalog,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _repo(cat)
    losing = _lose(cat, monkeypatch, 10_000)
    with pytest.raises(CatalogError, match="could not record a deployment to 'prod': 50 "
                                           "concurrent writers won first"):
        cat.record_deployment(rid, "prod", COMMIT, action="deploy", by="ann")
    assert losing.writes == 50


def test_deprecation_retries_and_gives_up_after_50(cat: SqlCatalog,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _repo(cat)
    losing = _lose(cat, monkeypatch, 49)
    dep = cat.set_deprecation(rid, COMMIT, reason="old", sunset=None, by="ann")
    assert losing.writes == 50
    assert cat.find_deprecations(rid) == [dep]
    losing = _lose(cat, monkeypatch, 50)
    with pytest.raises(CatalogError, match="could not record the deprecation: 50 concurrent "
                                           "writers won first"):
        cat.set_deprecation(rid, None, reason="all", sunset=None, by="ann")
    assert losing.writes == 50
    assert cat.find_deprecations(rid) == [dep]
