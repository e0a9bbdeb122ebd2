"""Connections of the gateway: one selector thread reads request headers, a fixed pool answers.

Why not the standard library's ``ThreadingHTTPServer``: it starts one thread per accepted
connection and never times out a connection that sends its headers slowly, so an
unauthenticated client could hold any number of threads (150 idle connections held 152
threads). Here:

* **Headers are read without a thread per connection.** Accepted sockets are non-blocking
  and registered with one selector; the selector thread collects bytes until the blank line
  that ends the header block, and only then hands the connection to a worker. A client that
  sends partial headers costs a socket and a buffer, never a thread.
* **A fixed pool of workers** (:attr:`Limits.workers`, started on demand) answers complete
  requests. The request line and headers are already in memory, so a worker only ever waits
  on the body or on the client reading the answer, each bounded by :attr:`Limits.io_timeout`
  per socket operation. The gateway reads a body only after authentication (an
  unauthenticated request with a body is answered 401 and closed unread), so only a token
  holder can make a worker wait on a body.
* **Timeouts.** A new connection must deliver its whole header block within
  :attr:`Limits.header_timeout` of being accepted (else ``408`` and close); a kept-alive
  connection may stay idle for :attr:`Limits.idle_timeout`, after which it is closed silently
  (an idle close is routine for HTTP clients), and once the next request's first byte
  arrives its headers get :attr:`Limits.header_timeout` again. A header block over
  :attr:`Limits.max_header_bytes` is answered ``431`` and closed.
* **Bounded connections.** At most :attr:`Limits.max_connections` are open (reading headers,
  waiting for a worker or being answered); at the limit the listening socket is not accepted
  from, so further clients wait in the kernel's backlog (:attr:`Limits.backlog`) until a slot
  frees (a timeout frees one within ``header_timeout``).
* **Keep-alive without a pinned worker.** After an answer, a connection that stays open goes
  back to the selector, with any bytes of a pipelined next request the worker had read.

So the gateway's thread count is at most ``1 + workers`` whatever clients do.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_log = logging.getLogger(__name__)

#: the end of a header block (request line + headers); bare LF line ends are tolerated
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_RECV = 64 * 1024
_ACCEPT, _WAKE = object(), object()
#: longest wait of the selector without an event (deadlines are checked at least this often)
_TICK = 1.0


@dataclass(frozen=True)
class Limits:
    """Bounds on what clients can make the gateway hold (see the module docstring)."""

    #: worker threads answering requests (started as needed, never more)
    workers: int = 32
    #: open connections at most (headers being read, waiting for a worker, being answered)
    max_connections: int = 512
    #: the listening socket's backlog (connections the kernel queues while we are full)
    backlog: int = 64
    #: seconds from accepting a connection (or from the first byte of a kept-alive
    #: connection's next request) to its complete header block
    header_timeout: float = 10.0
    #: seconds a kept-alive connection may wait for its next request
    idle_timeout: float = 30.0
    #: seconds one read of a request body or one write of an answer may take
    io_timeout: float = 60.0
    #: largest request line + headers, in bytes
    max_header_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_connections < 1 or self.backlog < 1:
            raise ValueError("gateway limits must allow at least one worker and connection")
        if min(self.header_timeout, self.idle_timeout, self.io_timeout) <= 0:
            raise ValueError("gateway timeouts must be positive")


class SocketReader(io.BufferedIOBase):
    """The request stream of one connection: bytes already read by the selector thread
    first, then the (blocking, timed-out) socket. :meth:`leftover` hands back what was
    read past the current request (a pipelined next request)."""

    def __init__(self, sock: socket.socket, prefix: bytes) -> None:
        super().__init__()
        self._sock = sock
        self._buf = bytearray(prefix)

    def readable(self) -> bool:
        return True

    def leftover(self) -> bytes:
        """Buffered bytes not consumed yet (emptied)."""
        out = bytes(self._buf)
        self._buf.clear()
        return out

    def _fill(self) -> bool:
        data = self._sock.recv(_RECV)
        self._buf += data
        return bool(data)

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def read(self, n: int | None = -1) -> bytes:
        """Up to ``n`` bytes (fewer only at end of stream); all of it for ``n < 0``."""
        if n is None or n < 0:
            while self._fill():
                pass
            return self.leftover()
        if len(self._buf) >= n:
            return self._take(n)
        out = bytearray(n)
        have = len(self._buf)
        out[:have] = self._buf
        self._buf.clear()
        view = memoryview(out)
        while have < n:
            got = self._sock.recv_into(view[have:])
            if got == 0:
                break
            have += got
        del view
        if have < n:
            del out[have:]
        return bytes(out)

    def read1(self, n: int = -1) -> bytes:
        if not self._buf and not self._fill():
            return b""
        return self._take(len(self._buf) if n < 0 else n)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readline(self, limit: int | None = -1) -> bytes:
        """One line including its ``\\n`` (at most ``limit`` bytes; less at end of stream)."""
        limit = -1 if limit is None else limit
        start = 0
        while True:
            end = len(self._buf) if limit < 0 else min(len(self._buf), limit)
            i = self._buf.find(b"\n", start, end)
            if i >= 0:
                return self._take(i + 1)
            if 0 <= limit <= len(self._buf):
                return self._take(limit)
            start = len(self._buf)
            if not self._fill():
                return self.leftover()


class SocketWriter(io.BufferedIOBase):
    """Unbuffered writes to a socket (each :meth:`write` is one ``sendall``, as the
    standard library's handler does with ``wbufsize = 0``)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._sock.sendall(b)
        with memoryview(b) as view:
            return view.nbytes


@dataclass(eq=False)
class Connection:
    """One client connection as the listener tracks it."""

    sock: socket.socket
    address: Any
    #: bytes of the next request read so far (header phase)
    buf: bytearray = field(default_factory=bytearray)
    #: monotonic time at which the header phase gives up
    deadline: float = 0.0
    #: kept alive and no byte of a next request yet (idle timeout, silent close)
    idle: bool = False
    #: set when handed to a worker: the request stream (headers first)
    reader: SocketReader | None = None


#: ``serve(connection) -> keep_open``: answers one request whose headers are complete
ServeOne = Callable[[Connection], bool]


class Listener:
    """Accepts connections on ``(host, port)`` and runs ``serve_one`` on a worker for each
    request whose header block is complete. :meth:`serve_forever` runs the selector loop
    (on the caller's thread); :meth:`shutdown` stops it; :meth:`close` releases everything.
    """

    def __init__(self, host: str, port: int, serve_one: ServeOne, limits: Limits) -> None:
        self.limits = limits
        self._serve_one = serve_one
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.create_server((host, port), family=family,
                                         backlog=limits.backlog)
        self.sock.setblocking(False)
        self.address: tuple[Any, ...] = self.sock.getsockname()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self._accepting = False
        self._lock = threading.Lock()
        #: every open connection (header phase, queued, or being answered)
        self._open: set[Connection] = set()
        #: connections in the header phase, owned by the selector thread
        self._waiting: set[Connection] = set()
        #: kept-alive connections handed back by workers, for the selector thread
        self._returned: list[Connection] = []
        self._jobs: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        #: jobs queued and not yet taken; workers blocked waiting for a job
        self._pending = 0
        self._waiting_workers = 0
        self._active: set[Connection] = set()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._closed = False

    # -- introspection (tests, logs) ------------------------------------------------------
    @property
    def threads(self) -> int:
        """Worker threads started so far (at most :attr:`Limits.workers`)."""
        return len(self._workers)

    @property
    def connections(self) -> int:
        """Connections open now."""
        with self._lock:
            return len(self._open)

    # -- the selector loop ----------------------------------------------------------------
    def serve_forever(self) -> None:
        """Accept and read headers until :meth:`shutdown` (or an exception, e.g. Ctrl-C)."""
        self._stop.clear()
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                self._update_accepting()
                timeout = self._next_timeout()
                for key, _mask in self._sel.select(timeout):
                    if key.data is _ACCEPT:
                        self._accept()
                    elif key.data is _WAKE:
                        self._drain_wake()
                    else:
                        self._read_headers(key.data)
                self._expire(time.monotonic())
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` (returns once it has; at once if it is not running)."""
        self._stop.set()
        self._wake()
        self._stopped.wait()

    def close(self, drain: float = 5.0) -> None:
        """Release the port and every connection. Requests being answered get up to
        ``drain`` seconds to finish before their sockets are shut down."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake()
        self._stopped.wait()
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(self.sock)
        self.sock.close()
        for conn in list(self._waiting):
            self._unwatch(conn)
            self._close(conn)
        with self._lock:
            returned, self._returned = self._returned, []
        for conn in returned:
            self._close(conn)
        for _ in self._workers:
            self._jobs.put(None)
        deadline = time.monotonic() + drain
        for t in self._workers:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = list(self._active)
        for conn in stuck:  # unblock a worker waiting on a slow client
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        for t in self._workers:
            t.join(1.0)
        with self._lock:
            rest = list(self._open)  # queued behind workers that did not finish in time
        for conn in rest:
            self._close(conn)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            self._wake_w.send(b"x")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        with self._lock:
            returned, self._returned = self._returned, []
        now = time.monotonic()
        for conn in returned:
            self._watch(conn, now)
            if conn.buf:  # a pipelined request may be complete already
                self._check_complete(conn)

    def _update_accepting(self) -> None:
        with self._lock:
            room = len(self._open) < self.limits.max_connections
        if room and not self._accepting:
            self._sel.register(self.sock, selectors.EVENT_READ, _ACCEPT)
            self._accepting = True
        elif not room and self._accepting:
            self._sel.unregister(self.sock)
            self._accepting = False

    def _next_timeout(self) -> float:
        if not self._waiting:
            return _TICK
        soonest = min(c.deadline for c in self._waiting)
        return max(0.0, min(_TICK, soonest - time.monotonic()))

    def _accept(self) -> None:
        while True:
            with self._lock:
                if len(self._open) >= self.limits.max_connections:
                    return
            try:
                sock, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: keep serving those we have
                _log.warning("gateway: accept failed: %s", exc)
                return
            sock.setblocking(False)
            # Headers and body go out in separate writes: with Nagle's algorithm on, the
            # body of a small answer waits for the client's delayed ACK (~40 ms a request).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, address)
            with self._lock:
                self._open.add(conn)
            conn.deadline = time.monotonic() + self.limits.header_timeout
            self._watch(conn, None)

    def _watch(self, conn: Connection, now: float | None) -> None:
        """Put ``conn`` in the header phase (``now`` given: a kept-alive connection)."""
        if now is not None:
            conn.idle = not conn.buf
            conn.deadline = now + (self.limits.idle_timeout if conn.idle
                                   else self.limits.header_timeout)
        try:
            self._sel.register(conn.sock, selectors.EVENT_READ, conn)
        except (ValueError, OSError):  # closed under us
            self._close(conn)
            return
        self._waiting.add(conn)

    def _unwatch(self, conn: Connection) -> None:
        self._waiting.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._sel.unregister(conn.sock)

    def _read_headers(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed (or reset) the connection
            self._unwatch(conn)
            self._close(conn)
            return
        if conn.idle:  # the next request begins: its headers get the header timeout
            conn.idle = False
            conn.deadline = time.monotonic() + self.limits.header_timeout
        conn.buf += data
        self._check_complete(conn)

    def _check_complete(self, conn: Connection) -> None:
        # Empty lines before a request line are ignored (RFC 9112 §2.2).
        while conn.buf[:2] == b"\r\n" or conn.buf[:1] == b"\n":
            del conn.buf[:2 if conn.buf[:1] == b"\r" else 1]
        if _HEADERS_END.search(conn.buf) is not None:
            self._unwatch(conn)
            self._dispatch(conn)
        elif len(conn.buf) > self.limits.max_header_bytes:
            self._unwatch(conn)
            self._reject(conn, b"431 Request Header Fields Too Large")

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._waiting if c.deadline <= now]:
            self._unwatch(conn)
            if conn.idle:
                self._close(conn)  # an idle keep-alive connection: closed without a word
            else:
                self._reject(conn, b"408 Request Timeout")

    def _reject(self, conn: Connection, status: bytes) -> None:
        """Answer the header phase's error (best effort, never blocking) and close."""
        with contextlib.suppress(OSError):
            conn.sock.send(b"HTTP/1.1 " + status + b"\r\nConnection: close\r\n"
                           b"Content-Length: 0\r\n\r\n")
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        with contextlib.suppress(OSError):
            conn.sock.close()
        with self._lock:
            was_full = len(self._open) >= self.limits.max_connections
            self._open.discard(conn)
            self._active.discard(conn)
        if was_full:
            self._wake()  # the selector thread may accept again

    # -- workers ----------------------------------------------------------------------------
    def _dispatch(self, conn: Connection) -> None:
        """Hand a connection whose header block is complete to a worker."""
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(self.limits.io_timeout)
        except OSError:
            self._close(conn)
            return
        conn.reader = SocketReader(conn.sock, bytes(conn.buf))
        conn.buf = bytearray()
        with self._lock:
            self._pending += 1
            # A new worker only when the ones waiting for work cannot take this job too.
            start = (self._pending > self._waiting_workers
                     and len(self._workers) < self.limits.workers)
            if start:
                t = threading.Thread(target=self._work, daemon=True,
                                     name=f"blacklake-gateway-{len(self._workers)}")
                self._workers.append(t)
        if start:
            t.start()
        self._jobs.put(conn)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting_workers += 1
            conn = self._jobs.get()
            with self._lock:
                self._waiting_workers -= 1
                if conn is None:
                    return
                self._pending -= 1
                self._active.add(conn)
            keep = False
            try:
                keep = self._serve_one(conn)
            except Exception:  # noqa: BLE001 - one connection's failure must not kill a worker
                _log.exception("gateway: connection from %s failed", conn.address)
            with self._lock:
                self._active.discard(conn)
            if keep:
                self._hand_back(conn)
            else:
                self._close(conn)

    def _hand_back(self, conn: Connection) -> None:
        """Return a kept-alive connection to the selector thread (with any bytes read past
        the answered request)."""
        assert conn.reader is not None
        conn.buf = bytearray(conn.reader.leftover())
        conn.reader = None
        try:
            conn.sock.setblocking(False)
        except OSError:
            self._close(conn)
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._returned.append(conn)
        if closed:
            self._close(conn)
        else:
            self._wake()


__all__ = ["Connection", "Limits", "Listener", "SocketReader", "SocketWriter"]
