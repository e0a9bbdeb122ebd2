"""Credentials never reach a message, a log line or an answer (issue 10).

The helper itself (``blacklake_ml.core.redact``) on the URL and header shapes that carry
secrets, then each place a store URL is shown: the catalog's errors on engine-creation
failures, storage errors, ``describe``/``init --json``, ``lab --dry-run``, the CLI error
printer (also with ``BLACKLAKE_DEBUG`` tracebacks), ``Config``'s repr and the log filter. The
Jupyter answers are in ``tests/jupyter/test_jupyter_redaction.py``.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from helpers import run_cli

from blacklake_ml.config import load_config
from blacklake_ml.core.redact import (
    MASK,
    RedactingFilter,
    install_log_redaction,
    redact,
    redact_url,
)
from blacklake_ml.errors import CatalogError, StorageError
from blacklake_ml.service.store import Store

PW = "s3cr3t-Pa55"  # the secret every case hides; it must never show up

# -- the helper -------------------------------------------------------------------------------
URLS = {
    "postgres": (f"postgresql+psycopg://user:{PW}@db.example/blacklake",
                 "postgresql+psycopg://user:***@db.example/blacklake"),
    "password-with-delimiters": (f"postgresql://u:a/{PW}?#x@db/x?application_name=bl",
                                 "postgresql://u:***@db/x?application_name=bl"),
    "s3-userinfo": (f"s3://AKIAEXAMPLE:{PW}@bucket/prefix", "s3://AKIAEXAMPLE:***@bucket/prefix"),
    "query-password": (f"postgresql://db/x?sslpassword={PW}&sslmode=require",
                       "postgresql://db/x?sslpassword=***&sslmode=require"),
    "presigned-s3": (
        f"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={PW}"
        f"&X-Amz-Signature={PW}&X-Amz-Security-Token={PW}",
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
        "&X-Amz-Signature=***&X-Amz-Security-Token=***"),
    "azure-sas": (f"az://c/p?sv=2022-11-02&sig={PW}&se=2030",
                  "az://c/p?sv=2022-11-02&sig=***&se=2030"),
    "gcs-signed": (f"https://storage.googleapis.com/b/o?X-Goog-Signature={PW}",
                   "https://storage.googleapis.com/b/o?X-Goog-Signature=***"),
    "keys-in-query": (f"s3://b/p?access_key=AK&secret_key={PW}&token={PW}",
                      "s3://b/p?access_key=***&secret_key=***&token=***"),
    "api-key": (f"https://api.example/v1?key={PW}&q=x", "https://api.example/v1?key=***&q=x"),
    "fragment-token": (f"https://h/cb#access_token={PW}", "https://h/cb#access_token=***"),
}
UNCHANGED = ["s3://bucket/models@v1/x", "sqlite:////tmp/home/catalog.sqlite", "/local/path",
             "memory://bucket/prefix", "postgresql+psycopg://user@db/x",
             "https://h/p?region=eu-west-1&versionId=3"]


@pytest.mark.parametrize(("url", "shown"), list(URLS.values()), ids=list(URLS))
def test_redact_url_masks_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert PW not in redact_url(url)
    assert redact_url(redact_url(url)) == redact_url(url)  # idempotent
    # inside free text, quoted or parenthesised, as messages carry them
    for text in (f"cannot open {url!r}: boom", f"unavailable ({url}): refused", url):
        assert PW not in redact(text)


@pytest.mark.parametrize("url", UNCHANGED)
def test_redact_url_leaves_innocent_urls_alone(url: str) -> None:
    assert redact_url(url) == url and redact(f"at {url}: x") == f"at {url}: x"


@pytest.mark.parametrize("text", [
    f"Authorization: Bearer {PW}", f"authorization=Basic {PW}", f"Proxy-Authorization: {PW}",
    f"sent bearer {PW} to the server", f"x-api-key: {PW}",
    f"host=db port=5432 password={PW} user=bob", f"{{'secret': '{PW}', 'key': 'AKIA'}}",
    f'{{"password": "{PW}"}}', f"AccountName=a;AccountKey={PW};EndpointSuffix=x",
    f"aws_secret_access_key = {PW}", f"not a url user:{PW}@host",
])
def test_redact_masks_headers_pairs_and_loose_userinfo(text: str) -> None:
    out = redact(text)
    assert PW not in out and MASK in out
    assert redact(out) == out


def test_redact_keeps_ordinary_messages() -> None:
    for text in ("invalid metadata 'k=v': expected KEY=VALUE", "author: alice",
                 "exit code: 2", "no branch 'main' in repository 'demo'",
                 "Authorization required", ""):
        assert redact(text) == text
    assert redact("Authorization: Bearer abc") == "Authorization: Bearer ***"


# -- the catalog ------------------------------------------------------------------------------
BAD_CATALOGS = {
    "dialect-typo": f"postgresqll+psycopg://user:{PW}@db.example/x",
    "driver-typo": f"postgresql+psycopgg://user:{PW}@db.example/x",
    "bad-port": f"postgresql+psycopg://user:{PW}@db.example:notaport/x",
    "unparsable": f"postgresql+psycopg://user:{PW}@[::1/x",
    "not-a-url": f"user:{PW}@db.example",
}


@pytest.mark.parametrize("url", list(BAD_CATALOGS.values()), ids=list(BAD_CATALOGS))
def test_catalog_errors_never_show_the_password(tmp_path: Path, url: str) -> None:
    with pytest.raises(CatalogError) as info:
        Store.open(tmp_path / "home", catalog=url)
    message = str(info.value)
    assert PW not in message and "cannot open catalog" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_catalog_error_names_the_url_it_could_not_use(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        Store.open(tmp_path / "home", catalog=BAD_CATALOGS["dialect-typo"])
    assert "postgresqll+psycopg://user:***@db.example/x" in str(info.value)


def test_an_unreachable_catalog_hides_query_passwords(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://user:{PW}@127.0.0.1:1/x?sslpassword={PW}&connect_timeout=2"
    with pytest.raises(CatalogError) as info:
        Store.open(tmp_path / "home", catalog=url)
    assert PW not in str(info.value) and "127.0.0.1" in str(info.value)


# pysqlite ignores the query argument (and warns, naming the argument, not its value)
@pytest.mark.filterwarnings("ignore:Query string argument")
def test_display_urls_are_masked(tmp_path: Path) -> None:
    from blacklake_ml.catalog.sql import SqlCatalog, safe_url

    assert safe_url(f"postgresql+psycopg://u:{PW}@h/db?password={PW}") == \
        "postgresql+psycopg://u:***@h/db?password=***"
    cat = SqlCatalog(f"sqlite:///{tmp_path / 'c.sqlite'}?password={PW}")
    try:
        assert PW not in cat.display_url
    finally:
        cat.close()


# -- storage, describe, config ------------------------------------------------------------------
def test_storage_urls_are_masked_in_describe_and_repr(tmp_path: Path) -> None:
    url = f"memory://AKIAEXAMPLE:{PW}@bucket/{tmp_path.name}?token={PW}"
    with Store.open(tmp_path / "home", storage=url) as st:
        where = st.describe()
        assert where["storage"] == f"memory://AKIAEXAMPLE:***@bucket/{tmp_path.name}?token=***"
        assert PW not in repr(st.storage) and PW not in json.dumps(where)
        assert st.storage.url == url  # the real URL is still what the backend uses


def test_storage_open_errors_never_show_the_password(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        Store.open(tmp_path / "home", storage=f"nosuchproto://user:{PW}@host/x")
    assert PW not in str(info.value) and "nosuchproto://user:***@host/x" in str(info.value)
    assert info.value.__cause__ is None


def test_config_repr_hides_urls_and_storage_options(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, env={
        "BLACKLAKE_CATALOG": f"postgresql+psycopg://u:{PW}@h/db",
        "BLACKLAKE_STORAGE": f"s3://AK:{PW}@bucket",
        "BLACKLAKE_STORAGE_OPTIONS": json.dumps({"secret": PW, "key": "AK"})})
    assert PW not in repr(cfg) and "u:***@h/db" in repr(cfg)
    assert cfg.catalog.endswith(f":{PW}@h/db")  # the value itself is intact


# -- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize("url", list(BAD_CATALOGS.values()), ids=list(BAD_CATALOGS))
def test_cli_catalog_errors_never_print_the_password(tmp_path: Path, url: str) -> None:
    home = tmp_path / "home"
    for res in (run_cli(home, "--catalog", url, "repo", "list"),
                run_cli(home, "repo", "list", "--json", env={"BLACKLAKE_CATALOG": url}),
                run_cli(home, "init", env={"BLACKLAKE_CATALOG": url, "BLACKLAKE_DEBUG": "1"})):
        assert res.exit_code == CatalogError.exit_code, res.stderr
        assert PW not in res.stderr and PW not in res.stdout
        assert "cannot open catalog" in res.stderr


def test_cli_debug_tracebacks_are_masked(tmp_path: Path) -> None:
    res = run_cli(tmp_path / "home", "repo", "list",
                  env={"BLACKLAKE_CATALOG": BAD_CATALOGS["driver-typo"], "BLACKLAKE_DEBUG": "1"})
    assert "Traceback" in res.stderr and PW not in res.stderr


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_cli_init_json_masks_the_store_urls(tmp_path: Path) -> None:
    storage = f"memory://AKIAEXAMPLE:{PW}@bucket/{tmp_path.name}?X-Amz-Signature={PW}"
    catalog = f"sqlite:///{tmp_path / 'c.sqlite'}?password={PW}"
    for args in (("init", "--json"), ("init",)):
        res = run_cli(tmp_path / "home", "--storage", storage, "--catalog", catalog, *args)
        assert res.exit_code == 0, res.stderr
        assert PW not in res.stdout + res.stderr
    doc = json.loads(run_cli(tmp_path / "home", "--storage", storage, "--catalog", catalog,
                             "init", "--json").stdout)
    assert doc["storage"] == f"memory://AKIAEXAMPLE:***@bucket/{tmp_path.name}" \
        "?X-Amz-Signature=***"


def test_cli_lab_dry_run_masks_the_environment_it_shows(tmp_path: Path) -> None:
    catalog = f"postgresql+psycopg://u:{PW}@db/x"
    for extra in ((), ("--json",)):
        res = run_cli(tmp_path / "home", "--catalog", catalog, "lab", "--dry-run", *extra)
        assert res.exit_code == 0, res.stderr
        assert PW not in res.stdout and "u:***@db/x" in res.stdout


# -- logs -------------------------------------------------------------------------------------
def test_the_log_filter_masks_messages_args_and_tracebacks() -> None:
    logger = logging.getLogger("tests.redact")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    install_log_redaction(logger)
    install_log_redaction(logger)  # idempotent
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    try:
        logger.warning("opening %s", f"postgresql://u:{PW}@h/db")
        try:
            raise RuntimeError(f"cannot reach s3://AK:{PW}@bucket")
        except RuntimeError:
            logger.exception("store unavailable (token=%s)", PW)
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert PW not in out
    assert "postgresql://u:***@h/db" in out and "RuntimeError" in out and "token=***" in out


def test_store_listener_failures_are_logged_masked(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with Store.open(tmp_path / "home") as st:
        repo = st.create_repo("demo")

        def failing(_repo: object) -> None:
            raise RuntimeError(f"index at postgresql://u:{PW}@h/db is gone")

        st.ref_listeners.append(failing)
        with caplog.at_level(logging.WARNING, logger="blacklake_ml.service.store"):
            repo.create_branch("dev")
    assert "ref listener" in caplog.text and PW not in caplog.text
