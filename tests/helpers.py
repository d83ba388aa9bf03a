"""Small synchronous helpers for tests that drive an app through ``TestClient``."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import (
    AdminUser,
    BetterAuthSettings,
    CurrentUser,
    OptionalUser,
    VerifiedUser,
    better_auth_router,
    require_role,
)
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schemas import AuthenticatedUser

SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def run(coro: Any) -> Any:
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


async def _seed(url: str, rows: tuple[Any, ...], migrate: bool) -> None:
    engine = create_async_engine(url)
    try:
        if migrate:
            await _migrate.upgrade(engine)
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            for row in rows:
                session.add(row)
                await session.flush()
    finally:
        await engine.dispose()


def seed(url: str, *rows: Any, migrate: bool = False) -> None:
    """Insert model rows (in order) into the database at ``url``, migrating it first if asked."""
    run(_seed(url, rows, migrate))


async def _execute(url: str, statement: Executable) -> Any:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
            return result.all() if result.returns_rows else result.rowcount
    finally:
        await engine.dispose()


def execute(url: str, statement: Executable) -> Any:
    """Run one statement in its own transaction; rows for a SELECT, the row count otherwise."""
    return run(_execute(url, statement))


def settings_for(
    origin: str, database_url: str, **overrides: Any
) -> BetterAuthSettings:
    """Settings for Better-Auth at ``origin`` (JWKS served there) and the given database."""
    values: dict[str, Any] = {
        "url": origin,
        "database_url": database_url,
        "secret": SECRET,
    }
    values.update(overrides)
    return BetterAuthSettings.load(**values)


def guarded_app(settings: BetterAuthSettings) -> FastAPI:
    """The library's router plus one route per guard."""
    app = FastAPI()
    app.include_router(better_auth_router(settings))

    @app.get("/me")
    async def me(user: CurrentUser) -> AuthenticatedUser:
        return user

    @app.post("/me")
    async def write(user: CurrentUser) -> AuthenticatedUser:
        return user

    @app.get("/maybe")
    async def maybe(user: OptionalUser) -> dict[str, str | None]:
        return {"id": None if user is None else user.id}

    @app.get("/admin")
    async def admin(user: AdminUser) -> AuthenticatedUser:
        return user

    @app.get("/verified")
    async def verified(user: VerifiedUser) -> AuthenticatedUser:
        return user

    @app.get(
        "/editors",
        dependencies=[Depends(require_role("editor", "admin"))],
    )
    async def editors() -> dict[str, bool]:
        return {"ok": True}

    return app


@contextmanager
def client_for(settings: BetterAuthSettings) -> Iterator[TestClient]:
    """A started ``TestClient`` of :func:`guarded_app`."""
    with TestClient(guarded_app(settings)) as client:
        yield client


async def sqlite_threads_done(before: set[threading.Thread]) -> None:
    """Wait for the aiosqlite worker threads started since ``before`` to stop, while the
    event loop still runs (their connections closed or failed).

    Such a thread posts its last result to the loop after the close returns; a loop closed
    first makes that an unhandled thread exception in a later test.
    """
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:
            await anyio.to_thread.run_sync(thread.join, 10)
