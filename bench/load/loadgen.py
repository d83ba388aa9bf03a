"""A bounded load test: the example app under uvicorn in a subprocess, hit by N keep-alive connections.

``python -m bench.load.loadgen --connections 100 --seconds 300`` starts its own PostgreSQL
(tests/pg.py), a JWKS on loopback (``TokenIssuer.serve``) and uvicorn on a free 127.0.0.1
port, then drives ``GET /api/v1/auth/me`` (half with a JWT, half with a session token) and,
when mounted, the admin list ``GET /api/v1/users``. It samples the server's RSS and exits
non-zero on any error or on memory growth beyond the margin. Everything is bounded: the
duration, the number of connections and every wait.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
#: Allowed RSS growth between the warmed-up middle and the end of a run.
RSS_MARGIN_BYTES = 16 * 1024 * 1024
RSS_MARGIN_RATIO = 0.10


@dataclass
class Target:
    path: str
    headers: dict[str, str]
    expect: int = 200


@dataclass
class Result:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    rss: list[int] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(self.errors.values())

    def rss_growth(self) -> tuple[int, int]:
        """``(growth, allowed)``: end median minus warmed-up median, and the margin."""
        third = max(1, len(self.rss) // 3)
        middle = statistics.median(self.rss[third : 2 * third] or self.rss)
        end = statistics.median(self.rss[-third:])
        allowed = max(RSS_MARGIN_BYTES, int(middle * RSS_MARGIN_RATIO))
        return int(end - middle), allowed

    def summary(self) -> dict[str, object]:
        growth, allowed = self.rss_growth() if self.rss else (0, 0)
        return {
            "requests": self.requests,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "rss_first_mib": round(self.rss[0] / 2**20, 1) if self.rss else None,
            "rss_last_mib": round(self.rss[-1] / 2**20, 1) if self.rss else None,
            "rss_growth_mib": round(growth / 2**20, 2),
            "rss_allowed_mib": round(allowed / 2**20, 2),
        }


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found")


async def run_load(
    base_url: str,
    targets: list[Target],
    *,
    connections: int,
    seconds: float,
    pid: int | None,
    max_requests: int = 10_000_000,
) -> Result:
    """Drive ``targets`` round-robin over ``connections`` workers for ``seconds``; sample RSS twice a second."""
    result = Result()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections
    )

    async def worker(index: int, client: httpx.AsyncClient) -> None:
        turn = index
        while time.monotonic() < deadline and result.requests < max_requests:
            target = targets[turn % len(targets)]
            turn += 1
            result.requests += 1
            try:
                response = await client.get(target.path, headers=target.headers)
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
                continue
            result.statuses[response.status_code] += 1
            if response.status_code != target.expect:
                result.errors[f"HTTP {response.status_code} {target.path}"] += 1

    async def sampler() -> None:
        while pid is not None and time.monotonic() < deadline:
            result.rss.append(rss_bytes(pid))
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=30
    ) as client:
        await asyncio.gather(
            sampler(), *(worker(index, client) for index in range(connections))
        )
    if pid is not None:
        result.rss.append(rss_bytes(pid))
    return result


@contextlib.contextmanager
def uvicorn_server(
    env: dict[str, str], *, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """The example app under uvicorn on 127.0.0.1:port; stopped (SIGINT, then SIGKILL) on exit."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "examples.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log",
        # longer than the client's keep-alive expiry (5 s): no race on a connection the server
        # is closing just as the client reuses it (a ReadError that is no server fault)
        "--timeout-keep-alive", "75",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        _wait_ready(f"http://127.0.0.1:{port}/api/v1/health", process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):  # about 30 s
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("uvicorn did not become ready")


@dataclass
class World:
    """Database, JWKS and the tokens the load uses."""

    env: dict[str, str]
    targets: list[Target]
    admin_targets: list[Target]


@contextlib.contextmanager
def load_world(database_url: str | None = None) -> Iterator[World]:
    """A seeded PostgreSQL database (private cluster unless given), a JWKS on loopback, tokens."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers import SECRET, seed
    from tests.pg import running_postgres

    from fastapi_better_auth.testing import (
        TokenIssuer,
        make_session,
        make_user,
        user_claims,
    )

    with contextlib.ExitStack() as stack:
        if database_url is None:
            pg = stack.enter_context(running_postgres())
            database_url = pg.url()
        users = [
            make_user(email=f"user{i}@example.com", email_verified=True)
            for i in range(200)
        ]
        admin = make_user(email="admin@example.com", role="admin", email_verified=True)
        alice, session = users[0], make_session(users[0])
        admin_session = make_session(admin)
        seed(database_url, *users, admin, session, admin_session, migrate=True)
        issuer = TokenIssuer()
        origin = stack.enter_context(issuer.serve())
        jwt = issuer.mint(user_claims(alice), expires_in=900)
        env = {
            "BETTER_AUTH_URL": origin,
            "BETTER_AUTH_SECRET": SECRET,
            "BETTER_AUTH_DATABASE_URL": database_url,
            "BETTER_AUTH_JWT_MAX_LIFETIME_SECONDS": "900",
        }
        targets = [
            Target("/api/v1/auth/me", {"Authorization": f"Bearer {jwt}"}),
            Target("/api/v1/auth/me", {"Authorization": f"Bearer {session.token}"}),
        ]
        admin_targets = [
            Target(
                "/api/v1/users?limit=20",
                {"Authorization": f"Bearer {admin_session.token}"},
            ),
            Target(
                "/api/v1/users?limit=20&offset=100&sort_by=email",
                {"Authorization": f"Bearer {admin_session.token}"},
            ),
        ]
        yield World(env, targets, admin_targets)


def _has_admin_list(base_url: str, world: World) -> bool:
    response = httpx.get(base_url + "/openapi.json", timeout=10)
    return "/api/v1/users" in response.json().get("paths", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--warmup-seconds", type=float, default=10)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    from tests.pg import free_port

    with load_world() as world:
        port = free_port()
        with uvicorn_server(world.env, port=port) as process:
            base = f"http://127.0.0.1:{port}"
            targets = world.targets + (
                world.admin_targets if _has_admin_list(base, world) else []
            )
            asyncio.run(
                run_load(
                    base,
                    targets,
                    connections=args.connections,
                    seconds=args.warmup_seconds,
                    pid=None,
                )
            )
            result = asyncio.run(
                run_load(
                    base,
                    targets,
                    connections=args.connections,
                    seconds=args.seconds,
                    pid=process.pid,
                )
            )
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    growth, allowed = result.rss_growth()
    return 1 if result.failures or growth > allowed else 0


if __name__ == "__main__":
    raise SystemExit(main())
