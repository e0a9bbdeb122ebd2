"""The HTTP gateway the bridges mount routes on (blacklake_ml.gateway.server): auth, routing,
errors, request bodies, connection reuse, ``Range`` parsing, and what misbehaving clients can
make it hold (threads, connections, time), over real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from blacklake_ml.errors import InvalidInput, PathNotFound
from blacklake_ml.gateway import Gateway, HttpError, Limits, Request, Route, parse_range

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


BLOB = b"0123456789"


def _blob(req: Request) -> None:
    req.send_ranged(len(BLOB), lambda a, b: [BLOB[a:b]])


def _empty(req: Request) -> None:
    req.send_ranged(0, lambda a, b: [b""])


@pytest.fixture
def gw() -> Iterator[Gateway]:
    routes = [Route.of("GET", r"/echo/(?P<name>[^/]+)", _echo),
              Route.of("GET", r"/signed/(?P<name>.+)", _echo, auth="signed"),
              Route.of("POST", r"/up", _upload),
              Route.of("POST", r"/refuse", _refuse_upload),
              Route.of("GET", r"/missing/(?P<name>.+)", _missing),
              Route.of("GET", r"/bad", _bad),
              Route.of("GET", r"/crash", _crash),
              Route.of("GET", r"/blob", _blob),
              Route.of("GET", r"/empty", _empty)]
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


# -- Range -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "size", "want"), [
    (None, 10, None), ("", 10, None), ("bytes=0-3", 10, (0, 4)), ("bytes=5-", 10, (5, 10)),
    ("bytes=-3", 10, (7, 10)), ("bytes=8-100", 10, (8, 10)), ("bytes=-30", 10, (0, 10)),
    ("BYTES=0-3", 10, (0, 4)), (" bytes = 2-2 ", 10, (2, 3)), ("bytes=0-3,", 10, (0, 4)),
    ("bytes=0-" + "9" * 19, 10, (0, 10)),  # the longest accepted number, clipped
    # a unit we do not understand is ignored (RFC 9110 §14.2: MUST)
    ("items=0-1", 10, None), ("lines=1-2", 10, None),
    # several ranges are ignored: the whole body (documented in gateway/ranges.py)
    ("bytes=0-1,4-5", 10, None), ("bytes=-5, 0-0", 10, None), ("bytes=20-30,0-1", 10, None),
])
def test_parse_range(header: str | None, size: int, want: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == want


@pytest.mark.parametrize(("header", "size"), [
    # unsatisfiable
    ("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10), ("bytes=0-", 0),
    ("bytes=-1", 0),
    # malformed
    ("bytes=5-2", 10), ("bytes=-", 10), ("bytes=", 10), ("bytes=,", 10), ("0-5", 10),
    ("bytes=abc", 10), ("bytes=0x1-", 10), ("bytes=+1-2", 10), ("bytes=1 -2", 10),
    ("bytes=0-1,x", 10), ("bytes=1-2,5-3", 10), ("bytes=\u0663-\u0664", 10),
    ("bytes=0-" + "9" * 20, 10), ("bytes=" + "1" * 20 + "-", 10), ("bytes=-" + "1" * 20, 10),
    ("bytes=0-" + "9" * 5000, 10), ("bytes=" + "9" * 5000 + "-", 10),
    ("bytes=" + ",".join(["0-0"] * 101), 10),
])
def test_parse_range_refuses(header: str, size: int) -> None:
    with pytest.raises(HttpError) as info:
        parse_range(header, size)
    assert info.value.status == 416


@pytest.mark.parametrize(("header", "status", "content_range", "body"), [
    ("bytes=0-" + "9" * 5000, 416, "bytes */10", None),  # was a 500 (int() digit limit)
    ("bytes=" + "9" * 5000 + "-", 416, "bytes */10", None),
    ("bytes=-" + "9" * 5000, 416, "bytes */10", None),
    ("bytes=12-", 416, "bytes */10", None),
    ("bytes=nonsense", 416, "bytes */10", None),
    ("bytes=2-4", 206, "bytes 2-4/10", b"234"),
    ("bytes=-2", 206, "bytes 8-9/10", b"89"),
    ("bytes=0-1,5-6", 200, None, BLOB),
    ("pages=1-2", 200, None, BLOB),
])
def test_range_answers_over_http(gw: Gateway, header: str, status: int,
                                 content_range: str | None, body: bytes | None) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=10)
    got, data, resp = call(conn, "GET", "/blob", headers={"Range": header})
    assert got == status
    assert resp.getheader("Content-Range") == content_range
    if body is not None:
        assert data == body
    # the connection is still usable (the answer was complete and well framed)
    assert call(conn, "GET", "/blob")[1] == BLOB


def test_range_of_an_empty_body(gw: Gateway) -> None:
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=10)
    status, _, resp = call(conn, "GET", "/empty", headers={"Range": "bytes=0-"})
    assert status == 416 and resp.getheader("Content-Range") == "bytes */0"
    assert call(conn, "GET", "/empty")[0] == 200


# -- what clients can make the gateway hold -------------------------------------------------------
#: small timeouts keep these tests short; the defaults are seconds (see Limits)
FAST = Limits(workers=4, max_connections=400, backlog=256, header_timeout=1.5,
              idle_timeout=1.0, io_timeout=1.5)


@pytest.fixture
def fast_gw() -> Iterator[Gateway]:
    routes = [Route.of("GET", r"/echo/(?P<name>[^/]+)", _echo),
              Route.of("POST", r"/up", _upload)]
    with Gateway(routes, token=TOKEN, limits=FAST) as g:
        yield g


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def read_to_eof(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes (bounded by ``timeout``)."""
    sock.settimeout(timeout)
    out = b""
    while True:
        piece = sock.recv(4096)
        if not piece:
            return out
        out += piece


