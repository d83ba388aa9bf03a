"""The short, CI-sized load test and the HTTP layer's limits, against uvicorn in a subprocess.

20 connections for 10 seconds on ``/api/v1/auth/me`` (JWT and session token) and the admin
list: no error, and the server's RSS flat within a margin. The long run (100 connections,
5 minutes) is ``nox -s load`` (bench/load/nox_session.py).
"""

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from subprocess import Popen

import pytest
from bench.load.loadgen import (
    World,
    load_world,
    run_load,
    uvicorn_server,
)

from tests.pg import PostgresServer, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.load]


@dataclass(frozen=True)
class Server:
    base_url: str
    port: int
    process: "Popen[bytes]"
    world: World


@pytest.fixture(scope="module")
def server(postgres: PostgresServer) -> Iterator[Server]:
    import secrets

    name = "l_" + secrets.token_hex(6)
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        with load_world(postgres.url(name)) as world:
            port = free_port()
            with uvicorn_server(world.env, port=port) as process:
                yield Server(f"http://127.0.0.1:{port}", port, process, world)
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_load_me_and_admin_list_20_connections_no_errors_flat_rss(
    server: Server,
) -> None:
    import httpx

    paths = httpx.get(server.base_url + "/openapi.json", timeout=10).json()["paths"]
    targets = server.world.targets + (
        server.world.admin_targets if "/api/v1/users" in paths else []
    )
    asyncio.run(run_load(server.base_url, targets, connections=20, seconds=2, pid=None))
    result = asyncio.run(
        run_load(
            server.base_url, targets, connections=20, seconds=10, pid=server.process.pid
        )
    )
    assert result.requests > 0
    assert result.failures == 0, result.summary()
    assert set(result.statuses) == {200}, result.summary()
    growth, allowed = result.rss_growth()
    assert growth <= allowed, result.summary()
    assert server.process.poll() is None


def _raw_request(port: int, head: bytes) -> bytes:
    """Send a raw HTTP/1.1 request; the status line of the answer, or b"" if the server hung up."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(head)
            return sock.recv(65536).split(b"\r\n", 1)[0]
        except (ConnectionResetError, BrokenPipeError):
            return b""


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("authorization-1mb", b"Authorization: Bearer " + b"A" * (1024 * 1024)),
        (
            "jwt-shaped-1mb",
            b"Authorization: Bearer eyJ" + b"A" * (1024 * 1024) + b".eyJ.AAAA",
        ),
        ("cookie-1mb", b"Cookie: better-auth.session_token=" + b"a" * (1024 * 1024)),
        (
            "many-cookie-headers",
            b"\r\n".join(b"Cookie: c%d=v" % i for i in range(5000)),
        ),
        ("authorization-64k", b"Authorization: Bearer " + b"A" * 65536),
    ],
)
def test_http_layer_oversized_headers_refused_without_server_error(
    server: Server, name: str, header: bytes
) -> None:
    request = (
        b"GET /api/v1/auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + header
        + b"\r\nConnection: close\r\n\r\n"
    )
    status_line = _raw_request(server.port, request)
    if status_line:  # uvicorn may also just close the connection
        status = int(status_line.split()[1])
        assert status in (400, 401, 413, 431), status_line
    assert server.process.poll() is None
    import httpx

    assert httpx.get(server.base_url + "/api/v1/health", timeout=10).status_code == 200
