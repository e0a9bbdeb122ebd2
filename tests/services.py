"""Real throwaway services for the test suite, all on 127.0.0.1.

* :class:`PostgresCluster` — a private PostgreSQL cluster built with the installed ``initdb`` /
  ``pg_ctl`` in a unique temp dir, on a free port. ``initdb`` and ``postgres`` refuse to run as
  root, so when the tests run as root (CI, these machines) every server command runs as the
  ``postgres`` user through ``su``.
* :class:`MotoS3` — moto's ``ThreadedMotoServer``, a real S3 HTTP endpoint in this process.

``conftest.py`` turns these into fixtures. Nothing here is specific to pytest except
:func:`unavailable`, which decides between *skip* (a developer box without the service) and
*fail* (CI, which must never skip silently).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest

LOOPBACK = "127.0.0.1"
log = logging.getLogger(__name__)


# -- environment policy -----------------------------------------------------------------------
def running_in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but a false-ish value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def unavailable(reason: str) -> NoReturn:
    """Skip the test on a developer machine, but fail loudly under CI (CI must never skip)."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (callers retry if they lose a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (CI cancelling the job, ``timeout``) into KeyboardInterrupt while inside.

    Python's default SIGTERM action kills the process without running ``finally`` blocks or
    ``atexit`` handlers, which would leak a running postmaster. Only installed if nobody else
    handles SIGTERM and we are on the main thread.
    """
    installed = False
    previous: Any = None
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous == signal.SIG_DFL:
            def _handler(signum: int, frame: object) -> None:
                raise KeyboardInterrupt(f"received signal {signum}")

            signal.signal(signal.SIGTERM, _handler)
            installed = True
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)


# -- PostgreSQL -------------------------------------------------------------------------------
def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    """The directory holding ``initdb``/``pg_ctl``/``postgres``, newest version first.

    Tries ``pg_config --bindir`` (which on Debian may name a directory without the server
    binaries), then ``/usr/lib/postgresql/*/bin``, then ``initdb`` on ``PATH``.
    """
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            if out:
                candidates.append(out)
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for c in candidates:
        d = Path(c)
        if all(os.access(d / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _traversable_by_others(path: Path) -> bool:
    """True if every directory from ``/`` to ``path`` can be entered by another user."""
    path = path.resolve()
    for p in [path, *path.parents]:
        try:
            if not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


class PostgresCluster:
    """A throwaway PostgreSQL cluster: ``start()``, use :attr:`url`, ``stop()`` (idempotent).

    Everything lives in one fresh ``mkdtemp`` directory (data dir, log, unix socket), and the
    server listens on a free port on 127.0.0.1 only, so concurrent test sessions never
    collide. ``stop`` is also registered with :mod:`atexit` as a backstop.
    """

    SETTINGS: ClassVar[dict[str, str]] = {
        "listen_addresses": f"'{LOOPBACK}'",
        "max_connections": "200",
        # Throwaway data: durability buys nothing and costs seconds per CREATE DATABASE.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "log_min_messages": "warning",
    }

    def __init__(self, bindir: Path, user: str = "postgres") -> None:
        self.bindir = bindir
        self.user = user  # database superuser name (also the OS user when we are root)
        self.port: int | None = None
        self.dir: Path | None = None
        self._running = False
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    # paths
    @property
    def datadir(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    @property
    def logfile(self) -> Path:
        assert self.dir is not None
        return self.dir / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` maintenance database."""
        return self.database_url("postgres")

    def database_url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver, TCP on loopback) of database ``dbname``."""
        assert self.port is not None, "cluster not started"
        return f"postgresql+psycopg://{self.user}@{LOOPBACK}:{self.port}/{dbname}"

    # process control
    def _run(self, argv: list[str], timeout: float = 120,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a server binary, as the ``postgres`` OS user when we are root."""
        if self._as_root:
            # -s: the postgres account's login shell may be nologin on some systems.
            cmd = ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(argv)]
        else:
            cmd = argv
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.dir, stdin=subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed with exit code {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
                f"{self._log_tail()}")
        return proc

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace").splitlines()[-lines:]
        except (OSError, AssertionError):
            return ""
        return "\n--- postgres log (tail) ---\n" + "\n".join(text)

    def _make_dir(self) -> Path:
        base = Path(tempfile.gettempdir())
        if self._as_root and not _traversable_by_others(base):
            base = Path("/tmp")  # the postgres user must be able to reach its data dir
        # Short prefix: the unix socket path lives here and is limited to ~107 bytes.
        d = Path(tempfile.mkdtemp(prefix="blpg-", dir=base))
        if self._as_root:
            shutil.chown(d, user=self.user)
        return d

    def start(self, attempts: int = 5) -> None:
        """initdb + start on a free port (retrying with another port if one was taken)."""
        if self._running:
            return
        if self._as_root:
            try:
                import pwd

                pwd.getpwnam(self.user)
            except KeyError:
                raise RuntimeError(
                    f"running as root but there is no {self.user!r} OS user to run "
                    "PostgreSQL as (apt-get install postgresql creates it)") from None
        self.dir = self._make_dir()
        atexit.register(self.stop)
        try:
            self._run([str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust",
                       "-U", self.user, "-E", "UTF8", "--locale=C", "--no-sync",
                       "--no-instructions"])
            conf = self.datadir / "postgresql.conf"
            with conf.open("a") as f:
                f.write("\n# blacklake-ml test cluster\n")
                f.write(f"unix_socket_directories = '{self.dir}'\n")
                for k, v in self.SETTINGS.items():
                    f.write(f"{k} = {v}\n")
            last_error: Exception | None = None
            for _ in range(attempts):
                port = free_port()
                proc = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                                  "-l", str(self.logfile), "-o", f"-p {port}", "-w",
                                  "-t", "60", "start"], check=False)
                if proc.returncode == 0:
                    self.port = port
                    self._running = True
                    return
                last_error = RuntimeError(
                    f"pg_ctl start on port {port} failed ({proc.returncode}):\n"
                    f"{proc.stdout}{proc.stderr}{self._log_tail()}")
                log.warning("%s", last_error)
                self._kill_postmaster()  # in case it half-started
            assert last_error is not None
            raise last_error
        except BaseException:
            self.stop()
            raise

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, AssertionError):
            return None

    def _is_our_postmaster(self, pid: int) -> bool:
        """Guard against a stale postmaster.pid naming a recycled, unrelated process."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.datadir).encode() in cmdline

    def _kill_postmaster(self) -> None:
        pid = self._postmaster_pid()
        if pid is None or not self._is_our_postmaster(pid):
            return
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGQUIT)  # "immediate shutdown"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server (fast, then immediate, then signals) and delete its directory."""
        if self.dir is None:
            return
        try:
            if self.datadir.exists() and self._postmaster_pid() is not None:
                stopped = False
                for mode in ("fast", "immediate"):
                    try:
                        proc = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir),
                                          "-m", mode, "-w", "-t", "30", "stop"], check=False,
                                         timeout=60)
                        if proc.returncode == 0:
                            stopped = True
                            break
                    except (OSError, subprocess.SubprocessError):
                        pass
                if not stopped:
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            self.port = None
            self._running = False
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)

    # databases
    def _admin_connect(self) -> Any:
        import psycopg

        assert self.port is not None, "cluster not started"
        return psycopg.connect(host=LOOPBACK, port=self.port, user=self.user, dbname="postgres",
                               autocommit=True, connect_timeout=30)

    def check(self) -> str:
        """Connect over TCP and return the server version string."""
        with self._admin_connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0])

    def create_database(self, name: str | None = None) -> str:
        """Create a fresh, empty database and return its name (default ``t_<uuid hex>``)."""
        name = name or f"t_{uuid.uuid4().hex}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"unsafe database name {name!r}")
        with self._admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, terminating any connections a test left open."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"unsafe database name {name!r}")
        with self._admin_connect() as conn:
            if conn.info.server_version >= 130000:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:  # pragma: no cover - PostgreSQL < 13
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# -- S3 (moto) --------------------------------------------------------------------------------
#: Environment for the whole session: fake credentials, and nothing that could send S3 calls
#: anywhere but the explicit loopback endpoint (profiles, global endpoint overrides, proxies).
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
AWS_UNSET = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN",
             "AWS_WEB_IDENTITY_TOKEN_FILE")


@contextlib.contextmanager
def aws_test_environment() -> Iterator[None]:
    """Set fake AWS credentials and loopback no-proxy settings; restore everything after."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in AWS_TEST_ENV.items():
            mp.setenv(k, v)
        for k in AWS_UNSET:
            mp.delenv(k, raising=False)
        for k in ("NO_PROXY", "no_proxy"):
            current = [p for p in os.environ.get(k, "").split(",") if p]
            mp.setenv(k, ",".join(current + [LOOPBACK, "localhost"]))
        yield


class MotoS3:
    """moto's threaded S3 server on 127.0.0.1 (free port), plus bucket helpers."""

    region = "us-east-1"

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint: str | None = None

    def start(self) -> str:
        """Start the server and return its endpoint URL."""
        from moto.server import ThreadedMotoServer

        # Werkzeug logs every request at INFO; keep failure reports readable.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        if host != LOOPBACK:
            raise RuntimeError(f"moto bound to {host}, expected {LOOPBACK}")
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.stop()
        self.endpoint = None

    def client(self) -> Any:
        """A boto3 S3 client bound to the loopback endpoint."""
        import boto3

        assert self.endpoint, "server not started"
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"])

    def storage_options(self) -> dict[str, Any]:
        """Options for ``open_storage("s3://...", **options)`` (s3fs) against this server.

        ``skip_instance_cache``: fsspec caches filesystem instances keyed on their options,
        and every test here uses the same options, so without it all tests would share one
        S3FileSystem (and its listing cache); with it each storage gets a fresh instance.
        """
        assert self.endpoint, "server not started"
        return {
            "key": AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
            "secret": AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": self.region},
            "skip_instance_cache": True,
        }

    def create_bucket(self) -> str:
        """Create a fresh bucket ``bl-<8 hex>`` and return its name."""
        name = f"bl-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name

    def remove_bucket(self, name: str) -> None:
        """Delete every object in ``name`` and the bucket (frees moto's memory)."""
        client = self.client()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if objs:
                client.delete_objects(Bucket=name, Delete={"Objects": objs, "Quiet": True})
        client.delete_bucket(Bucket=name)
