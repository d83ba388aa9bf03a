"""The admin user list (``GET /api/v1/users``) at 100 000 users: one connection, latency percentiles.

If the route is missing, the equivalent SQL (count + page) is timed through asyncpg instead and the
table says so.
"""

import asyncio
import time
import urllib.error
import urllib.request
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from ._server import Server, wrk
from ._util import fmt, median, quick, table, verdict

TARGET_MS = 20.0


def cases(users: int) -> list[tuple[str, str]]:
    return [
        ("first page (50, by createdAt)", "/api/v1/users?limit=50"),
        (
            f"deep page (offset {users - 50})",
            f"/api/v1/users?limit=50&offset={users - 50}",
        ),
        (
            "search (email or name, 1 match)",
            f"/api/v1/users?search=user{users // 2:06d}",
        ),
        ("search (many matches)", "/api/v1/users?search=User%2000"),
    ]


def _route_exists(server: Server, token: str) -> bool:
    request = urllib.request.Request(f"{server.url}/api/v1/users?limit=1",  # noqa: S310
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 405):
            return False
        raise RuntimeError(
            f"GET /api/v1/users answered {exc.code}: {exc.read()[:300]!r}"
        ) from exc


def run(server: Server, tokens: Any, users: int, dsn: str) -> dict[str, Any]:
    seconds = 1 if quick() else 6
    token = tokens.path.read_text().split()[0]
    if not _route_exists(server, token):
        return {"route": False, "rows": asyncio.run(_sql(dsn, users, seconds))}
    rows = {}
    for label, path in cases(users):
        runs = [
            wrk(server.url, path, tokens.path, seconds, connections=1)
            for _ in range(1 if quick() else 3)
        ]
        for result in runs:
            if result["errors"]:
                raise RuntimeError(f"{label}: {result} (see {server.log})")
        rows[label] = {"p50_ms": median(r["p50_us"] for r in runs) / 1000,
                       "p99_ms": median(r["p99_us"] for r in runs) / 1000,
                       "rps": median(r["rps"] for r in runs)}  # fmt: skip
    return {"route": True, "rows": rows, "users": users}


async def _sql(dsn: str, users: int, seconds: int) -> dict[str, Any]:
    cols = 'id, email, name, "emailVerified", image, role, banned, "banReason", "banExpires", "createdAt", "updatedAt"'
    # Constants and an int only (no user input), hence the S608 waivers.
    queries: dict[str, list[tuple[str, tuple[str, ...]]]] = {
        "first page (50, by createdAt)": [('SELECT count(*) FROM "user"', ()),
            (f'SELECT {cols} FROM "user" ORDER BY "createdAt", id LIMIT 50', ())],  # noqa: S608
        f"deep page (offset {users - 50})": [('SELECT count(*) FROM "user"', ()),
            (f'SELECT {cols} FROM "user" ORDER BY "createdAt", id LIMIT 50 OFFSET {users - 50}', ())],  # noqa: S608
        "search (email or name, 1 match)": [
            ("SELECT count(*) FROM \"user\" WHERE email ILIKE $1 OR name ILIKE $1", (f"%user{users // 2:06d}%",)),
            (f'SELECT {cols} FROM "user" WHERE email ILIKE $1 OR name ILIKE $1 ORDER BY "createdAt", id LIMIT 50',  # noqa: S608
             (f"%user{users // 2:06d}%",))],
    }  # fmt: skip
    connection = await asyncpg.connect(dsn)
    rows: dict[str, dict[str, float]] = {}
    try:
        for label, steps in queries.items():
            times: list[float] = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline and len(times) < 10_000:
                start = time.perf_counter()
                for sql, args in steps:
                    await connection.fetch(sql, *args)
                times.append((time.perf_counter() - start) * 1e3)
            times.sort()
            rows[label] = {
                "p50_ms": median(times),
                "p99_ms": times[int(len(times) * 0.99) - 1],
                "rps": len(times) / seconds,
            }
    finally:
        await connection.close()
    return rows


def render(results: dict[str, Any]) -> str:
    note = (
        ""
        if results["route"]
        else "\n\n`GET /api/v1/users` was missing: equivalent SQL through asyncpg, no HTTP."
    )
    rows = [[label, fmt(r["p50_ms"]), fmt(r["p99_ms"]), f"≤ {TARGET_MS:g} ms", verdict(r["p50_ms"] <= TARGET_MS)]
            for label, r in results["rows"].items()]  # fmt: skip
    return (
        table(
            [
                "request (1 connection, admin JWT, freshness=always)",
                "p50 ms",
                "p99 ms",
                "target p50",
                "",
            ],
            rows,
        )
        + note
    )