def gateway_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("blacklake-gateway"))


def test_slow_headers_hold_no_threads_and_time_out(fast_gw: Gateway) -> None:
    """200 connections that never finish their headers (slow loris): the gateway's threads
    stay at 1 + at most ``workers``, a legitimate client is answered at once meanwhile, and
    every slow connection gets a 408 and is closed after ``header_timeout``."""
    before_all = threading.active_count()
    before = gateway_threads()
    opened = time.monotonic()
    slow = []
    try:
        for i in range(200):
            s = socket.create_connection((fast_gw.host, fast_gw.port), timeout=5)
            s.sendall(b"GET /echo/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: %d\r\n" % i)
            slow.append(s)
        assert wait_for(lambda: fast_gw.listener.connections >= 200, 5)
        held_all, held = threading.active_count(), gateway_threads()
        # a legitimate client is answered while the 200 are held
        t0 = time.monotonic()
        conn = http.client.HTTPConnection(fast_gw.host, fast_gw.port, timeout=5)
        status, body, _ = call(conn, "GET", "/echo/legit")
        served_in = time.monotonic() - t0
        assert status == 200 and json.loads(body)["name"] == "legit"
        assert served_in < 1.0 < FAST.header_timeout
        conn.close()
        peak_all, peak = threading.active_count(), gateway_threads()
        print(f"\nthreads: process {before_all} before, {held_all} holding 200 slow "
              f"connections, {peak_all} after a legit request; gateway {before} -> {held} -> "
              f"{peak}; legit answered in {served_in * 1000:.0f} ms")
        assert held == before == 1  # the selector thread only: headers cost no thread
        assert peak <= 1 + FAST.workers
        assert held_all <= before_all and peak_all <= before_all + FAST.workers
        # each slow connection: 408 and closed, after the header timeout and not much later
        for s in slow:
            answer = read_to_eof(s, FAST.header_timeout + 5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:40]
        closed_in = time.monotonic() - opened
        assert FAST.header_timeout * 0.9 <= closed_in < FAST.header_timeout + 4
        assert wait_for(lambda: fast_gw.listener.connections == 0, 5)
        assert fast_gw.listener.threads <= FAST.workers
    finally:
        for s in slow:
            s.close()


def test_a_dripping_client_gets_no_more_than_the_header_timeout(fast_gw: Gateway) -> None:
    """Bytes arriving one at a time do not extend the header deadline."""
    s = socket.create_connection((fast_gw.host, fast_gw.port), timeout=5)
    try:
        t0 = time.monotonic()
        request = b"GET /echo/drip HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * 200
        answered = False
        for byte in request:  # ~0.05 s a byte: 12 s for all of them, far past the timeout
            if select.select([s], [], [], 0.05)[0]:
                answered = True
                break
            with contextlib.suppress(OSError):
                s.sendall(bytes([byte]))
        assert answered
        assert read_to_eof(s, 5).startswith(b"HTTP/1.1 408 ")
        assert FAST.header_timeout * 0.9 <= time.monotonic() - t0 < FAST.header_timeout + 1
    finally:
        s.close()


