"""Fixtures of the DVC bridge tests (helpers live in ``dvc_support``).

* ``dvc_env`` (autouse) — DVC without analytics and with its site cache under ``tmp_path``;
  git with no global/system config.
* ``built_project`` (session) / ``project`` — the five-commit project of
  :func:`dvc_support.build_project`, built once; each test gets a private copy.
* ``store`` — an empty store under ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("dvc")

from dvc_support import Project, build_project

from blacklake_ml import Store


@pytest.fixture(autouse=True)
def dvc_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n"
                                        "[init]\n\tdefaultBranch = main\n")


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base = tmp_path_factory.mktemp("dvc-template")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DVC_NO_ANALYTICS", "1")
        mp.setenv("DVC_SITE_CACHE_DIR", str(base / "dvc-site-cache"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
        return build_project(base / "project")
    finally:
        mp.undo()


@pytest.fixture
def project(built_project: Project, tmp_path: Path) -> Project:
    """A private copy of the built project (tests may change it)."""
    dest = tmp_path / "project"
    shutil.copytree(built_project.path, dest, symlinks=True)
    return Project(dest, dict(built_project.shas),
                   {k: dict(v) for k, v in built_project.expected.items()})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "home")
    try:
        yield s
    finally:
        s.close()
