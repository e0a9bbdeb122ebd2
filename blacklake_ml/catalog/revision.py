"""The catalog schema revision this version of BlackLake writes: the head of the Alembic
script directory ``migrations/`` (nothing hard-coded; adding a migration moves it).

Two readings of the same scripts, each computed once per process:

* :func:`head_revision` asks Alembic (``ScriptDirectory.get_current_head()``). It imports
  Alembic (and SQLAlchemy), ~0.1 s, so it is used only where Alembic runs anyway: when
  :meth:`SqlCatalog.migrate <blacklake_ml.catalog.sql.SqlCatalog.migrate>` is about to
  upgrade, and in the tests.
* :func:`script_head` reads the ``revision`` / ``down_revision`` assignments of the scripts
  in ``migrations/versions`` as text (the attributes Alembic itself reads from them) and
  returns the one revision nothing revises. Standard library only, so the checks every open
  makes — the SQLite fast path's "is this file at the head?" and ``migrate``'s early return
  — cost a few file reads once per process, not an Alembic import.

``tests/test_catalog_migrations.py`` checks the two agree, that the models in ``schema.py``
(and the search and lineage tables) match what the migrations build, and that a new catalog
records this revision.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from blacklake_ml.errors import CatalogError

#: the Alembic script directory (``env.py``, ``versions/``)
MIGRATIONS = Path(__file__).with_name("migrations")


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The head revision as Alembic's script directory computes it (imports Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()  # raises on several heads
    if head is None:
        raise CatalogError(f"no catalog migrations in {MIGRATIONS}")
    return head


@lru_cache(maxsize=1)
def script_head() -> str:
    """The head revision read from the migration scripts' text, without importing Alembic
    (see the module doc); the same answer as :func:`head_revision`."""
    heads = script_heads(MIGRATIONS / "versions")
    if len(heads) != 1:
        raise CatalogError(f"the catalog migrations in {MIGRATIONS} have "
                           f"{len(heads)} heads, not one: {sorted(heads)}")
    return heads.pop()


def script_heads(versions: Path) -> set[str]:
    """The revisions of the scripts in ``versions`` that no script revises (as text)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    # Alembic's rule for which files are revisions: *.py, not __init__, not ".#" locks.
    # (os.listdir, not Path.glob: no pattern to compile on the open path.)
    for name in os.listdir(versions):
        if not name.endswith(".py") or name == "__init__.py" or name.startswith(".#"):
            continue
        rev: list[str] = []
        down: list[str] = []
        with open(os.path.join(versions, name), encoding="utf-8") as f:
            text = f.read()
        for line in text.splitlines():
            if not line.startswith(("revision", "down_revision")):
                continue
            if (value := _assigned(line, "revision")) is not None:
                rev = _strings(value)
            elif (value := _assigned(line, "down_revision")) is not None:
                down = _strings(value)
        if len(rev) != 1:
            continue  # not a revision script (Alembic skips it too)
        revisions.add(rev[0])
        revised.update(down)
    return revisions - revised


def _assigned(line: str, name: str) -> str | None:
    """What a module-level ``name = …`` or ``name: T = …`` line assigns, or None."""
    if not line.startswith(name):
        return None
    rest = line[len(name):].lstrip(" \t")
    if rest.startswith(":"):
        rest = rest.partition("=")[2]
    elif rest.startswith("=") and not rest.startswith("=="):
        rest = rest[1:]
    else:
        return None
    return rest.partition("#")[0]  # not a trailing comment


def _strings(value: str) -> list[str]:
    """The quoted strings in ``"0004"``, ``('0003', '0004')``, ``None`` (none)."""
    return value.replace("'", '"').split('"')[1::2]
