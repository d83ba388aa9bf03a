"""The app uvicorn serves for the macro benchmarks (``uvicorn --factory bench.apps:create_app``).

Configured by environment: ``BENCH_ORIGIN`` (Better-Auth's origin, JWKS served there),
``BENCH_DB_URL`` (SQLAlchemy URL), ``BENCH_DSN`` (asyncpg DSN, for the raw reference),
``BENCH_FRESHNESS``, ``BENCH_REDIS_URL`` and ``BENCH_SECRET`` (Better-Auth's ``secondaryStorage``
and secret: session tokens are then looked up in Redis). Every route returns the same small body, so only the guard differs:

- ``/ping``: no authentication (the floor);
- ``/protected``: ``CurrentUser`` (this library);
- ``/no-op``: the bare app's do-nothing dependency, here: what the app around the guard costs;
- ``/pyjwt``: an inline PyJWT EdDSA check (the issue's reference, key fetched at startup);
- ``/raw/me``: the same ``JWKSVerifier`` + one asyncpg ``SELECT … FROM "user" WHERE id=$1``,
  the reference for ``/api/v1/auth/me`` with the freshness check (asyncpg's default pool, which
  sends a reset query when a connection is released);
- ``/raw/me-noreset``: the same on a pool without that reset query, as the library's reads run;
- ``/raw/redis-session``: with ``BENCH_REDIS_URL`` (sessions in Better-Auth's ``secondaryStorage``),
  the reference for session-token auth: the signature checked by hand, one redis-py ``GET`` of
  the token's key, its JSON parsed, expiry and ban read from it (Better-Auth's own snapshot);
- ``/api/v1/...``: the library's router, included before all of the above.

``create_bare_app`` serves the same ``/ping`` from an app without the library: the floor that
shows what mounting the router costs the app's other routes; and ``/no-op``, the same body behind
one dependency that does nothing, the floor of any guard in FastAPI.
"""

import base64
import hashlib
import hmac
import json
import os
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any

import asyncpg  # type: ignore[import-untyped]
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request

from fastapi_better_auth import BetterAuthSettings, CurrentUser, better_auth_router
from fastapi_better_auth._policy import is_banned
from fastapi_better_auth._schemas import AuthenticatedUser

_USER_SQL = (
    'SELECT id, email, name, "emailVerified", image, role, banned, "banReason", '
    '"banExpires", "createdAt", "updatedAt" FROM "user" WHERE id = $1'
)


async def _no_reset(_connection: Any) -> None:
    """A pool release without asyncpg's reset query (what the library's direct reads do)."""


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "Not authenticated")
    return token


