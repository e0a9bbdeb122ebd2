"""Errors map to status codes in one place, with ``{message, reason}`` bodies and no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from jupyter_helpers import Call
from tornado.web import HTTPError

from blacklake_ml import errors as e
from blacklake_ml.jupyter import views
from blacklake_ml.jupyter.errors import INTERNAL_MESSAGE, error_response


@pytest.mark.parametrize(("exc", "status"), [
    (e.InvalidInput("bad"), 400), (e.InvalidName("bad"), 400), (e.InvalidPath("bad"), 400),
    (e.InvalidURI("bad"), 400), (e.InvalidVersion("bad"), 400),
    (e.AmbiguousRef("abcdef12", ["abcdef12" + "0" * 56, "abcdef12" + "1" * 56]), 400),
    (e.RepoNotFound("x"), 404), (e.RefNotFound("x"), 404), (e.PathNotFound("x"), 404),
    (e.NoHistory("x"), 404), (e.EnvironmentNotFound("x"), 404),
    (e.ObjectNotFound("store damaged"), 500),
    (e.RepoExists("x"), 409), (e.RefExists("x"), 409),
    (e.MergeConflict("conflict", ["b", "a"]), 409), (e.CommitConflict("c", ["p"]), 409),
    (e.RefConflict("moved"), 409), (e.RefMoved("lost"), 409), (e.ObjectsVanished("gc"), 409),
    (e.QuotaExceeded("full"), 413), (e.MissingDependency("dense search", "search"), 501),
    (e.CorruptObject("bad bytes"), 500), (e.StorageError("s3 down"), 500),
    (e.CatalogError("db down"), 500), (HTTPError(405), 405), (HTTPError(403), 403),
])
def test_each_error_kind_has_one_status(exc: Exception, status: int) -> None:
    got, body = error_response(exc)
    assert got == status
    assert set(body) >= {"message", "reason"} and "traceback" not in body
    if isinstance(exc, e.BlacklakeError):
        assert body["message"] == str(exc) and body["reason"] == type(exc).__name__


def test_conflict_bodies_list_paths_and_ambiguous_refs_list_candidates() -> None:
    _, body = error_response(e.MergeConflict("merge conflict", ["b.txt", "a.txt"]))
    assert body["conflicts"] == ["a.txt", "b.txt"]
    _, body = error_response(e.AmbiguousRef("abcdef12", ["abcdef12" + "0" * 56]))
    assert body["candidates"] == ["abcdef12" + "0" * 56]


def test_unexpected_errors_get_a_generic_message() -> None:
    status, body = error_response(RuntimeError("password=hunter2"))
    assert status == 500 and body == {"message": INTERNAL_MESSAGE, "reason": "InternalError"}


async def test_not_found_statuses(api: Call) -> None:
    status, doc = await api("GET", "repos/nope")
    assert status == 404 and doc["reason"] == "RepoNotFound" and "nope" in doc["message"]
    status, doc = await api("GET", "repos/hub/tree/no-such-ref")
    assert status == 404 and doc["reason"] == "RefNotFound"
    status, doc = await api("GET", "repos/hub/file/main", params={"path": "missing.bin"})
    assert status == 404 and doc["reason"] == "PathNotFound"
    status, doc = await api("DELETE", "repos/hub/branches/never")
    assert status == 404 and doc["reason"] == "RefNotFound"
    status, doc = await api("GET", "repos/hub/aliases/never")
    assert status == 404
    status, doc = await api("GET", "no/such/route")
    assert status == 404 and doc["reason"] == "NotFound" and "no/such/route" in doc["message"]
    status, doc = await api("GET", "similar", params={"uri": "blacklake://nope/main/x"})
    assert status == 404 and doc["reason"] == "RepoNotFound"
    status, doc = await api("GET", "lineage", params={"uri": "blacklake://hub/main/nope"})
    assert status == 404 and doc["reason"] == "PathNotFound" and "nope" in doc["message"]
    status, doc = await api("GET", "lineage", params={"uri": "blacklake://hub/nope/models"})
    assert status == 404 and doc["reason"] == "RefNotFound"


@pytest.mark.parametrize(("method", "route", "params", "body", "reason"), [
    ("GET", "repos/NotAName", None, None, "InvalidName"),
    ("GET", "repos", {"offset": "-1"}, None, "InvalidInput"),
    ("GET", "repos", {"limit": "0"}, None, "InvalidInput"),
    ("GET", "repos", {"limit": "1001"}, None, "InvalidInput"),
    ("GET", "repos", {"limit": "ten"}, None, "InvalidInput"),
    ("GET", "repos/hub/refs", {"kind": "remote"}, None, "InvalidInput"),
    ("GET", "repos/hub/tree/main", {"path": "../etc"}, None, "InvalidPath"),
    ("GET", "repos/hub/tree/main", {"path": "notes.txt"}, None, "InvalidInput"),
    ("GET", "repos/hub/tree/main~1", None, None, "InvalidName"),
    ("GET", "repos/hub/file/main", {"path": "notes.txt", "md5": "maybe"}, None,
     "InvalidInput"),
    ("GET", "repos/hub/diff", {"a": "main"}, None, "InvalidInput"),
    ("GET", "repos/hub/diff", {"a": "main", "b": "main", "details": "2"}, None,
     "InvalidInput"),
    ("GET", "search", None, None, "InvalidInput"),
    ("GET", "search", {"q": "speech", "filter": "colour=red"}, None, "InvalidInput"),
    ("GET", "search", {"q": "speech", "mode": "magic"}, None, "InvalidInput"),
    ("GET", "search", {"q": "speech", "limit": "101"}, None, "InvalidInput"),
    ("GET", "similar", {"uri": "http://example.com/x"}, None, "InvalidURI"),
    ("GET", "similar", {"uri": "blacklake://hub/main/models"}, None, "InvalidInput"),
    ("GET", "lineage", {"uri": "blacklake://hub/main/models", "depth": "9"}, None,
     "InvalidInput"),
    ("POST", "repos/hub/branches", None, b"{not json", "InvalidInput"),
    ("POST", "repos/hub/branches", None, ["x"], "InvalidInput"),
    ("POST", "repos/hub/branches", None, {"name": "x", "colour": "red"}, "InvalidInput"),
    ("POST", "repos/hub/branches", None, {"from": "main"}, "InvalidInput"),
    ("POST", "repos/hub/branches", None, {"name": 7}, "InvalidInput"),
    ("POST", "repos/hub/branches", None, {"name": "a/b"}, "InvalidName"),
    ("POST", "repos/hub/tags", None, {"name": "t"}, "InvalidInput"),
    ("PUT", "repos/hub/aliases/champion", None, {"ref": "main", "reason": "a\nb"},
     "InvalidInput"),
    ("POST", "repos/hub/merge", None, {"source": "experiment", "target": "main",
                                       "strategy": 5}, "InvalidInput"),
    ("POST", "repos/hub/merge", None, {"source": "experiment", "target": "main",
                                       "strategy": "mine"}, "InvalidInput"),
    ("POST", "repos/hub/merge", None, {"source": "experiment", "target": "main",
                                       "message": ""}, "InvalidMessage"),
    ("POST", "repos/hub/merge", None, {"source": "experiment", "target": "main",
                                       "no_ff": "yes"}, "InvalidInput"),
])
async def test_bad_input_is_a_400_naming_the_problem(api: Call, method: str, route: str,
                                                     params: Any, body: Any,
                                                     reason: str) -> None:
    status, doc = await api(method, route, params=params, body=body)
    assert status == 400, doc
    assert doc["reason"] == reason and doc["message"]


async def test_nothing_changes_on_bad_input(api: Call) -> None:
    _, before = await api("GET", "repos/hub/refs")
    await api("POST", "repos/hub/branches", body={"name": "x", "colour": "red"})
    await api("PUT", "repos/hub/aliases/champion", body={"ref": "main", "reason": "a\nb"})
    _, after = await api("GET", "repos/hub/refs")
    assert after == before


async def test_taken_names_and_lost_compare_and_swap_are_409(api: Call) -> None:
    status, doc = await api("POST", "repos/hub/branches", body={"name": "main"})
    assert status == 409 and doc["reason"] == "RefExists"
    status, doc = await api("POST", "repos/hub/tags", body={"name": "baseline", "ref": "main"})
    assert status == 409 and doc["reason"] == "RefExists"
    status, doc = await api("POST", "repos/hub/tags", body={"name": "1.0.0", "ref": "main"})
    assert status == 409  # the version v1.0.0 under another spelling
    status, doc = await api("PUT", "repos/hub/aliases/champion",
                            body={"ref": "main", "expect": "feature"})
    assert status == 409 and doc["reason"] == "RefConflict" and doc["conflicts"] == []
    _, detail = await api("GET", "repos/hub")
    assert detail["aliases"][0]["label"] == "v1.0.0"  # unchanged


async def test_quota_exceeded_is_413(api: Call) -> None:
    status, doc = await api("POST", "repos/tiny/merge", body={"source": "more",
                                                               "target": "main"})
    assert status == 413 and doc["reason"] == "QuotaExceeded" and "quota" in doc["message"]


async def test_wrong_method_is_a_json_405(api: Call) -> None:
    status, doc = await api("PATCH", "repos", body={})
    assert status == 405 and doc["message"]
    status, doc = await api("DELETE", "repos/hub/merge")
    assert status == 405


async def test_bugs_are_a_generic_500_and_logged_with_traceback(
        api: Call, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(store: Any, repo: Any) -> Any:
        raise RuntimeError("secret-detail")

    monkeypatch.setattr(views, "stats", broken)
    with caplog.at_level(logging.ERROR):
        status, doc = await api("GET", "stats")
    assert status == 500
    assert doc == {"message": INTERNAL_MESSAGE, "reason": "InternalError"}
    assert "secret-detail" in caplog.text and "Traceback" in caplog.text


@pytest.mark.parametrize(("exc", "status"), [
    (e.CorruptObject("object 1234 is corrupt"), 500),
    (e.StorageError("bucket unreachable"), 500),
    (e.MissingDependency("dense search", "search"), 501),
])
async def test_store_failures_keep_their_message(api: Call, monkeypatch: pytest.MonkeyPatch,
                                                 exc: Exception, status: int) -> None:
    def failing(store: Any, repo: Any) -> Any:
        raise exc

    monkeypatch.setattr(views, "stats", failing)
    got, doc = await api("GET", "stats")
    assert got == status
    assert doc == {"message": str(exc), "reason": type(exc).__name__}
