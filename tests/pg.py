"""A throwaway PostgreSQL server on 127.0.0.1 for the test suite (no mocked database anywhere).

``initdb`` into a temporary directory, ``pg_ctl start`` on a free port with trust auth, and
``pg_ctl stop`` at the end. PostgreSQL refuses to run as root, so as root the cluster belongs
to an unprivileged OS user that is created when missing.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.tls import Certificates

OS_USER = "fba_pgtest"


def find_pg_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` ($PG_BIN, pg_config, Debian's layout, PATH)."""
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    if shutil.which("pg_config"):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        ).stdout
        candidates.append(out.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb") or "").resolve().parent))
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL server binaries not found: install Debian's postgresql or set PG_BIN"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One cluster: ``start()``, ``stop()``, ``restart()``; URLs for asyncpg and SQLAlchemy."""

    def __init__(
        self, root: Path | None = None, *, tls: Certificates | None = None
    ) -> None:
        self.bin = find_pg_bin()
        self.tls = tls
        self.root = Path(root or tempfile.mkdtemp(prefix="fba-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _run(
        self, *args: str, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", OS_USER, "--", *cmd]
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=True,
            cwd=self.root,
            timeout=timeout,
        )

    def _prepare_owner(self) -> None:
        if not self._as_root:
            return
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", OS_USER], check=True
            )
        os.chmod(self.root, 0o755)  # noqa: S103 (the cluster owner must reach its folder)
        shutil.chown(self.root, OS_USER)

    def init(self) -> None:
        self._prepare_owner()
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _own(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, OS_USER)

    def _tls_options(self) -> str:
        """``ssl=on`` with the test CA's server pair (copied where the cluster owner reads it)."""
        if self.tls is None:
            return ""
        folder = self.root / "tls"
        folder.mkdir(exist_ok=True)
        self._own(folder)
        names = {
            "cert": self.tls.server_cert,
            "key": self.tls.server_key,
            "ca": self.tls.root,
        }
        for name, source in names.items():
            target = folder / f"{name}.pem"
            shutil.copyfile(source, target)
            target.chmod(0o600)
            self._own(target)
        return (
            f" -c ssl=on -c ssl_cert_file={folder / 'cert.pem'}"
            f" -c ssl_key_file={folder / 'key.pem'} -c ssl_ca_file={folder / 'ca.pem'}"
        )

    def hba(self, rules: str) -> None:
        """Replace pg_hba.conf by ``rules`` (local connections stay trusted) and reload."""
        path = self.data / "pg_hba.conf"
        path.write_text(f"local all all trust\n{rules}\n")
        self._own(path)
        self._run("pg_ctl", "-D", str(self.data), "reload")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off -c full_page_writes=off"
        options += self._tls_options()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(
        self,
        sql: str,
        database: str = "postgres",
        *,
        port: int | None = None,
        timeout: float | None = None,
    ) -> str:
        """``sql`` through psql; ``port``: another server of the same user (a pooler)."""
        out = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port or self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atq",
            "-c",
            sql,
            timeout=timeout,
        )
        return out.stdout

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")


@contextlib.contextmanager
def running_postgres(tls: Certificates | None = None) -> Iterator[PostgresServer]:
    """A started cluster (with ``ssl=on`` when given certificates), removed at exit."""
    server = PostgresServer(tls=tls)
    try:
        server.init()
        server.start()
        server.wait_ready()
        yield server
    finally:
        server.cleanup()
