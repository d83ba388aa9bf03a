"""API replicas behind a real HAProxy on loopback, for the scale-out tests.

:class:`Replica` is one ``python -m uvicorn`` process serving :func:`create_replica_app` (the
example app, plus an ``X-Replica`` header naming the process) with its settings from the
environment, as a deployment gives them. :class:`Balancer` runs Debian's ``haproxy`` on
``examples/scale/haproxy.cfg``, the file the compose stack uses, with the replica addresses
set through the environment. Every process is stopped by its PID.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
from examples.app import create_app
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.pg import free_port
from tests.processes import end_process

ROOT = Path(__file__).resolve().parents[1]
HAPROXY_CFG = ROOT / "examples" / "scale" / "haproxy.cfg"
#: The response header that names the replica that answered.
REPLICA_HEADER = "x-replica"
#: Where the balancer's health checks and the readiness waits look.
HEALTH = "/api/v1/health"
#: httplog's ``actconn/feconn/beconn/srv_conn/retries``: ``+N`` when a request was redispatched.
REDISPATCHED = re.compile(r" \d+/\d+/\d+/\d+/\+\d+ ")


class ReplicaHeader:
    """Pure ASGI: adds ``X-Replica`` to the response start, so each response still leaves in
    one go (a crash between its header and body writes is the one loss no balancer can retry)."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.header = (REPLICA_HEADER.encode(), name.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), self.header]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, named if scope["type"] == "http" else send)


def create_replica_app() -> FastAPI:
    """The example app, its settings from ``BETTER_AUTH_*``; answers name ``$FBA_REPLICA``."""
    app = create_app()
    app.add_middleware(ReplicaHeader, name=os.environ.get("FBA_REPLICA", "unnamed"))
    return app


def find_haproxy() -> str:
    found = (
        os.environ.get("HAPROXY")
        or shutil.which("haproxy")
        or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    )
    if found is None:
        raise RuntimeError("haproxy not found: install Debian's haproxy")
    return found


def _clean_environment() -> dict[str, str]:
    """This process's environment without settings a replica must get only from us."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BETTER_AUTH_", "BA_", "FBA_", "HAPROXY_"))
        and key not in {"DATABASE_URL", "API1", "API2", "API3"}
    }


def wait_healthy(url: str, alive: Callable[[], bool], timeout: float = 90.0) -> bool:
    """Poll ``url`` until it answers 200 (True), the process dies or time runs out (False)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline and alive():
            with contextlib.suppress(httpx.TransportError):
                if client.get(url).status_code == 200:
                    return True
            time.sleep(0.05)
    return False


class _Process:
    """A child process with its output in a log file, ended by its PID."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(args), cwd=ROOT, env=dict(env), stdout=log, stderr=log
            )

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def kill(self) -> None:
        """SIGKILL by PID: no shutdown, open connections cut, as a crash does."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it does not exit."""
        process, self.process = self.process, None
        end_process(process)


class Replica(_Process):
    """One API replica: ``python -m uvicorn`` on ``127.0.0.1:<port>``, settings from ``env``."""

    def __init__(self, name: str, log_dir: Path) -> None:
        super().__init__(name, log_dir)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"

    def spawn(self, settings: Mapping[str, str]) -> None:
        """Start the process (not waiting for it: see :meth:`wait`)."""
        env = {**_clean_environment(), **settings, "FBA_REPLICA": self.name}
        args = [
            sys.executable, "-m", "uvicorn", "tests.replicas:create_replica_app",
            "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        self._spawn(args, env)

    def wait(self, timeout: float = 90.0) -> None:
        if not wait_healthy(self.url + HEALTH, self.alive, timeout):
            self.stop()
            raise RuntimeError(f"replica {self.name} did not start:\n{self.log()}")

    def start(self, settings: Mapping[str, str]) -> None:
        self.spawn(settings)
        self.wait()


class Balancer(_Process):
    """``haproxy`` on ``examples/scale/haproxy.cfg``, in front of the given replicas."""

    def __init__(self, replicas: Sequence[Replica], log_dir: Path) -> None:
        super().__init__("haproxy", log_dir)
        self.binary = find_haproxy()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **_clean_environment(),
            "HAPROXY_BIND": f"127.0.0.1:{self.port}",
            **{f"API{i}": r.address for i, r in enumerate(replicas, start=1)},
        }

    def check(self) -> str:
        """``haproxy -c``: the configuration is valid with this environment (its output)."""
        result = subprocess.run(
            [self.binary, "-c", "-f", str(HAPROXY_CFG)],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"haproxy -c failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def redispatched(self) -> int:
        """How many requests the log shows retried on another replica."""
        return len(REDISPATCHED.findall(self.log()))

    def start(self) -> None:
        self.check()
        self._spawn([self.binary, "-db", "-f", str(HAPROXY_CFG)], self.env)
        if not wait_healthy(self.url + HEALTH, self.alive):
            self.stop()
            raise RuntimeError(f"haproxy did not start:\n{self.log()}")


class ReplicaSet:
    """Three replicas (``api1``..``api3``) and the balancer; replicas restart with new settings."""

    def __init__(self, log_dir: Path, count: int = 3) -> None:
        self.replicas = [Replica(f"api{i}", log_dir) for i in range(1, count + 1)]
        self.balancer = Balancer(self.replicas, log_dir)
        self.settings: dict[str, str] = {}

    @property
    def names(self) -> set[str]:
        return {replica.name for replica in self.replicas}

    def start(self, settings: Mapping[str, str]) -> None:
        self.restart(settings)
        self.balancer.start()

    def restart(self, settings: Mapping[str, str]) -> None:
        """Stop every replica and start them again (in parallel) with ``settings``."""
        for replica in self.replicas:
            replica.stop()
        self.settings = dict(settings)
        for replica in self.replicas:
            replica.spawn(self.settings)
        for replica in self.replicas:
            replica.wait()

    def stop(self) -> None:
        self.balancer.stop()
        for replica in self.replicas:
            replica.stop()


@contextlib.contextmanager
def running_replicas(
    settings: Mapping[str, str], log_dir: Path
) -> Iterator[ReplicaSet]:
    """Three started replicas behind a started HAProxy; all stopped by PID at exit."""
    replica_set = ReplicaSet(log_dir)
    try:
        replica_set.start(settings)
        yield replica_set
    finally:
        replica_set.stop()
