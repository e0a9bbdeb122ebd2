"""The HTTP gateway the bridges mount routes on (blacklake_ml.gateway.server): auth, routing,
errors, request bodies and connection reuse, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator

import pytest

from blacklake_ml.errors import InvalidInput, PathNotFound
from blacklake_ml.gateway import Gateway, HttpError, Request, Route, parse_range

TOKEN = "s3cret-token"


def _echo(req: Request) -> None:
    req.send_json({"name": req.params["name"], "q": req.arg("q")})


def _upload(req: Request) -> None:
    req.send_json({"n": len(req.body())})


def _missing(req: Request) -> None:
    raise PathNotFound(f"no {req.params['name']}")


def _bad(req: Request) -> None:
    raise InvalidInput("bad thing")


def _refuse_upload(req: Request) -> None:
    raise HttpError(403, "no uploads here")  # answered without reading the body


def _crash(req: Request) -> None:
    raise RuntimeError("boom")


@pytest.fixture
def gw() -> Iterator[Gateway]:
    routes = [Route.of("GET", r"/echo/(?P<name>[^/]+)", _echo),
              Route.of("GET", r"/signed/(?P<name>.+)", _echo, auth="signed"),
              Route.of("POST", r"/up", _upload),
              Route.of("POST", r"/refuse", _refuse_upload),
              Route.of("GET", r"/missing/(?P<name>.+)", _missing),
              Route.of("GET", r"/bad", _bad),
              Route.of("GET", r"/crash", _crash)]
    with Gateway(routes, token=TOKEN) as g:
        yield g


def basic(password: str, user: str = "anyone") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def call(conn: http.client.HTTPConnection, method: str, path: str, *,
         auth: str | None = "Bearer " + TOKEN, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    h = dict(headers or {})
    if auth:
        h["Authorization"] = auth
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    return resp.status, resp.read(), resp


def test_every_route_needs_the_token(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port)
    assert call(conn, "GET", "/echo/a", auth=None)[0] == 401
    assert call(conn, "GET", "/echo/a", auth="Bearer wrong")[0] == 401
    assert call(conn, "GET", "/echo/a", auth=basic("wrong"))[0] == 401
    assert call(conn, "GET", "/echo/a", auth="Digest x")[0] == 401
    status, body, resp = call(conn, "GET", "/nope", auth=None)
    assert status == 401 and resp.getheader("WWW-Authenticate") == 'Basic realm="blacklake"'
    for auth in ("Bearer " + TOKEN, basic(TOKEN), basic(TOKEN, user="")):
        status, body, _ = call(conn, "GET", "/echo/a%20b?q=1", auth=auth)
        assert status == 200 and json.loads(body) == {"name": "a b", "q": "1"}
    with pytest.raises(InvalidInput):
        Gateway([], token="")


def test_signed_urls_open_only_signed_routes_and_only_their_path(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port)
    url = gw.signed_url("/signed/a b/c.bin")
    path = url[len(gw.url):]
    status, body, _ = call(conn, "GET", path, auth=None)
    assert status == 200 and json.loads(body)["name"] == "a b/c.bin"
    other = path.replace("c.bin", "d.bin")
    assert call(conn, "GET", other, auth=None)[0] == 401
    # a valid signature for a token-only route is not enough
    echo = gw.signed_url("/echo/x")[len(gw.url):]
    assert call(conn, "GET", echo, auth=None)[0] == 401


def test_errors_map_to_statuses_with_json_bodies(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port)
    status, body, _ = call(conn, "GET", "/missing/x")
    assert status == 404 and json.loads(body) == {"error": "no x", "reason": "PathNotFound"}
    assert call(conn, "GET", "/bad")[0] == 400
    assert call(conn, "GET", "/nothing-here")[0] == 404
    assert call(conn, "PUT", "/up", body=b"x")[0] == 405
    status, body, _ = call(conn, "GET", "/crash")
    assert status == 500 and b"boom" not in body and b"RuntimeError" in body
    # HEAD of a GET route: headers only
    conn2 = http.client.HTTPConnection(gw.host, gw.port)
    status, body, resp = call(conn2, "HEAD", "/echo/a")
    assert status == 200 and body == b"" and int(resp.getheader("Content-Length")) > 0


def test_chunked_and_sized_uploads(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port)
    status, body, _ = call(conn, "POST", "/up", body=b"x" * 100_000)
    assert status == 200 and json.loads(body) == {"n": 100_000}
    conn.putrequest("POST", "/up")
    conn.putheader("Authorization", "Bearer " + TOKEN)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for part in (b"abc", b"defgh", b"x" * 70_000):
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read()) == {"n": 70_008}


def test_connections_are_reused_unless_a_body_was_left_unread(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port)
    call(conn, "GET", "/echo/a")
    sock = conn.sock
    # a 404 to a bodiless request (DVC's existence check) keeps the connection
    status, _, resp = call(conn, "GET", "/missing/x")
    assert status == 404 and resp.getheader("Connection") is None
    assert call(conn, "GET", "/echo/b")[0] == 200 and conn.sock is sock
    # an error answered before the body was read closes it (the body would be misparsed)
    status, _, resp = call(conn, "POST", "/refuse", body=b"y" * 5000)
    assert status == 403 and resp.getheader("Connection") == "close"
    assert call(conn, "GET", "/echo/c")[0] == 200 and conn.sock is not sock


@pytest.mark.parametrize(("header", "size", "want"), [
    (None, 10, None), ("bytes=0-3", 10, (0, 4)), ("bytes=5-", 10, (5, 10)),
    ("bytes=-3", 10, (7, 10)), ("bytes=8-100", 10, (8, 10)), ("bytes=-30", 10, (0, 10)),
])
def test_parse_range(header: str | None, size: int, want: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == want


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=5-2", "bytes=-0", "bytes=1-2,4-5",
                                    "items=0-1", "bytes=-"])
def test_parse_range_refuses(header: str) -> None:
    with pytest.raises(HttpError) as info:
        parse_range(header, 10)
    assert info.value.status == 416
