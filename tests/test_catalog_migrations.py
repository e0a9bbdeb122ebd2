"""The catalog's SQLAlchemy models against its Alembic migrations, and the head revision.

``schema.py`` (with ``search_schema.py`` and ``lineage_schema.py``, whose tables join the same
``MetaData``) repeats the DDL the migrations run. Here a fresh database is migrated to the head
exactly as ``SqlCatalog.migrate`` does it, on SQLite and on PostgreSQL, and compared with the
models by Alembic's autogenerate (``compare_metadata``: tables, columns, types, nullability,
server defaults, indexes, unique and foreign-key constraints) plus what autogenerate does not
look at (primary keys, ``ON DELETE``, collations, autoincrement). The only tables allowed to
exist outside the models are the dialect-specific full-text ones the search migration builds.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import blacklake_ml.catalog as catalog_pkg
from blacklake_ml.catalog import open_catalog
from blacklake_ml.catalog.revision import MIGRATIONS, head_revision, script_head, script_heads
from blacklake_ml.catalog.schema import metadata
from blacklake_ml.catalog.sql import SqlCatalog

#: tables the migrations create that have no model, by dialect: the full-text index
#: (0003_search) is written in raw SQL per dialect. FTS5 keeps its data in shadow tables.
UNMODELLED = {
    "sqlite": {"search_fts", "search_fts_vocab", "search_fts_data", "search_fts_idx",
               "search_fts_content", "search_fts_docsize", "search_fts_config"},
    "postgresql": {"search_text"},
}


def _catalog_modules() -> list[Any]:
    """Every module of ``blacklake_ml.catalog`` (not the migration scripts)."""
    mods = [catalog_pkg]
    for info in pkgutil.iter_modules(catalog_pkg.__path__, catalog_pkg.__name__ + "."):
        if not info.name.endswith(".migrations"):
            mods.append(importlib.import_module(info.name))
    return mods


def test_every_catalog_table_is_in_the_one_metadata() -> None:
    """What the comparisons below compare against is the whole catalog."""
    metadatas: dict[int, sa.MetaData] = {}
    tables: dict[int, sa.Table] = {}
    for mod in _catalog_modules():
        for value in vars(mod).values():
            if isinstance(value, sa.MetaData):
                metadatas[id(value)] = value
            elif isinstance(value, sa.Table):
                tables[id(value)] = value
    assert list(metadatas.values()) == [metadata]
    assert {tb.name for tb in tables.values()} == set(metadata.tables)
    assert all(tb.metadata is metadata for tb in tables.values())
    # search and lineage tables included (they join `metadata` when their modules load)
    assert {"search_cards", "search_facets", "lineage_nodes", "lineage_edges",
            "deployments", "blobs"} <= set(metadata.tables)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.sqlite'}"


def _migrated(url: str) -> SqlCatalog:
    """A fresh catalog at ``url`` upgraded to the head by Alembic (``SqlCatalog.migrate``)."""
    cat = SqlCatalog(url)
    assert _recorded_revision(cat.engine) is None  # really fresh
    cat.migrate()
    return cat


def _recorded_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _diff(conn: sa.Connection, target: sa.MetaData) -> list[Any]:
    unmodelled = UNMODELLED[conn.dialect.name]

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return not (type_ == "table" and name in unmodelled)

    ctx = MigrationContext.configure(conn, opts={
        "compare_type": True, "compare_server_default": True, "include_name": include_name})
    return list(compare_metadata(ctx, target))


def _beyond_autogenerate(conn: sa.Connection) -> list[str]:
    """Differences autogenerate does not report: primary keys, foreign keys' ON DELETE,
    column collations, autoincrement (PostgreSQL serials)."""
    insp = sa.inspect(conn)
    dialect = conn.dialect
    problems: list[str] = []
    for table in metadata.sorted_tables:
        name = table.name
        pk = insp.get_pk_constraint(name)["constrained_columns"]
        if pk != [c.name for c in table.primary_key.columns]:
            problems.append(f"{name}: primary key {pk} in the database, "
                            f"{[c.name for c in table.primary_key.columns]} in the model")
        db_fks = {(tuple(fk["constrained_columns"]), fk["referred_table"],
                   tuple(fk["referred_columns"]), (fk["options"].get("ondelete") or "").upper())
                  for fk in insp.get_foreign_keys(name)}
        model_fks = {(tuple(fk.column_keys), fk.referred_table.name,
                      tuple(e.column.name for e in fk.elements), (fk.ondelete or "").upper())
                     for fk in table.foreign_key_constraints}
        if db_fks != model_fks:
            problems.append(f"{name}: foreign keys {sorted(db_fks)} in the database, "
                            f"{sorted(model_fks)} in the model")
        db_cols = {c["name"]: c for c in insp.get_columns(name)}
        for col in table.columns:
            model_collation = getattr(col.type.dialect_impl(dialect), "collation", None)
            db_collation = getattr(db_cols[col.name]["type"], "collation", None)
            if dialect.name == "postgresql" and model_collation != db_collation:
                problems.append(f"{name}.{col.name}: collation {db_collation!r} in the "
                                f"database, {model_collation!r} in the model")
        if dialect.name == "postgresql":
            db_auto = {n for n, c in db_cols.items() if c.get("autoincrement") is True}
            auto = table.autoincrement_column
            model_auto = set() if auto is None else {auto.name}
            if db_auto != model_auto:
                problems.append(f"{name}: autoincrement {sorted(db_auto)} in the database, "
                                f"{sorted(model_auto)} in the model")
    return problems


def _check_models_match_migrations(cat: SqlCatalog) -> None:
    with cat.engine.connect() as conn:
        dialect = conn.dialect.name
        tables = set(sa.inspect(conn).get_table_names())
        # nothing but the models, the version table and the unmodelled full-text tables
        assert tables == set(metadata.tables) | UNMODELLED[dialect] | {"alembic_version"}
        assert _diff(conn, metadata) == []
        assert _beyond_autogenerate(conn) == []

        # The comparison is not vacuous: a model that drifted from the migrations shows.
        drifted = sa.MetaData()
        for table in metadata.sorted_tables:
            table.to_metadata(drifted)
        drifted.tables["blobs"].c.sha256.nullable = False
        drifted.tables["search_cards"].append_column(sa.Column("extra", sa.Integer))
        sa.Index("ix_lineage_nodes_kind", drifted.tables["lineage_nodes"].c.kind)
        kinds = {(op[0][0] if isinstance(op, list) else op[0]) for op in _diff(conn, drifted)}
        assert kinds == {"modify_nullable", "add_column", "add_index"}


def test_sqlite_models_match_the_migrations(sqlite_url: str) -> None:
    cat = _migrated(sqlite_url)
    try:
        _check_models_match_migrations(cat)
    finally:
        cat.close()


@pytest.mark.postgres
def test_postgres_models_match_the_migrations(pg_catalog_url: str) -> None:
    cat = _migrated(pg_catalog_url)
    try:
        _check_models_match_migrations(cat)
    finally:
        cat.close()


# -- the head revision ------------------------------------------------------------------------
def test_head_revision_is_alembics_and_the_cheap_reading_agrees() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert head_revision() == script.get_current_head()
    assert script_head() == head_revision()
    # the text reading sees the same revisions as Alembic, not just the same head
    assert script_heads(MIGRATIONS / "versions") == set(script.get_heads())


def _write_script(versions: Path, rev: str, down: str) -> None:
    # the forms Alembic's templates write: this project's (repr, single quotes) and the
    # generic one (annotated), and a merge point's tuple
    (versions / f"{rev}_x.py").write_text(
        f'"""x\n\nRevision ID: {rev}\n"""\n'
        f"revision: str = {rev!r}\n"
        f"down_revision: str | tuple[str, ...] | None = {down}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n    revision = 'not this'\n\n\n"
        "def downgrade() -> None:\n    pass\n")


@pytest.mark.parametrize("graph, heads", [
    ({"a1": "None", "b2": "'a1'", "c3": "'b2'"}, {"c3"}),
    ({"a1": "None", "b2": "'a1'", "c3": "'a1'"}, {"b2", "c3"}),
    ({"a1": "None", "b2": "'a1'", "c3": "'a1'", "d4": "('b2', 'c3')"}, {"d4"}),
    ({"a1": "None", "b2": "\"a1\""}, {"b2"}),
])
def test_the_text_reading_agrees_with_alembic_on_other_graphs(
        tmp_path: Path, graph: dict[str, str], heads: set[str]) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "__init__.py").write_text("")
    for rev, down in graph.items():
        _write_script(versions, rev, down)
    assert set(ScriptDirectory(str(tmp_path)).get_heads()) == heads
    assert script_heads(versions) == heads


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    yield sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_catalog_url")


def test_a_new_catalog_records_the_head(fresh_url: str) -> None:
    from blacklake_ml.catalog.sqlite_fast import FastSqliteCatalog

    cat = open_catalog(fresh_url)  # created and migrated
    try:
        engine = cat.engine if isinstance(cat, SqlCatalog) else None
        assert engine is not None
        assert _recorded_revision(engine) == head_revision()
    finally:
        cat.close()
    again = open_catalog(fresh_url)  # an up-to-date SQLite file reopens on the fast path
    try:
        assert isinstance(again, FastSqliteCatalog) == fresh_url.startswith("sqlite")
        assert again.migrate() is None  # at the head: nothing to do
    finally:
        again.close()
