"""Servers under load: uvicorn subprocesses (1 worker, uvloop, httptools) and wrk on loopback."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._util import ROOT, free_port, wait_http

LUA = Path(__file__).with_name("wrk_tokens.lua")
CONNECTIONS = 50


@dataclass
class Server:
    """One uvicorn process serving ``factory``; stopped by its own PID."""

    name: str
    factory: str
    env: dict[str, str]
    python: str = sys.executable
    #: a checkout of another revision (``--compare``): its ``src`` and ``bench`` are served
    root: Path = ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        self.log = Path(
            tempfile.mkstemp(prefix=f"bench-{self.name}-", suffix=".log")[1]
        )
        command = [
            self.python, "-m", "uvicorn", "--factory", self.factory,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, **self.env, "PYTHONPATH": python_path(self.root)}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        assert self.log is not None
        try:
            wait_http(f"{self.url}/ping", timeout=60)
        except RuntimeError:
            self.stop()
            raise RuntimeError(
                f"{self.name} did not start:\n{self.log.read_text()[-3000:]}"
            ) from None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def python_path(root: Path = ROOT) -> str:
    """``PYTHONPATH`` for a server of ``root``: its ``src`` before the installed package.

    ``BENCH_SRC``: a patched copy of the package to measure a proposed change (see the docs).
    """
    if root != ROOT:
        return os.pathsep.join([str(root / "src"), str(root)])
    return os.pathsep.join(filter(None, [os.environ.get("BENCH_SRC"), str(ROOT)]))


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    path: str,
    tokens: Path | None,
    seconds: int,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """Run wrk (1 thread) for ``seconds``; requests/s, percentiles and error counts."""
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(LUA), url, "--", path, str(tokens or ""),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k] for k in ("non2xx", "connect", "read", "write", "timeout")
    )
    return result


def write_tokens(tokens: Sequence[str]) -> Path:
    handle, name = tempfile.mkstemp(prefix="bench-tokens-", suffix=".txt")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(tokens) + "\n")
    return Path(name)
