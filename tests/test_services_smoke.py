"""The service fixtures work, and this is how to use them (see ``conftest.py``)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from services import PostgresCluster


def test_postgres_fixture_gives_a_fresh_database(postgres_url: str, pg_catalog_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert pg_catalog_url.rsplit("/", 1)[0] == postgres_url.rsplit("/", 1)[0]
    engine = sa.create_engine(pg_catalog_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            assert conn.execute(sa.text("select current_database()")).scalar_one() == \
                pg_catalog_url.rsplit("/", 1)[1]
            # Fresh database: no user tables.
            assert conn.execute(sa.text(
                "select count(*) from information_schema.tables where table_schema = 'public'"
            )).scalar_one() == 0
            assert conn.execute(sa.text("show listen_addresses")).scalar_one() == "127.0.0.1"
    finally:
        engine.dispose()


def test_postgres_database_drop_survives_open_connections(
        postgres_url: str, postgres_cluster: PostgresCluster) -> None:
    """What ``pg_catalog_url`` does after each test: drop even if the test left connections."""
    name = postgres_cluster.create_database()
    engine = sa.create_engine(postgres_cluster.database_url(name))
    conn = engine.connect()  # deliberately left open, as a failing test might
    conn.execute(sa.text("create table t (x int)"))
    conn.commit()
    try:
        postgres_cluster.drop_database(name)
        admin = sa.create_engine(postgres_url)
        try:
            with admin.connect() as c:
                left = c.execute(sa.text("select count(*) from pg_database where datname = :n"),
                                 {"n": name}).scalar_one()
        finally:
            admin.dispose()
        assert left == 0
    finally:
        conn.invalidate()  # its server process was terminated by DROP ... WITH (FORCE)
        engine.dispose()


def test_s3_fixture_put_get_with_boto3(s3_server: str,
                                       s3_storage_url: tuple[str, dict[str, Any]]) -> None:
    import boto3

    assert s3_server.startswith("http://127.0.0.1:")
    url, _options = s3_storage_url
    assert url.startswith("s3://bl-") and url.endswith("/prefix")
    bucket = url[len("s3://"):].split("/", 1)[0]
    assert len(bucket) >= 3
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.put_object(Bucket=bucket, Key="prefix/hello", Body=b"world")
    assert client.get_object(Bucket=bucket, Key="prefix/hello")["Body"].read() == b"world"
    ranged = client.get_object(Bucket=bucket, Key="prefix/hello", Range="bytes=1-3")
    assert ranged["Body"].read() == b"orl"


def test_s3_storage_options_work_with_fsspec_and_skip_the_instance_cache(
        s3_storage_url: tuple[str, dict[str, Any]]) -> None:
    import fsspec

    from blacklake_ml.storage import open_storage

    url, options = s3_storage_url
    fs1, root = fsspec.core.url_to_fs(url, **options)
    fs2, _ = fsspec.core.url_to_fs(url, **options)
    assert type(fs1).__name__ == "S3FileSystem"
    assert fs1 is not fs2, "skip_instance_cache must give each storage its own S3FileSystem"
    assert root == url[len("s3://"):]
    key = f"k-{uuid.uuid4().hex}"
    fs1.pipe_file(f"{root}/{key}", b"via fs1")
    assert fs2.cat_file(f"{root}/{key}") == b"via fs1"

    storage = open_storage(url, **options)
    try:
        assert storage.get_bytes(key) == b"via fs1"
    finally:
        storage.close()


def test_s3_buckets_are_fresh_per_test(s3_storage_url: tuple[str, dict[str, Any]]) -> None:
    from blacklake_ml.storage import open_storage

    url, options = s3_storage_url
    storage = open_storage(url, **options)
    try:
        assert list(storage.list()) == []
    finally:
        storage.close()
