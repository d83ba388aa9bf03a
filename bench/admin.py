"""The admin user list (``GET /api/v1/users``) at 100 000 users: one connection, latency percentiles.

Every request is measured twice in the same run: on Better-Auth's schema as it is (indexes on
``id`` and ``email`` only), then after ``migrate indexes`` (the opt-in list indexes, built here
with ``create_indexes``, then ``VACUUM ANALYZE``). The target is judged on the second.
If the route is missing, the equivalent SQL (count + page) is timed through asyncpg instead and the
table says so.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth._schema.indexes import create_indexes

from ._server import Server, wrk
from ._util import fmt, median, quick, table, verdict

TARGET_MS = 20.0


def cases(users: int, cursor: str | None) -> list[tuple[str, str]]:
    rows = [
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
    if cursor is not None:
        rows.insert(
            2,
            (f"deep page via cursor (after row {users - 50})", f"/api/v1/users?limit=50&cursor={cursor}"),
        )  # fmt: skip
    return rows


def _get(server: Server, token: str, path: str) -> Any:
    request = urllib.request.Request(f"{server.url}{path}",  # noqa: S310
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def _route_exists(server: Server, token: str) -> bool:
    try:
        _get(server, token, "/api/v1/users?limit=1")
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 405):
            return False
        raise RuntimeError(
            f"GET /api/v1/users answered {exc.code}: {exc.read()[:300]!r}"
        ) from exc
    return True


def _deep_cursor(server: Server, token: str, users: int) -> str | None:
    """The cursor after row ``users - 50`` (1-based), or None if the API has no cursors."""
    page = _get(server, token, f"/api/v1/users?limit=1&offset={users - 51}")
    cursor = page.get("next_cursor")
    return None if cursor is None else str(cursor)


def _measure(server: Server, tokens: Any, users: int, seconds: int) -> dict[str, Any]:
    token = tokens.path.read_text().split()[0]
    rows = {}
    for label, path in cases(users, _deep_cursor(server, token, users)):
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
    return rows


async def _add_indexes(url: str, dsn: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        report = await create_indexes(engine, concurrently=False)
    finally:
        await engine.dispose()
    if not report.complete:
        raise RuntimeError(f"migrate indexes was incomplete: {report}")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute('VACUUM ANALYZE "user"')
    finally:
        await connection.close()
    return report.done


def run(server: Server, tokens: Any, users: int, dsn: str, url: str) -> dict[str, Any]:
    seconds = 1 if quick() else 6
    token = tokens.path.read_text().split()[0]
    if not _route_exists(server, token):
        return {"route": False, "rows": asyncio.run(_sql(dsn, users, seconds))}
    plain = _measure(server, tokens, users, seconds)
    indexes = asyncio.run(_add_indexes(url, dsn))
    indexed = _measure(server, tokens, users, seconds)
    return {"route": True, "rows": indexed, "plain": plain, "indexes": indexes,
            "users": users}  # fmt: skip


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
    if not results["route"]:
        rows = [[label, fmt(r["p50_ms"]), fmt(r["p99_ms"]), f"≤ {TARGET_MS:g} ms", verdict(r["p50_ms"] <= TARGET_MS)]
                for label, r in results["rows"].items()]  # fmt: skip
        headers = ["request (1 connection, admin JWT, freshness=always)", "p50 ms", "p99 ms", "target p50", ""]  # fmt: skip
        note = (
            "`GET /api/v1/users` was missing: equivalent SQL through asyncpg, no HTTP."
        )
        return table(headers, rows) + "\n\n" + note
    plain: dict[str, Any] = results["plain"]
    rows = []
    for label, r in results["rows"].items():
        before = plain.get(label, {})
        rows.append([label, fmt(before.get("p50_ms")), fmt(before.get("p99_ms")),
                     fmt(r["p50_ms"]), fmt(r["p99_ms"]), f"≤ {TARGET_MS:g} ms",
                     verdict(r["p50_ms"] <= TARGET_MS)])  # fmt: skip
    headers = ["request (1 connection, admin JWT, freshness=always)",
               "Better-Auth's indexes only: p50 ms", "p99 ms",
               "with `migrate indexes`: p50 ms", "p99 ms", "target p50", ""]  # fmt: skip
    note = (
        "Both columns in the same run, same server: first on Better-Auth's schema as it is, "
        "then after `python -m fastapi_better_auth migrate indexes` "
        f"({', '.join(results['indexes'])}) and `VACUUM ANALYZE`; the target is judged on the "
        "second."
    )
    return table(headers, rows) + "\n\n" + note
