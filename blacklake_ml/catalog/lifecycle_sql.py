"""The model-lifecycle part of :class:`~blacklake_ml.catalog.sql.SqlCatalog`.

Version tags, aliases with their event log, deployment records and deprecations (the spec
is the "model lifecycle" section of :class:`~blacklake_ml.catalog.base.Catalog`). Kept in a
mixin so ``sql.py`` stays about refs, commits and objects; it uses the catalog's own
transaction helper and gc barrier, so error translation and locking stay in one place.

Concurrency: an alias moves by a conditional ``UPDATE``/``DELETE`` on its ``refs`` row; on
PostgreSQL that row lock also orders the appended events, so ``seq`` = last + 1 read after
the update cannot collide. Deployment records have no such row: concurrent writers may pick
the same ``seq``; the primary key refuses the second, which retries (or, for a rollback that
asked for ``after_seq``, reports :class:`~blacklake_ml.errors.RefMoved`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from blacklake_ml.catalog import schema as t
from blacklake_ml.catalog.base import AliasEvent, DeploymentRow, DeprecationRow, RefRow
from blacklake_ml.core.retry import LOST, Lost, retry_cas
from blacklake_ml.errors import CatalogError, RefExists, RefMoved, RefNotFound

#: How often an unconditioned write retries (at once, no backoff) after losing a primary-key
#: race.
_RETRIES = 50
#: ``deprecations.commit_id`` of a repository-wide deprecation (primary keys are NOT NULL).
_WHOLE_REPO = ""


def _a(kind: str) -> str:
    """``a branch``, ``a tag``, ``an alias``."""
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _event(r: Any) -> AliasEvent:
    return AliasEvent(r.alias, r.seq, r.action, r.from_commit, r.to_commit, r.from_label,
                      r.to_label, r.actor, r.at, r.reason)


def _deployment(r: Any) -> DeploymentRow:
    return DeploymentRow(r.environment, r.seq, r.commit_id, r.label, r.action, r.actor, r.at,
                         r.note)


def _deprecation(r: Any) -> DeprecationRow:
    return DeprecationRow(r.commit_id or None, r.label, r.reason, r.sunset, r.actor, r.at)


def _stored(conn: Connection, commit: str) -> bool:
    return conn.execute(sa.select(t.objects.c.id).where(t.objects.c.id == commit)
                        ).first() is not None


def _not_stored(commit: str) -> RefNotFound:
    return RefNotFound(f"commit {commit[:12]} is not stored (garbage-collected, or never "
                       "written)")


def _latest_deployments() -> Any:
    """Subquery: the last ``seq`` of every (repository, environment)."""
    d = t.deployments.c
    return (sa.select(d.repo_id, d.environment, sa.func.max(d.seq).label("seq"))
            .group_by(d.repo_id, d.environment).subquery())


def deployed_commits_in(conn: Connection) -> set[str]:
    """Commits of the latest deployment record of every environment (gc roots)."""
    d, latest = t.deployments, _latest_deployments()
    q = sa.select(d.c.commit_id).select_from(d.join(latest, sa.and_(
        d.c.repo_id == latest.c.repo_id, d.c.environment == latest.c.environment,
        d.c.seq == latest.c.seq)))
    return set(conn.execute(q).scalars())


class SqlLifecycleMixin:
    """Lifecycle methods of the SQL catalog (mixed into ``SqlCatalog``)."""

    if TYPE_CHECKING:  # provided by SqlCatalog
        is_sqlite: bool

        def _tx(self, write: bool = False) -> AbstractContextManager[Connection]: ...

        def _gc_barrier(self, conn: Connection) -> None: ...

        def get_ref(self, repo_id: int, name: str) -> RefRow | None: ...

    # -- version tags -----------------------------------------------------------------------
    def create_tag_exclusive(self, repo_id: int, name: str, commit: str,
                             equivalent: Sequence[str]) -> RefRow:
        now = time.time()
        try:
            with self._tx(write=True) as conn:
                if not self.is_sqlite:
                    # Serialise version creation per repository: "v1.2.3" and "1.2.3" are
                    # different keys, so only a lock makes check-then-insert atomic here
                    # (SQLite's write lock already does). FOR NO KEY UPDATE, not FOR UPDATE:
                    # it must not block the key-share locks that committers' foreign keys
                    # take on this row while they hold the gc barrier (a lock cycle via gc).
                    conn.execute(sa.select(t.repos.c.id).where(t.repos.c.id == repo_id)
                                 .with_for_update(key_share=True))
                self._gc_barrier(conn)
                if not _stored(conn, commit):
                    raise _not_stored(commit)
                names = sorted(set(equivalent) | {name})
                clash = conn.execute(sa.select(t.refs.c.name, t.refs.c.kind).where(
                    t.refs.c.repo_id == repo_id, t.refs.c.name.in_(names))).first()
                if clash is not None:
                    if clash.name == name:
                        raise RefExists(f"{_a(clash.kind)} named {name!r} already exists")
                    raise RefExists(f"{name!r} is the same as the existing {clash.kind} "
                                    f"{clash.name!r}")
                conn.execute(sa.insert(t.refs).values(repo_id=repo_id, name=name, kind="tag",
                                                      commit_id=commit, updated=now))
        except IntegrityError:
            existing = self.get_ref(repo_id, name)
            raise RefExists(f"{_a(existing.kind if existing else 'ref')} named {name!r} "
                            "already exists") from None
        return RefRow(name, "tag", commit, now)

    # -- aliases ----------------------------------------------------------------------------
    def move_alias(self, repo_id: int, name: str, expected: str | None, new: str | None, *,
                   action: str, by: str, reason: str = "", from_label: str | None = None,
                   to_label: str | None = None, after_seq: int | None = None) -> AliasEvent:
        if expected is None and new is None:
            raise ValueError("move_alias needs an expected or a new commit")
        refs = t.refs
        now = time.time()
        try:
            with self._tx(write=True) as conn:
                if new is not None:
                    # The target must still be stored when the alias moves (gc barrier).
                    self._gc_barrier(conn)
                    if not _stored(conn, new):
                        raise _not_stored(new)
                if expected is None:
                    conn.execute(sa.insert(refs).values(repo_id=repo_id, name=name,
                                                        kind="alias", commit_id=new,
                                                        updated=now))
                else:
                    where = (refs.c.repo_id == repo_id, refs.c.name == name,
                             refs.c.kind == "alias", refs.c.commit_id == expected)
                    if new is None:
                        res = conn.execute(sa.delete(refs).where(*where))
                    else:
                        res = conn.execute(sa.update(refs).where(*where)
                                           .values(commit_id=new, updated=now))
                    if res.rowcount != 1:
                        kind = conn.execute(sa.select(refs.c.kind).where(
                            refs.c.repo_id == repo_id, refs.c.name == name)).scalar()
                        if kind is None:
                            raise RefNotFound(f"no alias named {name!r}")
                        if kind != "alias":
                            raise RefNotFound(f"{name!r} is a {kind}, not an alias")
                        raise RefMoved(f"alias {name!r} moved")
                ev = t.alias_events.c
                last = conn.execute(sa.select(sa.func.max(ev.seq)).where(
                    ev.repo_id == repo_id, ev.alias == name)).scalar() or 0
                if after_seq is not None and last != after_seq:
                    raise RefMoved(f"the history of alias {name!r} changed")
                event = AliasEvent(name, last + 1, action, expected, new, from_label,
                                   to_label, by, now, reason)
                conn.execute(sa.insert(t.alias_events).values(
                    repo_id=repo_id, alias=name, seq=event.seq, action=action,
                    from_commit=expected, to_commit=new, from_label=from_label,
                    to_label=to_label, actor=by, at=now, reason=reason))
        except IntegrityError:
            existing = self.get_ref(repo_id, name)
            if expected is None and existing is not None:
                raise RefExists(f"{_a(existing.kind)} named {name!r} already exists") from None
            raise RefMoved(f"alias {name!r} changed concurrently") from None
        return event

    def alias_history(self, repo_id: int, name: str) -> list[AliasEvent]:
        ev = t.alias_events.c
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.alias_events).where(
                ev.repo_id == repo_id, ev.alias == name).order_by(ev.seq)).all()
        return [_event(r) for r in rows]

    # -- deployments ------------------------------------------------------------------------
    def record_deployment(self, repo_id: int, environment: str, commit: str, *, action: str,
                          by: str, label: str | None = None, note: str = "",
                          after_seq: int | None = None) -> DeploymentRow:
        d = t.deployments.c

        def attempt() -> DeploymentRow | Lost:
            now = time.time()
            try:
                with self._tx(write=True) as conn:
                    self._gc_barrier(conn)
                    if not _stored(conn, commit):
                        raise _not_stored(commit)
                    last = conn.execute(sa.select(sa.func.max(d.seq)).where(
                        d.repo_id == repo_id, d.environment == environment)).scalar() or 0
                    if after_seq is not None and last != after_seq:
                        raise RefMoved(f"deployments to {environment!r} changed")
                    row = DeploymentRow(environment, last + 1, commit, label, action, by, now,
                                        note)
                    conn.execute(sa.insert(t.deployments).values(
                        repo_id=repo_id, environment=environment, seq=row.seq,
                        commit_id=commit, label=label, action=action, actor=by, at=now,
                        note=note))
                return row
            except IntegrityError:
                # A concurrent record took this seq (PostgreSQL; SQLite serialises writers).
                if after_seq is not None:
                    raise RefMoved(f"deployments to {environment!r} changed") from None
                return LOST

        return retry_cas(attempt, attempts=_RETRIES, wait=None, give_up=lambda: CatalogError(
            f"could not record a deployment to {environment!r}: "
            f"{_RETRIES} concurrent writers won first"))

    def deployment_history(self, repo_id: int, environment: str) -> list[DeploymentRow]:
        d = t.deployments.c
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.deployments).where(
                d.repo_id == repo_id, d.environment == environment).order_by(d.seq)).all()
        return [_deployment(r) for r in rows]

    def current_deployments(self, repo_id: int) -> list[DeploymentRow]:
        d, latest = t.deployments, _latest_deployments()
        q = (sa.select(d).select_from(d.join(latest, sa.and_(
            d.c.repo_id == latest.c.repo_id, d.c.environment == latest.c.environment,
            d.c.seq == latest.c.seq))).where(d.c.repo_id == repo_id)
            .order_by(d.c.environment))
        with self._tx() as conn:
            return [_deployment(r) for r in conn.execute(q).all()]

    def deployed_commits(self) -> set[str]:
        with self._tx() as conn:
            return deployed_commits_in(conn)

    # -- deprecations -----------------------------------------------------------------------
    def set_deprecation(self, repo_id: int, commit: str | None, *, reason: str,
                        sunset: str | None, by: str, label: str | None = None
                        ) -> DeprecationRow:
        key = commit or _WHOLE_REPO
        dep = t.deprecations

        def attempt() -> DeprecationRow | Lost:
            now = time.time()
            try:
                with self._tx(write=True) as conn:
                    conn.execute(sa.delete(dep).where(dep.c.repo_id == repo_id,
                                                      dep.c.commit_id == key))
                    conn.execute(sa.insert(dep).values(
                        repo_id=repo_id, commit_id=key, label=label, reason=reason,
                        sunset=sunset, actor=by, at=now))
                return DeprecationRow(commit or None, label, reason, sunset, by, now)
            except IntegrityError:
                return LOST  # a concurrent deprecation of the same target landed first: replace

        return retry_cas(attempt, attempts=_RETRIES, wait=None, give_up=lambda: CatalogError(
            f"could not record the deprecation: {_RETRIES} concurrent writers won first"))

    def clear_deprecation(self, repo_id: int, commit: str | None) -> bool:
        dep = t.deprecations
        with self._tx(write=True) as conn:
            n = conn.execute(sa.delete(dep).where(dep.c.repo_id == repo_id,
                                                  dep.c.commit_id == (commit or _WHOLE_REPO))
                             ).rowcount
        return n > 0

    def find_deprecations(self, repo_id: int, commit: str | None = None
                          ) -> list[DeprecationRow]:
        dep = t.deprecations
        q = sa.select(dep).where(dep.c.repo_id == repo_id)
        if commit is not None:
            q = q.where(dep.c.commit_id.in_([commit, _WHOLE_REPO]))
        with self._tx() as conn:
            rows = conn.execute(q.order_by(dep.c.commit_id)).all()
        return [_deprecation(r) for r in rows]