def create_app() -> FastAPI:
    origin = os.environ["BENCH_ORIGIN"]
    # the raw references are measured on the freshness=always server only: only it opens their
    # pools (2 × 10 connections; PostgreSQL allows 100 in all)
    dsn = (
        os.environ.get("BENCH_DSN")
        if os.environ.get("BENCH_FRESHNESS") == "always"
        else None
    )
    redis_url = os.environ.get("BENCH_REDIS_URL")
    secret = os.environ.get("BENCH_SECRET")
    settings = BetterAuthSettings.load(
        url=origin,
        database_url=os.environ["BENCH_DB_URL"],
        freshness=os.environ.get("BENCH_FRESHNESS", "never"),
        freshness_cache_size=int(os.environ.get("BENCH_CACHE_SIZE", "10000")),
        jwt_algorithms=set(os.environ.get("BENCH_ALGORITHMS", "EdDSA").split(",")),
        **({"redis_url": redis_url} if redis_url else {}),
        **({"secret": secret} if secret else {}),
    )
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with urllib.request.urlopen(f"{origin}/api/auth/jwks", timeout=5) as response:  # noqa: S310
            state["pyjwt_key"] = jwt.PyJWK(json.load(response)["keys"][-1]).key
        state["pool"] = state["pool_noreset"] = state["redis"] = None
        if redis_url and os.environ.get("BENCH_FRESHNESS") == "always":
            # the session-token reference: a plain redis-py client, beside the library's
            from redis.asyncio import Redis

            state["redis"] = Redis.from_url(redis_url)
        if dsn:
            state["pool"] = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
            state["pool_noreset"] = await asyncpg.create_pool(
                dsn, min_size=10, max_size=10, reset=_no_reset
            )
        try:
            yield
        finally:
            for pool in (state["pool"], state["pool_noreset"]):
                if pool is not None:
                    await pool.close()
            if state["redis"] is not None:
                await state["redis"].aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(better_auth_router(settings))

    async def inline_pyjwt(
        request: Request,
    ) -> dict[str, Any]:  # async: no threadpool hop
        try:
            claims: dict[str, Any] = jwt.decode(
                _bearer(request),
                state["pyjwt_key"],
                algorithms=["EdDSA"],
                audience=origin,
                issuer=origin,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise HTTPException(401, "Not authenticated") from exc
        return claims

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"id": "anonymous"}

    @app.get("/protected")
    async def protected(user: CurrentUser) -> dict[str, str]:
        return {"id": user.id}

    @app.get("/no-op")
    async def no_op(user: Annotated[str, Depends(_no_op)]) -> dict[str, str]:
        return {"id": user}

    @app.get("/pyjwt")
    async def pyjwt_route(
        claims: Annotated[dict[str, Any], Depends(inline_pyjwt)],
    ) -> dict[str, str]:
        return {"id": claims["sub"]}

    async def raw_user(request: Request, pool: Any) -> AuthenticatedUser:
        claims = await request.state.better_auth.verifier.verify(_bearer(request))
        row = await pool.fetchrow(_USER_SQL, claims["sub"])
        if row is None:
            raise HTTPException(401, "The user no longer exists.")
        user = AuthenticatedUser(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            email_verified=row["emailVerified"],
            image=row["image"],
            role=row["role"],
            banned=bool(row["banned"]),
            ban_reason=row["banReason"],
            ban_expires=row["banExpires"],
            created_at=row["createdAt"],
            updated_at=row["updatedAt"],
        )
        if is_banned(user):
            raise HTTPException(403, "banned")
        return user

    @app.get("/raw/me")
    async def raw_me(request: Request) -> AuthenticatedUser:
        return await raw_user(request, state["pool"])

    @app.get("/raw/me-noreset")
    async def raw_me_noreset(request: Request) -> AuthenticatedUser:
        return await raw_user(request, state["pool_noreset"])

    @app.get("/raw/redis-session")
    async def raw_redis_session(request: Request) -> dict[str, str]:
        assert secret is not None
        token, _, signature = _bearer(request).rpartition(".")
        expected = base64.b64encode(
            hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
        )
        if not token or not hmac.compare_digest(expected, signature.encode()):
            raise HTTPException(401, "Not authenticated")
        raw = await state["redis"].get(token)
        if raw is None:
            raise HTTPException(401, "Not authenticated")
        stored = json.loads(raw)
        expires = datetime.fromisoformat(
            stored["session"]["expiresAt"].replace("Z", "+00:00")
        )
        if expires <= datetime.now(timezone.utc):
            raise HTTPException(401, "Not authenticated")
        if stored["user"].get("banned"):
            raise HTTPException(403, "banned")
        return {"id": stored["user"]["id"]}

    return app


async def _no_op(request: Request) -> str:
    """A dependency that does nothing: what any guard costs in FastAPI before it does any work."""
    return "anonymous"


def create_bare_app() -> FastAPI:
    """An app that does not include the library's router: ``/ping``, and ``/no-op`` behind
    one dependency that does nothing (the floor of every guard)."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"id": "anonymous"}

    @app.get("/no-op")
    async def no_op(user: Annotated[str, Depends(_no_op)]) -> dict[str, str]:
        return {"id": user}

    return app
