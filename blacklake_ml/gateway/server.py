"""A small threaded HTTP server over a store, for clients that speak plain HTTP.

The bridges mount route sets on it: W&B HTTP references (files with ``ETag`` = digest) and the
DVC HTTP remote (``/dvc/<repo>/…``). Standard library only: :mod:`http.server`'s request
parsing over :class:`~blacklake_ml.gateway.listener.Listener` — one selector thread reads
request headers, a fixed pool of workers answers, every phase has a timeout (so no client,
authenticated or not, can make it hold more than ``1 + workers`` threads) — with:

* token authentication on every route: HTTP basic (any user name, the token as password, as
  ``dvc remote modify --local <r> auth basic`` sends it) or ``Authorization: Bearer <token>``;
  a gateway without a token refuses to start, so nothing is ever served unauthenticated.
  A route may instead accept *signed URLs* (``auth="signed"``): ``?sig=`` is an HMAC of the
  path under the token, handed out by :meth:`Gateway.signed_url` — a read capability for one
  path that clients which cannot send headers (W&B HTTP references) can use;
* routes as ``(method, regex, handler)``; a handler gets a :class:`Request` and answers with
  :meth:`Request.send`, :meth:`Request.send_json` or :meth:`Request.send_stream`;
* errors: a :class:`~blacklake_ml.errors.BlacklakeError` from a handler becomes its class's
  ``http_status`` (the one mapping of :mod:`blacklake_ml.errors`, shared with the Jupyter
  extension: 400 bad input, 404 not found, 409 taken names, conflicts and lost races, 413
  quota, 500 a damaged store or failing backend, 501 a missing optional dependency, 503
  cancelled) with a JSON body; anything else is a 500 that is logged, never a traceback on
  the wire;
* ``Range`` parsed strictly (:mod:`blacklake_ml.gateway.ranges`): one byte range answered
  ``206``, an unsatisfiable or malformed one ``416`` with ``Content-Range: bytes */SIZE``,
  several ranges or an unknown unit ignored (the whole body).
"""

from __future__ import annotations

import base64
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import IO, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson
from typing_extensions import Self

from blacklake_ml.errors import BlacklakeError, InvalidInput
from blacklake_ml.gateway import ranges
from blacklake_ml.gateway.listener import Connection, Limits, Listener, SocketWriter

_log = logging.getLogger(__name__)

#: largest request body read into memory by :meth:`Request.body` (uploads stream instead)
MAX_MEMORY_BODY = 16 * 1024 * 1024
_COPY = 1024 * 1024

Handler = Callable[["Request"], None]


@dataclass(frozen=True)
class Route:
    """``method`` requests whose path matches ``pattern`` (anchored) go to ``handler``."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    #: "token": the Authorization header must carry the token; "signed": a valid ``sig``
    #: query parameter for the path is enough too (see :meth:`Gateway.signed_url`)
    auth: str = "token"

    @classmethod
    def of(cls, method: str, pattern: str, handler: Handler, *, auth: str = "token"
           ) -> Route:
        """A route from a regex string (named groups become :attr:`Request.params`)."""
        if auth not in ("token", "signed"):
            raise ValueError(f"unknown route auth {auth!r}")
        return cls(method.upper(), re.compile(pattern + r"\Z"), handler, auth)


class HttpError(Exception):
    """Answer with ``status`` and a JSON error body (raised by handlers)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def sign_path(token: str, path: str) -> str:
    """The ``sig`` query value a gateway with ``token`` accepts for ``path`` (the decoded URL
    path); lets a client that knows the token sign URLs for a gateway in another process."""
    return hmac.new(token.encode(), path.encode(), "sha256").hexdigest()


