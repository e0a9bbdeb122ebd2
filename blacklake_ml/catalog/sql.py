"""The catalog on SQLAlchemy 2: SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on a lock upgrade.
PostgreSQL runs at READ COMMITTED; ref moves are single conditional UPDATEs (compare-and-swap)
and the gc barrier is a row lock on ``gc_lock``. SQLAlchemy errors are translated here, once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from blacklake_ml.catalog import schema as t
from blacklake_ml.catalog.base import (
    BlobRow,
    Catalog,
    CommitBatch,
    CommitRow,
    GcSession,
    ObjectLocation,
    PackRow,
    RefRow,
    RepoRow,
)
from blacklake_ml.catalog.batches import chunks as _chunks
from blacklake_ml.catalog.lifecycle_sql import SqlLifecycleMixin, deployed_commits_in
from blacklake_ml.catalog.lineage_sql import SqlLineageIndex
from blacklake_ml.catalog.revision import MIGRATIONS, head_revision, script_head
from blacklake_ml.catalog.search_sql import SqlSearchIndex
from blacklake_ml.core.redact import redact, redact_url
from blacklake_ml.errors import (
    CatalogError,
    MissingDependency,
    ObjectsVanished,
    RefExists,
    RefMoved,
    RefNotFound,
    RepoExists,
    RepoNotFound,
)


def _commit_from_row(r: Any) -> CommitRow:
    return CommitRow(id=r.id, tree=r.tree, parents=tuple(orjson.loads(r.parents)),
                     author=r.author, committer=r.committer, time=r.time, message=r.message,
                     meta=orjson.loads(r.meta), generation=r.generation, size=r.size,
                     nfiles=r.nfiles)


def _commit_values(repo_id: int, c: CommitRow) -> dict[str, Any]:
    return {"repo_id": repo_id, "id": c.id, "tree": c.tree,
            "parents": orjson.dumps(list(c.parents)).decode(), "author": c.author,
            "committer": c.committer, "time": c.time, "message": c.message,
            "meta": orjson.dumps(dict(c.meta), option=orjson.OPT_SORT_KEYS).decode(),
            "generation": c.generation, "size": c.size, "nfiles": c.nfiles}


def _loc(r: Any) -> ObjectLocation:
    return ObjectLocation(r.id, r.kind, r.pack, r.offset, r.length)


class _SqlGcSession(GcSession):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all_refs(self) -> list[tuple[int, RefRow]]:
        rows = self.conn.execute(sa.select(t.refs)).all()
        return [(r.repo_id, RefRow(r.name, r.kind, r.commit_id, r.updated)) for r in rows]

    def drop_objects(self, ids: Sequence[str], pack: str | None = None) -> None:
        for part in _chunks(list(ids)):
            stmt = sa.delete(t.objects).where(t.objects.c.id.in_(part))
            if pack is not None:
                stmt = stmt.where(t.objects.c.pack == pack)
            self.conn.execute(stmt)

    def move_objects(self, locations: Sequence[ObjectLocation], from_pack: str) -> None:
        if not locations:
            return
        stmt = (sa.update(t.objects)
                .where(t.objects.c.id == sa.bindparam("oid"), t.objects.c.pack == from_pack)
                .values(pack=sa.bindparam("npack"), offset=sa.bindparam("noff"),
                        length=sa.bindparam("nlen")))
        self.conn.execute(stmt, [{"oid": loc.id, "npack": loc.pack, "noff": loc.offset,
                                  "nlen": loc.length} for loc in locations])

    def forget_commits(self, ids: Sequence[str]) -> None:
        for part in _chunks(list(ids)):
            self.conn.execute(sa.delete(t.path_changes).where(
                t.path_changes.c.commit_id.in_(part)))
            self.conn.execute(sa.delete(t.commits).where(t.commits.c.id.in_(part)))

    def retire_packs(self, ids: Sequence[str], when: float) -> None:
        for part in _chunks(list(ids)):
            self.conn.execute(sa.update(t.packs).where(t.packs.c.id.in_(part))
                              .values(state="retired", retired_at=when))

    def deployed_commits(self) -> set[str]:
        return deployed_commits_in(self.conn)


def safe_url(url: str) -> str:
    """``url`` fit to show: credentials masked.

    SQLAlchemy renders its own URLs with the password hidden (it knows their grammar: a
    password may hold ``@`` or ``/``); the general rules then mask secret query parameters
    (``?sslpassword=``, ``?password=``). A string SQLAlchemy cannot parse (a typo, a bad
    port) is masked by the free-text rules instead of being echoed.
    """
    try:
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any parse failure: fall back to the loose rules
        return redact(url)
    return redact_url(shown)


class SqlCatalog(SqlLifecycleMixin, Catalog):
    """Catalog on any SQLAlchemy URL (tested: ``sqlite:///…``, ``postgresql+psycopg://…``)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # In-memory SQLite is one shared connection (StaticPool): transactions from several
        # threads (e.g. PackWriter's publishing thread) must take turns on it.
        self._lock = threading.RLock()
        try:
            self.engine: Engine = self._make_engine(url, echo)
        except ModuleNotFoundError as exc:
            if "psycopg" in str(exc):
                raise MissingDependency("a PostgreSQL catalog", "postgres") from None
            raise CatalogError(self._open_failed(url, exc)) from None
        except (SQLAlchemyError, ValueError) as exc:
            # A bad driver, a dialect typo or a bad port: the URL is in the message (so the
            # user sees which setting is wrong) but never its password.
            raise CatalogError(self._open_failed(url, exc)) from None
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._shared_conn = isinstance(self.engine.pool, sa.pool.StaticPool)

    @staticmethod
    def _open_failed(url: str, exc: BaseException) -> str:
        return f"cannot open catalog {safe_url(url)!r}: {redact(str(exc))}"

    # -- engine and transactions ------------------------------------------------------------
    @staticmethod
    def _make_engine(url: str, echo: bool) -> Engine:
        u = sa.engine.make_url(url)
        if u.get_backend_name() != "sqlite":
            return sa.create_engine(url, echo=echo, pool_pre_ping=True, future=True)
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 60,
                                      "check_same_thread": False})
        else:
            # One shared connection, or every pooled connection would see its own empty DB.
            engine = sa.create_engine(url, echo=echo, poolclass=sa.pool.StaticPool,
                                      connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so BEGIN is ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """A transaction; ``write`` takes SQLite's write lock up front."""
        try:
            with self._lock if self._shared_conn else nullcontext(), \
                    self.engine.connect() as conn:
                conn.info["write"] = write
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info["write"] = False
        except (RepoExists, RefExists, RefMoved, RefNotFound, RepoNotFound, ObjectsVanished):
            raise
        except OperationalError as exc:
            raise CatalogError(
                f"catalog unavailable ({self._where()}): {redact(str(exc.orig))}") from None
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise CatalogError(f"catalog error ({self._where()}): {redact(str(exc))}") from None

    @property
    def display_url(self) -> str:
        return safe_url(self.url)

    def _where(self) -> str:
        return self.display_url

    def migrate(self) -> None:
        # At the head (every open of an up-to-date catalog): decided without importing
        # Alembic, from the scripts' text (see catalog/revision.py).
        try:
            with self.engine.connect() as conn:
                if self._revision(conn) == script_head():
                    return
        except SQLAlchemyError as exc:
            raise CatalogError(f"catalog unavailable ({self._where()}): {redact(str(exc))}"
                               ) from None
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.connect() as conn:
                conn.info["write"] = True
                if not self.is_sqlite:
                    # Two processes initialising one fresh database must not race.
                    with conn.begin():
                        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242424242)")
                        if self._revision(conn) != head_revision():
                            cfg.attributes["connection"] = conn
                            command.upgrade(cfg, "head")
                else:
                    with conn.begin():
                        if self._revision(conn) != head_revision():
                            cfg.attributes["connection"] = conn
                            command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise CatalogError(f"cannot migrate catalog ({self._where()}): {redact(str(exc))}"
                               ) from None

    @staticmethod
    def _revision(conn: Connection) -> str | None:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def search_index(self) -> SqlSearchIndex:
        return SqlSearchIndex(self)

    def lineage_index(self) -> SqlLineageIndex:
        return SqlLineageIndex(self)

    def close(self) -> None:
        self.engine.dispose()

    # -- repositories -------------------------------------------------------------------------
    def create_repo(self, name: str, description: str = "", *, max_bytes: int | None = None,
                    max_files: int | None = None, initial_commit: CommitRow | None = None,
                    default_branch: str = "main") -> RepoRow:
        now = time.time()
        try:
            with self._tx(write=True) as conn:
                rid = conn.execute(sa.insert(t.repos).values(
                    name=name, description=description, created=now, max_bytes=max_bytes,
                    max_files=max_files).returning(t.repos.c.id)).scalar_one()
                if initial_commit is not None:
                    conn.execute(sa.insert(t.commits).values(_commit_values(rid,
                                                                            initial_commit)))
                    conn.execute(sa.insert(t.refs).values(
                        repo_id=rid, name=default_branch, kind="branch",
                        commit_id=initial_commit.id, updated=now))
        except IntegrityError:
            raise RepoExists(f"repository {name!r} already exists") from None
        return RepoRow(rid, name, description, now, max_bytes, max_files)

    def get_repo(self, name: str) -> RepoRow:
        with self._tx() as conn:
            r = conn.execute(sa.select(t.repos).where(t.repos.c.name == name)).first()
        if r is None:
            raise RepoNotFound(f"no repository named {name!r}")
        return RepoRow(r.id, r.name, r.description, r.created, r.max_bytes, r.max_files)

    def list_repos(self) -> list[RepoRow]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.repos).order_by(t.repos.c.name)).all()
        return [RepoRow(r.id, r.name, r.description, r.created, r.max_bytes, r.max_files)
                for r in rows]

    def delete_repo(self, name: str) -> None:
        with self._tx(write=True) as conn:
            rid = conn.execute(sa.select(t.repos.c.id).where(t.repos.c.name == name)).scalar()
            if rid is None:
                raise RepoNotFound(f"no repository named {name!r}")
            # Explicit deletes: SQLite enforces ON DELETE CASCADE only with foreign_keys=ON,
            # which an externally opened connection may lack.
            for table in (t.path_changes, t.commits, t.refs, t.alias_events, t.deployments,
                          t.deprecations):
                conn.execute(sa.delete(table).where(table.c.repo_id == rid))
            conn.execute(sa.delete(t.repos).where(t.repos.c.id == rid))

    def set_quota(self, repo_id: int, max_bytes: int | None, max_files: int | None) -> None:
        with self._tx(write=True) as conn:
            conn.execute(sa.update(t.repos).where(t.repos.c.id == repo_id)
                         .values(max_bytes=max_bytes, max_files=max_files))

    # -- refs -------------------------------------------------------------------------------
    def get_ref(self, repo_id: int, name: str) -> RefRow | None:
        with self._tx() as conn:
            r = conn.execute(sa.select(t.refs).where(t.refs.c.repo_id == repo_id,
                                                     t.refs.c.name == name)).first()
        return None if r is None else RefRow(r.name, r.kind, r.commit_id, r.updated)

    def list_refs(self, repo_id: int, kind: str | None = None) -> list[RefRow]:
        q = sa.select(t.refs).where(t.refs.c.repo_id == repo_id)
        if kind:
            q = q.where(t.refs.c.kind == kind)
        with self._tx() as conn:
            rows = conn.execute(q.order_by(t.refs.c.name)).all()
        return [RefRow(r.name, r.kind, r.commit_id, r.updated) for r in rows]

    def _gc_barrier(self, conn: Connection) -> None:
        """Writers' side of the gc barrier (PostgreSQL; SQLite's write lock already is one)."""
        if not self.is_sqlite:
            conn.execute(sa.select(t.gc_lock.c.id).where(t.gc_lock.c.id == 1)
                         .with_for_update(read=True))

    def create_ref(self, repo_id: int, name: str, kind: str, commit: str) -> RefRow:
        now = time.time()
        try:
            with self._tx(write=True) as conn:
                # The commit must still be stored when the ref appears: a ref made from the
                # id of a commit a concurrent gc is sweeping would dangle.
                self._gc_barrier(conn)
                if conn.execute(sa.select(t.objects.c.id).where(t.objects.c.id == commit)
                                ).first() is None:
                    raise RefNotFound(f"commit {commit[:12]} is not stored "
                                      "(garbage-collected, or never written)")
                conn.execute(sa.insert(t.refs).values(repo_id=repo_id, name=name, kind=kind,
                                                      commit_id=commit, updated=now))
        except IntegrityError:
            existing = self.get_ref(repo_id, name)
            what = existing.kind if existing else "ref"
            article = "an" if what == "alias" else "a"
            raise RefExists(f"{article} {what} named {name!r} already exists") from None
        return RefRow(name, kind, commit, now)

    def delete_ref(self, repo_id: int, name: str, kind: str) -> None:
        with self._tx(write=True) as conn:
            n = conn.execute(sa.delete(t.refs).where(
                t.refs.c.repo_id == repo_id, t.refs.c.name == name, t.refs.c.kind == kind
            )).rowcount
        if n != 1:
            raise RefNotFound(f"no {kind} named {name!r}")

    def update_ref(self, repo_id: int, name: str, expected: str, batch: CommitBatch,
                   new: str) -> None:
        with self._tx(write=True) as conn:
            self._gc_barrier(conn)
            required = list(batch.required_objects)
            if batch.own_packs and not self._packs_intact(conn, batch.own_packs):
                required += list(batch.own_objects)
            if required:
                present = self._existing(conn, required)
                if len(present) != len(set(required)):
                    raise ObjectsVanished(
                        f"{len(set(required)) - len(present)} objects were garbage-collected "
                        "while this commit was being prepared")
            self._index(conn, repo_id, batch)
            res = conn.execute(sa.update(t.refs).where(
                t.refs.c.repo_id == repo_id, t.refs.c.name == name,
                t.refs.c.kind == "branch", t.refs.c.commit_id == expected,
            ).values(commit_id=new, updated=time.time()))
            if res.rowcount != 1:
                exists = conn.execute(sa.select(t.refs.c.kind).where(
                    t.refs.c.repo_id == repo_id, t.refs.c.name == name)).scalar()
                if exists != "branch":
                    raise RefNotFound(f"no branch named {name!r}")
                raise RefMoved(f"branch {name!r} moved")

    @staticmethod
    def _packs_intact(conn: Connection, packs: Mapping[str, int]) -> bool:
        """True if each pack still indexes as many objects as it was published with."""
        counts: dict[str, int] = {}
        for part in _chunks(list(packs)):
            q = (sa.select(t.objects.c.pack, sa.func.count()).where(t.objects.c.pack.in_(part))
                 .group_by(t.objects.c.pack))
            counts.update({r[0]: int(r[1]) for r in conn.execute(q)})
        return all(counts.get(pid, 0) == n for pid, n in packs.items())

    # -- commit index -------------------------------------------------------------------------
    def _index(self, conn: Connection, repo_id: int, batch: CommitBatch) -> None:
        ids = [c.id for c in batch.commits]
        known: set[str] = set()
        for part in _chunks(ids):
            known.update(conn.execute(sa.select(t.commits.c.id).where(
                t.commits.c.repo_id == repo_id, t.commits.c.id.in_(part))).scalars())
        fresh = [c for c in batch.commits if c.id not in known]
        if fresh:
            conn.execute(sa.insert(t.commits), [_commit_values(repo_id, c) for c in fresh])
        rows = [{"repo_id": repo_id, "commit_id": cid, "path": ch.path, "change": ch.change}
                for cid, changes in batch.changes.items() if cid not in known
                for ch in changes]
        if rows:
            conn.execute(sa.insert(t.path_changes), rows)
        if batch.blobs:
            blob_ids = list({b.id for b in batch.blobs})
            have = self._existing_blobs(conn, blob_ids)
            seen: set[str] = set()
            new_blobs = []
            for b in batch.blobs:
                if b.id not in have and b.id not in seen:
                    seen.add(b.id)
                    new_blobs.append({"id": b.id, "size": b.size, "sha256": b.sha256,
                                      "md5": b.md5})
            if new_blobs:
                conn.execute(sa.insert(t.blobs), new_blobs)

    @staticmethod
    def _existing_blobs(conn: Connection, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for part in _chunks(ids):
            out.update(conn.execute(sa.select(t.blobs.c.id).where(t.blobs.c.id.in_(part)))
                       .scalars())
        return out

    def index_commits(self, repo_id: int, batch: CommitBatch) -> None:
        with self._tx(write=True) as conn:
            self._index(conn, repo_id, batch)

    def get_commits(self, repo_id: int, ids: Iterable[str]) -> dict[str, CommitRow]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, CommitRow] = {}
        with self._tx() as conn:
            for part in _chunks(wanted):
                for r in conn.execute(sa.select(t.commits).where(
                        t.commits.c.repo_id == repo_id, t.commits.c.id.in_(part))):
                    out[r.id] = _commit_from_row(r)
        return out

    def find_commits(self, repo_id: int, prefix: str, limit: int = 2) -> list[str]:
        upper = prefix + "g"  # 'g' sorts after every hex digit
        with self._tx() as conn:
            return list(conn.execute(sa.select(t.commits.c.id).where(
                t.commits.c.repo_id == repo_id, t.commits.c.id >= prefix,
                t.commits.c.id < upper).order_by(t.commits.c.id).limit(limit)).scalars())

    def commits_touching(self, repo_id: int, path: str) -> set[str]:
        pc = t.path_changes.c
        cond = sa.or_(pc.path == path, sa.and_(pc.path >= path + "/", pc.path < path + "0"))
        if not path:
            cond = sa.true()
        with self._tx() as conn:
            return set(conn.execute(sa.select(pc.commit_id).where(pc.repo_id == repo_id, cond)
                                    .distinct()).scalars())

    def count_commits(self, repo_id: int | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(t.commits)
        if repo_id is not None:
            q = q.where(t.commits.c.repo_id == repo_id)
        with self._tx() as conn:
            return int(conn.execute(q).scalar_one())

    # -- objects and packs ------------------------------------------------------------------
    def add_pack(self, pack: PackRow, objects: Sequence[ObjectLocation]) -> None:
        with self._tx(write=True) as conn:
            conn.execute(sa.insert(t.packs).values(
                id=pack.id, size=pack.size, nobjects=pack.nobjects, created=pack.created,
                state=pack.state, retired_at=pack.retired_at))
            ids = [o.id for o in objects]
            have = self._existing(conn, ids)
            rows = [{"id": o.id, "kind": o.kind, "pack": o.pack, "offset": o.offset,
                     "length": o.length} for o in objects if o.id not in have]
            if rows:
                conn.execute(sa.insert(t.objects), rows)
            # An object written again (a writer raced another, or could not dedup) moves to
            # the newest copy: that copy sits in a young pack gc will not sweep, so a commit
            # referencing it cannot lose it to a concurrent gc of the older copy.
            again = [{"oid": o.id, "npack": o.pack, "noff": o.offset, "nlen": o.length}
                     for o in objects if o.id in have]
            if again:
                conn.execute(sa.update(t.objects).where(t.objects.c.id == sa.bindparam("oid"))
                             .values(pack=sa.bindparam("npack"), offset=sa.bindparam("noff"),
                                     length=sa.bindparam("nlen")), again)

    @staticmethod
    def _existing(conn: Connection, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        uniq = list(dict.fromkeys(ids))
        for part in _chunks(uniq):
            out.update(conn.execute(sa.select(t.objects.c.id).where(t.objects.c.id.in_(part)))
                       .scalars())
        return out

    def locate(self, ids: Iterable[str]) -> dict[str, ObjectLocation]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, ObjectLocation] = {}
        with self._tx() as conn:
            for part in _chunks(wanted):
                for r in conn.execute(sa.select(t.objects).where(t.objects.c.id.in_(part))):
                    out[r.id] = _loc(r)
        return out

    def existing(self, ids: Iterable[str]) -> set[str]:
        with self._tx() as conn:
            return self._existing(conn, list(ids))

    def list_packs(self) -> list[PackRow]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.packs).order_by(t.packs.c.created)).all()
        return [PackRow(r.id, r.size, r.nobjects, r.created, r.state, r.retired_at)
                for r in rows]

    def pack_objects(self, pack: str) -> list[ObjectLocation]:
        with self._tx() as conn:
            rows = conn.execute(sa.select(t.objects).where(t.objects.c.pack == pack)
                                .order_by(t.objects.c.offset)).all()
        return [_loc(r) for r in rows]

    def iter_object_ids(self, kind: int | None = None) -> Iterable[tuple[str, int]]:
        q = sa.select(t.objects.c.id, t.objects.c.kind)
        if kind is not None:
            q = q.where(t.objects.c.kind == kind)
        with self._tx() as conn:
            return [(r.id, r.kind) for r in conn.execute(q)]

    # -- gc -----------------------------------------------------------------------------------
    @contextmanager
    def gc_exclusive(self) -> Iterator[GcSession]:
        with self._tx(write=True) as conn:
            if not self.is_sqlite:
                conn.execute(sa.select(t.gc_lock.c.id).where(t.gc_lock.c.id == 1)
                             .with_for_update())
            yield _SqlGcSession(conn)
            conn.execute(sa.update(t.gc_lock).where(t.gc_lock.c.id == 1)
                         .values(last_gc=time.time()))

    def all_refs(self) -> list[tuple[int, RefRow]]:
        with self._tx() as conn:
            return _SqlGcSession(conn).all_refs()

    def delete_packs(self, ids: Iterable[str]) -> None:
        with self._tx(write=True) as conn:
            for part in _chunks(list(ids)):
                conn.execute(sa.delete(t.objects).where(t.objects.c.pack.in_(part)))
                conn.execute(sa.delete(t.packs).where(t.packs.c.id.in_(part)))

    # -- file digests -------------------------------------------------------------------------
    def get_blob(self, file_id: str) -> BlobRow | None:
        with self._tx() as conn:
            r = conn.execute(sa.select(t.blobs).where(t.blobs.c.id == file_id)).first()
        return None if r is None else BlobRow(r.id, r.size, r.sha256, r.md5)

    def set_md5(self, file_id: str, md5: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(sa.update(t.blobs).where(t.blobs.c.id == file_id).values(md5=md5))

    def set_sha256(self, file_id: str, sha256: str) -> None:
        with self._tx(write=True) as conn:
            conn.execute(sa.update(t.blobs).where(t.blobs.c.id == file_id)
                         .values(sha256=sha256))

    def reset_derived(self) -> None:
        with self._tx(write=True) as conn:
            for table in (t.path_changes, t.commits, t.objects, t.packs, t.blobs):
                conn.execute(sa.delete(table))