def test_idle_keep_alive_connections_are_closed_silently(fast_gw: Gateway) -> None:
    conn = http.client.HTTPConnection(fast_gw.host, fast_gw.port, timeout=5)
    assert call(conn, "GET", "/echo/a")[0] == 200
    assert conn.sock is not None
    t0 = time.monotonic()
    assert read_to_eof(conn.sock, FAST.idle_timeout + 5) == b""  # no 408 on an idle close
    assert FAST.idle_timeout * 0.9 <= time.monotonic() - t0 < FAST.idle_timeout + 3
    assert wait_for(lambda: fast_gw.listener.connections == 0, 5)


def test_a_stalled_body_frees_its_worker_after_the_io_timeout() -> None:
    routes = [Route.of("GET", r"/echo/(?P<name>[^/]+)", _echo),
              Route.of("POST", r"/up", _upload)]
    one = Limits(workers=1, header_timeout=1.0, idle_timeout=1.0, io_timeout=1.0)
    with Gateway(routes, token=TOKEN, limits=one) as g:
        s = socket.create_connection((g.host, g.port), timeout=5)
        try:
            s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      TOKEN.encode() + b"\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
            time.sleep(0.2)  # the only worker now waits for the body
            t0 = time.monotonic()
            conn = http.client.HTTPConnection(g.host, g.port, timeout=10)
            assert call(conn, "GET", "/echo/next")[0] == 200  # queued until the timeout
            waited = time.monotonic() - t0
            assert waited < one.io_timeout + 2
            assert read_to_eof(s, 5) == b""  # the stalled one was dropped unanswered
            assert g.listener.threads == 1
        finally:
            s.close()


def test_oversized_headers_are_refused_431(fast_gw: Gateway) -> None:
    s = socket.create_connection((fast_gw.host, fast_gw.port), timeout=5)
    try:
        with contextlib.suppress(OSError):  # the server may close while we still send
            s.sendall(b"GET /echo/x HTTP/1.1\r\nX-Big: " + b"a" * (FAST.max_header_bytes + 10))
        assert read_to_eof(s, 5).startswith(b"HTTP/1.1 431 ")
    finally:
        s.close()


def test_pipelined_requests_are_answered_in_order(fast_gw: Gateway) -> None:
    s = socket.create_connection((fast_gw.host, fast_gw.port), timeout=5)
    try:
        one = (b"GET /echo/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
               TOKEN.encode() + b"\r\n\r\n")
        s.sendall(one % b"first" + one % b"second" + (one % b"third").replace(
            b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = read_to_eof(s, 5)
        assert answer.count(b"HTTP/1.1 200 ") == 3
        assert answer.index(b"first") < answer.index(b"second") < answer.index(b"third")
    finally:
        s.close()


def test_many_concurrent_clients_share_the_fixed_pool(fast_gw: Gateway) -> None:
    """50 clients at once: all answered, by at most ``workers`` threads."""
    results: list[int] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(fast_gw.host, fast_gw.port, timeout=10)
        for _ in range(3):
            results.append(call(conn, "POST", "/up", body=b"z" * (i * 1000))[0])
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 150
    assert fast_gw.listener.threads <= FAST.workers


def test_at_the_connection_limit_new_clients_wait_in_the_backlog() -> None:
    routes = [Route.of("GET", r"/echo/(?P<name>[^/]+)", _echo)]
    small = Limits(workers=2, max_connections=3, header_timeout=0.8, idle_timeout=0.8)
    with Gateway(routes, token=TOKEN, limits=small) as g:
        held = [socket.create_connection((g.host, g.port), timeout=5) for _ in range(3)]
        try:
            for s in held:
                s.sendall(b"GET /echo/x HTTP/1.1\r\n")
            assert wait_for(lambda: g.listener.connections == 3, 5)
            t0 = time.monotonic()
            conn = http.client.HTTPConnection(g.host, g.port, timeout=10)
            assert call(conn, "GET", "/echo/late")[0] == 200
            # answered once the held ones timed out, never more than the limit open
            assert time.monotonic() - t0 >= small.header_timeout * 0.5
            assert g.listener.connections <= 3
        finally:
            for s in held:
                s.close()


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Limits(workers=0)
    with pytest.raises(ValueError):
        Limits(header_timeout=0)