def status_for(exc: BlacklakeError) -> int:
    """The HTTP status a store error maps to: its class's ``http_status``."""
    return exc.http_status


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` of the one byte range to send, or None for the whole body.

    Raises :class:`HttpError` 416 for an unsatisfiable or malformed header; several ranges
    and unknown units are ignored (None). Every case: :mod:`blacklake_ml.gateway.ranges`.
    """
    try:
        return ranges.parse_range(header, size)
    except ranges.RangeNotSatisfiable as exc:
        raise HttpError(416, str(exc)) from None


def declares_body(h: BaseHTTPRequestHandler) -> bool:
    """Whether the request announces a body (a length above 0, or chunked encoding)."""
    if h.headers.get("Transfer-Encoding"):
        return True
    return (h.headers.get("Content-Length") or "0").strip() not in ("", "0")


class Request:
    """One HTTP request as a route handler sees it."""

    def __init__(self, handler: _Handler, params: dict[str, str]) -> None:
        self._h = handler
        url = urlsplit(handler.path)
        self.method: str = handler.command
        #: the decoded path (``%2F`` etc. undone)
        self.path: str = unquote(url.path)
        self.query: dict[str, list[str]] = parse_qs(url.query)
        self.headers = handler.headers
        self.params = params
        self.responded = False
        #: the whole request body has been read (the connection can serve the next request)
        self.body_read = not declares_body(handler)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    # -- request body ---------------------------------------------------------------------
    def iter_body(self) -> Iterator[bytes]:
        """The request body in pieces: ``Content-Length`` or ``Transfer-Encoding: chunked``
        (DVC uploads with chunked POSTs and no length)."""
        rfile = self._h.rfile
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = rfile.readline(1024)
                try:
                    n = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise HttpError(400, "malformed chunked body") from None
                if n == 0:
                    while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.body_read = True
                    return
                left = n
                while left:
                    piece = rfile.read(min(left, _COPY))
                    if not piece:
                        raise HttpError(400, "request body ended early")
                    left -= len(piece)
                    yield piece
                rfile.readline(8)  # CRLF after the chunk
            return
        try:
            left = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        while left > 0:
            piece = rfile.read(min(left, _COPY))
            if not piece:
                raise HttpError(400, "request body ended early")
            left -= len(piece)
            yield piece
        self.body_read = True

    def body(self, limit: int = MAX_MEMORY_BODY) -> bytes:
        """The whole request body (413 above ``limit`` bytes)."""
        parts: list[bytes] = []
        total = 0
        for piece in self.iter_body():
            total += len(piece)
            if total > limit:
                raise HttpError(413, f"request body over {limit} bytes")
            parts.append(piece)
        return b"".join(parts)

    def save_body(self, out: IO[bytes]) -> int:
        """Stream the request body into ``out``; the number of bytes written."""
        n = 0
        for piece in self.iter_body():
            out.write(piece)
            n += len(piece)
        return n

    # -- responses ------------------------------------------------------------------------
    def send(self, status: int, body: bytes = b"", *, content_type: str = "text/plain",
             headers: dict[str, str] | None = None) -> None:
        """Answer with a complete body (``HEAD`` sends the headers only)."""
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if self.method != "HEAD" and body:
            h.wfile.write(body)
        self.responded = True

    def send_json(self, doc: Any, status: int = 200) -> None:
        """Answer with a JSON document."""
        self.send(status, orjson.dumps(doc), content_type="application/json")

    def send_stream(self, chunks: Iterable[bytes], size: int, *, status: int = 200,
                    content_type: str = "application/octet-stream",
                    headers: dict[str, str] | None = None) -> None:
        """Answer with ``size`` bytes produced by ``chunks`` (not consumed for ``HEAD``)."""
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(size))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        self.responded = True
        if self.method == "HEAD":
            return
        for piece in chunks:
            h.wfile.write(piece)

    def send_ranged(self, size: int, pieces: Callable[[int, int], Iterable[bytes]], *,
                    headers: dict[str, str] | None = None,
                    range_header: str | None = None) -> None:
        """Answer with a body of ``size`` bytes, honouring one ``Range``: ``200`` with all
        of it, ``206`` with ``Content-Range``, or ``416`` with ``Content-Range: bytes */size``.

        ``pieces(start, end)`` yields the bytes of ``[start, end)`` (not called for
        ``HEAD``). ``range_header`` overrides the request's ``Range`` (``None`` by default
        means: take the request's; pass ``""`` to send everything, e.g. after ``If-Range``).
        """
        out = dict(headers or {})
        out.setdefault("Accept-Ranges", "bytes")
        header = self.headers.get("Range") if range_header is None else range_header
        try:
            rng = parse_range(header, size)
        except HttpError as exc:
            if exc.status != 416:
                raise
            keep = {k: v for k, v in out.items() if k == "ETag"}
            self.send(416, orjson.dumps({"error": str(exc)}), content_type="application/json",
                      headers={"Content-Range": f"bytes */{size}", **keep})
            return
        if rng is None:
            self.send_stream(_lazy(pieces, 0, size), size, headers=out)
            return
        start, end = rng
        out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        self.send_stream(_lazy(pieces, start, end), end - start, status=206, headers=out)


def _lazy(pieces: Callable[[int, int], Iterable[bytes]], start: int, end: int
          ) -> Iterator[bytes]:
    """``pieces(start, end)``, started only when iterated (a ``HEAD`` never is)."""
    yield from pieces(start, end)


class _Handler(BaseHTTPRequestHandler):
    """:mod:`http.server`'s request parsing and answer writing for ONE request of a
    connection whose header block the listener has read already."""

    protocol_version = "HTTP/1.1"  # keep-alive: DVC and requests reuse connections
    server_version = "blacklake-gateway"

    def __init__(self, conn: Connection, gateway: Gateway) -> None:
        # Not BaseRequestHandler.__init__: that one would loop over requests on this thread;
        # the listener wants the connection back after each answer (keep-alive costs no
        # thread), so the streams are set up here and run_one() answers one request.
        assert conn.reader is not None
        self.gateway = gateway
        self.request = self.connection = conn.sock
        self.client_address = conn.address
        self.rfile = conn.reader
        self.wfile = SocketWriter(conn.sock)
        self.close_connection = True
        self._bl_started = False

    def run_one(self) -> bool:
        """Answer one request; whether the connection stays open for another."""
        self.handle_one_request()
        return not self.close_connection

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        self._bl_started = False
        self.gateway.dispatch(self)

    def send_response(self, code: int, message: str | None = None) -> None:
        self._bl_started = True
        super().send_response(code, message)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _dispatch


def _serve_connection(gateway: Gateway, conn: Connection) -> bool:
    """The listener's ``serve_one``: one request on ``conn``; whether to keep it open."""
    try:
        return _Handler(conn, gateway).run_one()
    except (ConnectionResetError, BrokenPipeError, TimeoutError):
        # A client that drops a keep-alive connection (aiohttp closes one whose body it did
        # not read, as in DVC's existence checks) or stalls is routine: not logged.
        return False


class Gateway:
    """The HTTP server: ``Gateway(routes, token=...)``, then :meth:`start` (a background
    thread, for tests and notebooks) or :meth:`serve_forever` (the CLI)."""

    def __init__(self, routes: Sequence[Route], *, token: str, host: str = "127.0.0.1",
                 port: int = 0, limits: Limits | None = None) -> None:
        if not token:
            raise InvalidInput("the gateway needs a token (every route is authenticated)")
        self.routes = list(routes)
        self.token = token
        self.limits = limits or Limits()
        self._listener = Listener(host, port, lambda conn: _serve_connection(self, conn),
                                  self.limits)
        self._thread: threading.Thread | None = None

    @staticmethod
    def new_token() -> str:
        """A random token for a gateway started without one."""
        return secrets.token_urlsafe(24)

    @property
    def host(self) -> str:
        return str(self._listener.address[0])

    @property
    def port(self) -> int:
        return int(self._listener.address[1])

    @property
    def listener(self) -> Listener:
        """The connection listener (its thread and connection counts, for tests)."""
        return self._listener

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    # -- running --------------------------------------------------------------------------
    def start(self) -> Self:
        """Serve on a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self._listener.serve_forever,
                                        name="blacklake-gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until :meth:`close` (or Ctrl-C)."""
        self._listener.serve_forever()

    def close(self) -> None:
        """Stop serving and release the port (requests being answered get a few seconds)."""
        if self._thread is not None:
            self._listener.shutdown()
            self._thread.join()
            self._thread = None
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------
    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token (constant-time compare)."""
        if not header:
            return False
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            given = value
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(value, validate=True).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def sign(self, path: str) -> str:
        """The ``sig`` for ``path`` (the decoded URL path, e.g. ``/files/r/<commit>/a.bin``)."""
        return sign_path(self.token, path)

    def signed_url(self, path: str) -> str:
        """An absolute URL for ``path`` that a ``signed`` route accepts without a header.
        ``path`` is percent-encoded here; sign the decoded form only."""
        return f"{self.url}{quote(path)}?sig={self.sign(path)}"

    def dispatch(self, h: _Handler) -> None:
        """Authenticate, route and answer one request; errors become JSON bodies."""
        url = urlsplit(h.path)
        path = unquote(url.path)
        req: Request | None = None
        try:
            header_ok = self.authorized(h.headers.get("Authorization"))
            sig = "" if header_ok else (parse_qs(url.query).get("sig") or [""])[0]
            signed_ok = bool(sig) and hmac.compare_digest(sig, self.sign(path))
            if not (header_ok or signed_ok):
                raise _Unauthorized
            allowed = []
            for route in self.routes:
                m = route.pattern.match(path)
                if m is None:
                    continue
                if not header_ok and route.auth != "signed":
                    raise _Unauthorized
                if route.method != h.command and not (route.method == "GET"
                                                      and h.command == "HEAD"):
                    allowed.append(route.method)
                    continue
                req = Request(h, {k: v for k, v in m.groupdict().items() if v is not None})
                route.handler(req)
                if not req.responded:
                    raise RuntimeError(f"route {route.pattern.pattern} did not answer")
                return
            if allowed:
                raise HttpError(405, f"{h.command} not allowed here")
            raise HttpError(404, f"no route for {path}")
        except _Unauthorized:
            self._error(h, 401, "authentication required (HTTP basic with the token as "
                        "password, or Authorization: Bearer <token>)",
                        {"WWW-Authenticate": 'Basic realm="blacklake"'}, req=req)
        except HttpError as exc:
            self._error(h, exc.status, str(exc), req=req)
        except BlacklakeError as exc:
            self._error(h, status_for(exc), str(exc), reason=type(exc).__name__, req=req)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            h.close_connection = True  # the client went away or stalled mid-request
        except Exception as exc:  # noqa: BLE001 - one bad request must not kill the server
            _log.exception("gateway: %s %s failed", h.command, path)
            self._error(h, 500, f"internal error: {type(exc).__name__}", req=req)

    @staticmethod
    def _error(h: _Handler, status: int, message: str, headers: dict[str, str] | None = None,
               *, reason: str | None = None, req: Request | None = None) -> None:
        if getattr(h, "_bl_started", False):
            # Headers already went out: a second status line would corrupt the stream.
            h.close_connection = True
            return
        body = orjson.dumps({"error": message, "reason": reason or HTTPStatus(status).phrase})
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            # An unread request body would be parsed as the next request: close then. A
            # bodiless request (DVC's existence checks answered 404) keeps its connection.
            close = not (req.body_read if req is not None else not declares_body(h))
            if close:
                h.send_header("Connection", "close")
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(body)
        except OSError:
            close = True
        if close:
            h.close_connection = True


class _Unauthorized(Exception):
    pass
