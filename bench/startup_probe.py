"""One fresh process: import everything, then time lifespan start → first authenticated 200.

Run as ``python -m bench.startup_probe`` with ``BENCH_ORIGIN``, ``BENCH_DB_URL``,
``BENCH_FRESHNESS`` and ``BENCH_TOKEN``; prints one JSON line. Imports are done before the clock
starts (a process start is not an app start); the ASGI calls are made directly, without a server.
"""

import asyncio
import json
import os
import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from starlette.types import Message, Scope

from fastapi_better_auth import BetterAuthSettings, CurrentUser, better_auth_router


async def _get(app: FastAPI, path: str, token: str, state: Mapping[str, Any]) -> int:
    scope: Scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80), "state": dict(state),
    }  # fmt: skip
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main() -> dict[str, float]:
    settings = BetterAuthSettings.load(
        url=os.environ["BENCH_ORIGIN"],
        database_url=os.environ["BENCH_DB_URL"],
        freshness=os.environ["BENCH_FRESHNESS"],
    )
    app = FastAPI()
    app.include_router(better_auth_router(settings))

    @app.get("/protected")
    async def protected(user: CurrentUser) -> dict[str, str]:
        return {"id": user.id}

    token = os.environ["BENCH_TOKEN"]
    start = time.perf_counter()
    async with app.router.lifespan_context(app) as state:
        ready = time.perf_counter()
        status = await _get(app, "/protected", token, state or {})
        first = time.perf_counter()
        await _get(app, "/protected", token, state or {})
        second = time.perf_counter()
    if status != 200:
        raise SystemExit(f"first request answered {status}")
    return {
        "lifespan_ms": (ready - start) * 1e3,
        "first_request_ms": (first - ready) * 1e3,
        "total_ms": (first - start) * 1e3,
        "second_request_ms": (second - first) * 1e3,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
