"""Shared fixtures: real PostgreSQL and real (moto) S3 on 127.0.0.1, started once per session.

* ``postgres_url`` (session) — URL of the ``postgres`` database of a throwaway cluster;
  ``pg_catalog_url`` (function) — URL of a fresh ``t_<uuid>`` database, dropped after the test.
* ``postgres_cluster`` (session) — the :class:`services.PostgresCluster` behind them, for
  tests that need ``create_database``/``drop_database`` themselves.
* ``s3_server`` (session) — endpoint URL of moto's threaded S3 server; ``s3_storage_url``
  (function) — ``(url, storage_options)`` for a fresh bucket, for
  ``open_storage(url, **storage_options)``; ``moto_s3`` (session) — the :class:`services.MotoS3`
  behind them (boto3 client, bucket helpers).

Tests that use them are marked ``postgres`` / ``s3`` automatically, so ``-m "not postgres"``
deselects them without starting anything. If a service cannot be provided, the test is skipped
on a developer machine and fails under CI (``CI`` set) — CI never skips silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from services import (
    MotoS3,
    PostgresCluster,
    aws_test_environment,
    find_pg_bindir,
    sigterm_as_interrupt,
    unavailable,
)

#: fixture name -> marker added to every test whose fixture closure includes it
_SERVICE_MARKERS = {"postgres_cluster": "postgres", "moto_s3": "s3"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in _SERVICE_MARKERS.items():
            if fixture in names:
                item.add_marker(getattr(pytest.mark, marker))


# -- PostgreSQL -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running throwaway cluster (see :class:`services.PostgresCluster`)."""
    bindir = find_pg_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; "
                    "apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed: pip install -e '.[test,postgres]'")
    cluster = PostgresCluster(bindir)
    with sigterm_as_interrupt():
        try:
            cluster.start()
            cluster.check()
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres`` of the session's cluster."""
    return postgres_cluster.url


@pytest.fixture
def pg_catalog_url(postgres_url: str, postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a fresh empty database ``t_<uuid>``, dropped (connections killed) after the test."""
    name = postgres_cluster.create_database()
    try:
        yield postgres_cluster.database_url(name)
    finally:
        postgres_cluster.drop_database(name)


# -- S3 ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server with fake AWS credentials in the environment (restored afterwards)."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        unavailable(f"{exc.name} is not installed: pip install -e '.[test,s3]'")
    with aws_test_environment():
        server = MotoS3()
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def s3_server(moto_s3: MotoS3) -> str:
    """Endpoint URL (``http://127.0.0.1:PORT``) of the session's moto S3 server."""
    assert moto_s3.endpoint is not None
    return moto_s3.endpoint


@pytest.fixture
def s3_storage_url(s3_server: str, moto_s3: MotoS3) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("s3://bl-<uuid8>/prefix", storage_options)`` on a fresh bucket, removed afterwards."""
    bucket = moto_s3.create_bucket()
    try:
        yield f"s3://{bucket}/prefix", moto_s3.storage_options()
    finally:
        moto_s3.remove_bucket(bucket)
