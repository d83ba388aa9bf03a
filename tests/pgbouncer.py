"""A real PgBouncer in transaction mode on 127.0.0.1, in front of the suite's PostgreSQL.

Debian's ``pgbouncer`` (1.18 on bookworm: no protocol-level prepared statements, so a
prepared statement lives on whichever server connection made it). Config and logs live in a
temporary folder; as root the process runs as the unprivileged user of tests/pg.py.

PgBouncer does not exit when its TCP port is taken: it warns ("cannot listen on …"), listens on
its unix socket only and runs on, so a connect to the port reaches whoever holds it. That was
the suite's PgBouncer flake (connection refused mid-test, once the other listener went away):
readiness is therefore read from PgBouncer's own log, and a taken port is replaced by another.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.pg import OS_USER, PostgresServer, free_port
from tests.processes import end_process


def find_pgbouncer() -> str | None:
    """The pgbouncer binary ($PGBOUNCER, PATH, Debian's /usr/sbin), or None."""
    for candidate in (
        os.environ.get("PGBOUNCER"),
        shutil.which("pgbouncer"),
        "/usr/sbin/pgbouncer",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class PgBouncer:
    """One pgbouncer process; ``url(database)`` reaches ``postgres``' database through it."""

    def __init__(self, postgres: PostgresServer, *, pool_size: int = 5) -> None:
        binary = find_pgbouncer()
        if binary is None:
            raise RuntimeError("pgbouncer not found: install Debian's pgbouncer")
        self.binary = binary
        self.postgres = postgres
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fba-pgb-"))
        self.pool_size = pool_size
        self._process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> Path:
        (self.root / "userlist.txt").write_text('"postgres" ""\n')
        config = self.root / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.postgres.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.root}\n"
            "auth_type = trust\n"
            f"auth_file = {self.root / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits\n"
            # a client queued for a server connection fails after 20 s, not 120: a pool
            # stuck for minutes (seen once in CI) shows up in one test, not three waits
            "query_wait_timeout = 20\n"
            "admin_users = postgres\n"
        )
        return config

    def start(self, attempts: int = 5) -> None:
        """Start on a free port; a port another process took meanwhile is replaced."""
        user = None
        if os.geteuid() == 0:  # pgbouncer refuses root: run as the cluster's owner
            os.chmod(self.root, 0o755)  # noqa: S103 (the unprivileged user writes its log here)
            shutil.chown(self.root, OS_USER)
            user = OS_USER
        for attempt in range(attempts):
            if attempt:
                self.port = free_port()
            config = self._write_config()
            (self.root / "pgbouncer.log").unlink(missing_ok=True)
            self._process = subprocess.Popen(
                [self.binary, "-q", str(config)], cwd=self.root, user=user
            )
            if self.wait_ready():
                return
            self._end_process()
        raise RuntimeError(f"pgbouncer found no free port in {attempts} tries")

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """Wait until pgbouncer listens on its port: True; False when the port is taken."""
        mine = f"listening on 127.0.0.1:{self.port}"
        taken = f"cannot listen on 127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log()}")
            log = self.log()
            if taken in log:
                return False
            if mine in log:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), 1).close()
                    return True
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {self.log()}")

    def alive(self) -> bool:
        """Whether the PgBouncer process still runs."""
        return self._process is not None and self._process.poll() is None

    def diagnose(self) -> str:
        """PgBouncer's pools, servers and clients, PostgreSQL's sessions and its log's tail:
        what a failing test prints, so that a failure in CI explains itself."""
        parts = [f"pgbouncer alive: {self.alive()}"]
        for command in ("SHOW POOLS", "SHOW SERVERS", "SHOW CLIENTS"):
            parts.append(f"-- {command}\n{self._admin(command)}")
        try:
            activity = self.postgres.psql(
                "SELECT pid, datname, state, wait_event_type, wait_event, "
                "now() - xact_start, left(query, 80) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend'"
            )
        except subprocess.CalledProcessError as exc:
            activity = f"psql failed: {exc.stderr}"
        parts.append(f"-- PostgreSQL sessions\n{activity}")
        parts.append(f"-- pgbouncer.log (tail)\n{self.log()[-3000:]}")
        return "\n".join(parts)

    def _admin(self, command: str) -> str:
        """One command on PgBouncer's admin console (its ``pgbouncer`` database)."""
        try:
            return self.postgres.psql(command, "pgbouncer", port=self.port, timeout=10)
        except (subprocess.SubprocessError, OSError) as exc:
            return f"failed: {exc}"

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def url(self, database: str, query: str = "") -> str:
        """A libpq URL of ``database`` through this pgbouncer (``query`` appended)."""
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        return f"{url}?{query}" if query else url

    def _end_process(self) -> None:
        end_process(
            self._process
        )  # SIGTERM: immediate shutdown (SIGINT waits for clients)
        self._process = None

    def stop(self) -> None:
        self._end_process()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_pgbouncer(postgres: PostgresServer, **options: int) -> Iterator[PgBouncer]:
    """A started pgbouncer in transaction mode, stopped at exit."""
    bouncer = PgBouncer(postgres, **options)
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.stop()
