"""A throwaway Redis on 127.0.0.1 for the test suite: Better-Auth's ``secondaryStorage``.

``redis-server`` (Debian's package) on a free port in a temporary directory, no persistence
(no RDB snapshots, no AOF), optionally with a password; stopped by its PID.
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.pg import free_port
from tests.processes import end_process
from tests.tls import Certificates


def find_redis_server() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RuntimeError("redis-server not found: install Debian's redis-server")
    return found


class RedisServer:
    """One ``redis-server``: ``start()``, ``stop()`` (by PID), ``url()``, ``command()``."""

    def __init__(
        self,
        *,
        password: str | None = None,
        tls: Certificates | None = None,
        keyspace_events: str = "",
    ) -> None:
        self.binary = find_redis_server()
        self.keyspace_events = keyspace_events
        self.password = password
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="fba-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, password: str | None = None, *, db: int = 0) -> str:
        """``redis://[:password@]127.0.0.1:<port>/<db>`` (``password`` overrides the server's)."""
        secret = password if password is not None else self.password
        auth = f":{secret}@" if secret else ""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.root),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        if self.keyspace_events:  # push invalidation: Redis publishes key events
            args += ["--notify-keyspace-events", self.keyspace_events]
        if self.tls is not None:  # TLS only: the plain port is off
            args += [
                "--port", "0",
                "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls.server_cert),
                "--tls-key-file", str(self.tls.server_key),
                "--tls-ca-cert-file", str(self.tls.root),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        logged = len(self.log())  # a restart appends to the same log
        self._process = subprocess.Popen(args, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            # its own log, not a connect: a connect may reach another process on a taken port
            if "Ready to accept connections" in self.log()[logged:]:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start:\n{self.log()}")

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.root / "redis.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL), keeping the folder for ``start()``."""
        process, self._process = self._process, None
        end_process(process)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_redis(
    *,
    password: str | None = None,
    tls: Certificates | None = None,
    keyspace_events: str = "",
) -> Iterator[RedisServer]:
    """A started Redis (TLS only with ``tls``; ``notify-keyspace-events`` if given), removed at exit."""
    server = RedisServer(password=password, tls=tls, keyspace_events=keyspace_events)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
