"""Every error carries its HTTP status next to its exit code, and both HTTP layers use it.

The gateway (:mod:`blacklake_ml.gateway.server`) and the Jupyter extension
(:mod:`blacklake_ml.jupyter.errors`) once had maps of their own that disagreed (issue 13);
now both read ``http_status`` off the error's class.
"""

from __future__ import annotations

import pytest

pytest.importorskip("tornado")

import blacklake_ml.convert  # noqa: E402, F401  (UntrustedModel, ConversionError join the walk)
from blacklake_ml import errors as e  # noqa: E402
from blacklake_ml.gateway.server import status_for as gateway_status  # noqa: E402
from blacklake_ml.jupyter.errors import status_for as jupyter_status  # noqa: E402


def _all_subclasses(cls: type[e.BlacklakeError]) -> list[type[e.BlacklakeError]]:
    seen: dict[type[e.BlacklakeError], None] = {}
    todo = [cls]
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen[c] = None
        todo.extend(c.__subclasses__())
    return sorted(seen, key=lambda c: (c.__module__, c.__qualname__))


#: constructor arguments of the classes whose ``__init__`` is not ``(message)``
_ARGS: dict[type[e.BlacklakeError], tuple[object, ...]] = {
    e.AmbiguousRef: ("abcdef12", ["abcdef12" + "0" * 56, "abcdef12" + "1" * 56]),
    e.MissingDependency: ("dense search", "search"),
}


def _instance(cls: type[e.BlacklakeError]) -> e.BlacklakeError:
    """An instance of ``cls``, built with the arguments its nearest special base takes."""
    for base in cls.__mro__:
        if base in _ARGS:
            return cls(*_ARGS[base])
    return cls(f"a {cls.__name__}")


ALL = _all_subclasses(e.BlacklakeError)


def test_the_walk_finds_the_whole_hierarchy() -> None:
    names = {c.__name__ for c in ALL}
    assert {"BlacklakeError", "InvalidInput", "AmbiguousRef", "NotFound", "ObjectNotFound",
            "AlreadyExists", "DirectoryNotEmpty", "ConflictError", "MergeConflict",
            "RefMoved", "ObjectsVanished", "QuotaExceeded", "CorruptObject", "StorageError",
            "CatalogError", "MissingDependency", "Cancelled"} <= names
    in_module = {name for name, obj in vars(e).items()
                 if isinstance(obj, type) and issubclass(obj, e.BlacklakeError)}
    assert in_module <= names
    assert {"UntrustedModel", "ConversionError"} <= names  # subclasses outside errors.py


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_gateway_and_jupyter_agree_with_the_class(cls: type[e.BlacklakeError]) -> None:
    exc = _instance(cls)
    assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599
    assert gateway_status(exc) == jupyter_status(exc) == cls.http_status


@pytest.mark.parametrize(("cls", "status"), [
    (e.BlacklakeError, 500),
    (e.InvalidInput, 400), (e.InvalidName, 400), (e.InvalidPath, 400),
    (e.InvalidMetadata, 400), (e.InvalidMessage, 400), (e.UnsafeSymlink, 400),
    (e.InvalidURI, 400), (e.InvalidVersion, 400), (e.AmbiguousRef, 400),
    (e.NotFound, 404), (e.RepoNotFound, 404), (e.RefNotFound, 404), (e.PathNotFound, 404),
    (e.NoHistory, 404), (e.EnvironmentNotFound, 404),
    (e.ObjectNotFound, 500),  # a NotFound, but it means the store is damaged
    (e.AlreadyExists, 409), (e.RepoExists, 409), (e.RefExists, 409),
    (e.DirectoryNotEmpty, 409),
    (e.ConflictError, 409), (e.MergeConflict, 409), (e.CommitConflict, 409),
    (e.RefConflict, 409), (e.RefMoved, 409), (e.ObjectsVanished, 409),
    (e.QuotaExceeded, 413),
    (e.CorruptObject, 500), (e.StorageError, 500), (e.CatalogError, 500),
    (e.MissingDependency, 501),
    (e.Cancelled, 503),
])
def test_expected_statuses(cls: type[e.BlacklakeError], status: int) -> None:
    assert cls.http_status == status
    exc = _instance(cls)
    assert gateway_status(exc) == status and jupyter_status(exc) == status


def test_real_instances_too() -> None:
    cases: list[tuple[e.BlacklakeError, int]] = [
        (e.RepoNotFound("no repo"), 404),
        (e.ObjectNotFound("object gone"), 500),
        (e.RepoExists("taken"), 409),
        (e.MergeConflict("conflict", ["b", "a"]), 409),
        (e.QuotaExceeded("full"), 413),
        (e.InvalidName("bad"), 400),
        (e.MissingDependency("dense search", "search"), 501),
        (e.AmbiguousRef("abcdef12", ["abcdef12" + "0" * 56]), 400),
    ]
    for exc, status in cases:
        assert gateway_status(exc) == jupyter_status(exc) == status, exc


def test_exit_codes_are_unchanged_beside_the_status() -> None:
    # ObjectNotFound keeps the NotFound exit code although its HTTP status differs.
    assert e.ObjectNotFound.exit_code == e.NotFound.exit_code == 3
    assert e.RepoExists.exit_code == 4 and e.QuotaExceeded.exit_code == 6
    assert e.MissingDependency.exit_code == 9 and e.Cancelled.exit_code == 130


def test_the_gateway_answers_the_class_status_over_http() -> None:
    import http.client
    import json

    from blacklake_ml.gateway import Gateway, Request, Route

    raising = {"exists": e.RepoExists("repository 'm' exists"),
               "quota": e.QuotaExceeded("over quota"),
               "damaged": e.ObjectNotFound("object 1234 is missing"),
               "extra": e.MissingDependency("dense search", "search"),
               "missing": e.RepoNotFound("no repository 'x'")}

    def handler(req: Request) -> None:
        raise raising[req.params["kind"]]

    token = "t0ken"
    with Gateway([Route.of("GET", r"/raise/(?P<kind>\w+)", handler)], token=token) as gw:
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=10)
        try:
            for kind, exc in raising.items():
                conn.request("GET", f"/raise/{kind}",
                             headers={"Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                body = json.loads(resp.read())
                assert resp.status == type(exc).http_status, kind
                assert body == {"error": str(exc), "reason": type(exc).__name__}
        finally:
            conn.close()
