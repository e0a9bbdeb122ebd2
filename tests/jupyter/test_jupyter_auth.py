"""No route answers without authentication.

The routes are enumerated from the route table (and checked against what the running server
registered), so a route added later is covered without touching this file.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_server.serverapp import _has_tornado_web_authenticated
from jupyter_server.utils import JupyterServerAuthWarning, url_path_join
from tornado import web

from blacklake_ml.jupyter.app import BlackLake
from blacklake_ml.jupyter.routes import ROUTES

#: a value for each path parameter the table uses (a new one fails loudly in sample_path)
SAMPLES = {"repo": "hub", "ref": "main", "name": "main", "rest": "/elsewhere"}
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)\??")


def sample_path(pattern: str) -> str:
    """A concrete path the pattern matches."""
    return GROUP.sub(lambda m: SAMPLES[m.group(1)], pattern)


def implemented(handler: type[Any]) -> list[str]:
    """HTTP methods the handler class implements (OPTIONS is the CORS preflight of
    ``APIHandler``, allowed unauthenticated by jupyter_server, and returns no data)."""
    return [m for m in METHODS
            if getattr(handler, m.lower()) is not web.RequestHandler._unimplemented_method]


def cases() -> Iterator[tuple[str, str, type[Any]]]:
    for pattern, handler in ROUTES:
        for method in implemented(handler):
            yield method, pattern, handler


def test_every_route_method_is_decorated_with_authenticated() -> None:
    found = list(cases())
    assert len(found) >= len(ROUTES)
    for method, pattern, handler in found:
        fn = getattr(handler, method.lower())
        assert _has_tornado_web_authenticated(fn), f"{method} {pattern} lacks @authenticated"
        assert not hasattr(fn, "__allow_unauthenticated"), f"{method} {pattern}"


def test_sample_paths_reach_their_own_route() -> None:
    for i, (pattern, _handler) in enumerate(ROUTES):
        path = sample_path(pattern)
        first = next(j for j, (p, _) in enumerate(ROUTES) if re.fullmatch(p, path))
        assert first == i, f"{path} is taken by {ROUTES[first][0]}, not {pattern}"


@pytest.fixture
def jp_server_config(store_home: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    allow = getattr(request, "param", True)
    return {"ServerApp": {"jpserver_extensions": {"blacklake_ml.jupyter": True},
                          # XSRF would refuse unauthenticated writes before the handler
                          # runs; off, so the handlers' own authentication is what is tested.
                          "disable_check_xsrf": True,
                          "allow_unauthenticated_access": allow},
            "IdentityProvider": {"token": "sekrit-token"},
            "BlackLake": {"home": str(store_home)}}


def _extension(serverapp: Any) -> BlackLake:
    app = serverapp.extension_manager.extension_points["blacklake"].app
    assert isinstance(app, BlackLake)
    return app


def registered_handlers(serverapp: Any) -> list[type[Any]]:
    """Handler classes of this extension the running tornado application routes to."""
    out = []
    for host_rule in serverapp.web_app.default_router.rules:
        for rule in getattr(host_rule.target, "rules", []):
            target = rule.target
            if isinstance(target, type) and target.__module__.startswith("blacklake_ml."):
                out.append(target)
    return out


def every_case() -> Iterator[tuple[str, str, type[Any]]]:
    """Every route with every method, implemented or not."""
    for pattern, handler in ROUTES:
        for method in METHODS:
            yield method, pattern, handler


async def request(client: Any, url: str, method: str, headers: dict[str, str]) -> Any:
    body = json.dumps({"name": "x", "ref": "main"}) if method in ("POST", "PUT",
                                                                   "PATCH") else None
    return await client.fetch(url, method=method, body=body, raise_error=False,
                              follow_redirects=False, allow_nonstandard_methods=True,
                              headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize("jp_server_config", [True, False], indirect=True,
                         ids=["server-allows-unauthenticated", "server-requires-auth"])
async def test_no_route_answers_without_a_token(jp_serverapp: Any, http_server_client: Any,
                                                jp_base_url: str, api: Any) -> None:
    """403 for every route and every method without credentials — also for methods a route
    does not implement (tornado answered those 405 before authentication: an anonymous
    client could tell the write routes apart)."""
    assert sorted(h.__name__ for h in registered_handlers(jp_serverapp)) == \
        sorted(h.__name__ for _, h in ROUTES)
    tried = []
    for method, pattern, _handler in every_case():
        url = url_path_join(jp_base_url, sample_path(pattern))
        for headers in ({}, {"Authorization": "token wrong-token"}):
            resp = await request(http_server_client, url, method, headers)
            tried.append((method, url, resp.code))
            assert resp.code == 403, (method, url, resp.code, headers)
            if method != "HEAD":
                assert b"hub" not in (resp.body or b"") and b"commit" not in (resp.body or b"")
    assert len(tried) == 2 * len(ROUTES) * len(METHODS)
    # Nothing reached the store, not even to open it.
    assert _extension(jp_serverapp).runner is not None
    assert not _extension(jp_serverapp).runner.opened  # type: ignore[union-attr]
    # With the token the same GET routes answer (the paths do reach the handlers).
    status, doc = await api("GET", "repos/hub")
    assert status == 200 and doc["name"] == "hub"


async def test_with_a_token_a_wrong_method_is_405(jp_serverapp: Any, http_server_client: Any,
                                                 jp_base_url: str) -> None:
    """Authenticated, a method a route does not implement is still 405 (not 403: the
    client is allowed in, the method is what is wrong)."""
    auth = {"Authorization": "token sekrit-token"}
    wrong = [(m, p) for m, p, h in every_case() if m not in implemented(h)]
    assert wrong
    for method, pattern in wrong:
        url = url_path_join(jp_base_url, sample_path(pattern))
        resp = await request(http_server_client, url, method, auth)
        assert resp.code == 405, (method, url, resp.code)


def test_server_with_auth_required_reports_no_undecorated_endpoint(
        jp_configurable_serverapp: Any, store_home: Any) -> None:
    config = {"ServerApp": {"jpserver_extensions": {"blacklake_ml.jupyter": True},
                            "allow_unauthenticated_access": False},
              "BlackLake": {"home": str(store_home)}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = jp_configurable_serverapp(config=config)
    assert "blacklake" in app.extension_manager.extension_points
    bad = [str(w.message) for w in caught if issubclass(w.category, JupyterServerAuthWarning)
           and "blacklake" in str(w.message).lower()]
    assert not bad, bad
