"""The demo web page at ``/`` and a same-origin proxy to Better-Auth at ``/api/auth/*``.

The browser talks to this app only: it signs up and in through ``/api/auth/*``, which is
forwarded to the Better-Auth server (``BETTER_AUTH_URL``) with its method, body, cookies and
``Origin``, and Better-Auth's ``Set-Cookie`` comes back on this origin. The session cookie it
sets then authenticates the page's calls to ``/api/v1/*`` too. Both servers must trust this
app's origin (``BETTER_AUTH_TRUSTED_ORIGINS``): Better-Auth for sign-in, our API for
cookie-authenticated writes.

Demo only, off unless asked: ``DEMO_ADMIN_EMAIL`` makes the user who signs up with that email
an admin; ``DEMO_FIRST_USER_ADMIN=1`` makes the next user who signs up through this page an
admin while the database has no admin yet.
"""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select, update

from fastapi_better_auth import BetterAuth, BetterAuthSettings, get_better_auth

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
#: The only files ``/static/{name}`` serves, with their media types.
STATIC_FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
PROXY_STATE_KEY = "better_auth_proxy"
#: Request headers the proxy forwards to Better-Auth (everything else stays here).
FORWARD_REQUEST = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "cookie",
    "origin",
    "referer",
    "user-agent",
)
#: Response headers the proxy passes back to the browser; ``set-cookie`` is forwarded one by one.
FORWARD_RESPONSE = (
    "cache-control",
    "content-type",
    "location",
    "pragma",
    "set-auth-jwt",
    "set-auth-token",
    "www-authenticate",
)
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True)
class AutoAdmin:
    """Which users the demo promotes to admin when they sign up through the page."""

    email: str | None = None
    first_user: bool = False

    @classmethod
    def from_env(cls) -> "AutoAdmin":
        """``DEMO_ADMIN_EMAIL`` and ``DEMO_FIRST_USER_ADMIN=1``; both unset means never."""
        email = os.environ.get("DEMO_ADMIN_EMAIL", "").strip().lower() or None
        first = os.environ.get("DEMO_FIRST_USER_ADMIN", "") in {"1", "true", "yes"}
        return cls(email=email, first_user=first)

    @property
    def enabled(self) -> bool:
        return self.email is not None or self.first_user


async def _has_admin(auth: BetterAuth) -> bool:
    user = auth.models.user
    settings = auth.settings
    async with auth.session() as db:
        rows = await db.execute(
            select(user.id, user.role).where(user.role.is_not(None))
        )
        for user_id, role in rows:
            roles = {part.strip() for part in (role or "").split(",")}
            if user_id in settings.admin_user_ids or roles & settings.admin_roles:
                return True
    return False


async def promote(auth: BetterAuth, rule: AutoAdmin, user_id: str, email: str) -> bool:
    """Give a newly signed-up user the admin role if ``rule`` says so; whether it did."""
    if rule.email is not None:
        chosen = email.lower() == rule.email
    else:
        chosen = rule.first_user and not await _has_admin(auth)
    if not chosen:
        return False
    user = auth.models.user
    role = sorted(auth.settings.admin_roles)[0]
    async with auth.session() as db, db.begin():
        await db.execute(update(user).where(user.id == user_id).values(role=role))
    auth.authenticator.forget()
    logger.warning("demo.promoted_to_admin", extra={"user_id": user_id})
    return True


def web_router(
    settings: BetterAuthSettings, *, auto_admin: AutoAdmin | None = None
) -> APIRouter:
    """The page, its two static files and the ``/api/auth/*`` proxy to ``settings.url``."""
    upstream = settings.origin
    rule = auto_admin or AutoAdmin()

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=upstream, timeout=10.0) as client:
            yield {PROXY_STATE_KEY: client}

    router = APIRouter(lifespan=lifespan, include_in_schema=False)

    @router.get("/")
    async def page() -> FileResponse:
        return FileResponse(
            STATIC / "index.html", headers={"cache-control": "no-cache"}
        )

    @router.get("/static/demo.json")
    async def demo_config() -> dict[str, bool]:
        """What the page tells visitors about becoming admin (never the email itself)."""
        return {
            "admin_email": rule.email is not None,
            "first_user_admin": rule.first_user,
        }

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(
            STATIC / name,
            media_type=STATIC_FILES[name],
            headers={"cache-control": "no-cache"},
        )

    @router.api_route("/api/auth/{path:path}", methods=PROXY_METHODS)
    async def proxy(path: str, request: Request) -> Response:
        """Forward one request to Better-Auth and its answer, cookies included, back."""
        if ".." in path.split("/"):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        client: httpx.AsyncClient = getattr(request.state, PROXY_STATE_KEY)
        headers = {
            name: value
            for name in FORWARD_REQUEST
            if (value := request.headers.get(name)) is not None
        }
        if request.client is not None:
            headers["x-forwarded-for"] = request.client.host
        try:
            upstream_response = await client.request(
                request.method,
                f"/api/auth/{path}",
                params=httpx.QueryParams(request.url.query),
                content=await request.body(),
                headers=headers,
            )
        except httpx.HTTPError as error:
            logger.warning("demo.proxy_failed", extra={"error": type(error).__name__})
            return JSONResponse(
                {
                    "code": "AUTH_SERVER_UNAVAILABLE",
                    "message": f"Better-Auth at {upstream} does not answer.",
                },
                status_code=502,
            )
        response = Response(
            upstream_response.content, status_code=upstream_response.status_code
        )
        for name in FORWARD_RESPONSE:
            if (value := upstream_response.headers.get(name)) is not None:
                response.headers[name] = value
        for cookie in upstream_response.headers.get_list("set-cookie"):
            response.headers.append("set-cookie", cookie)
        if (
            rule.enabled
            and path == "sign-up/email"
            and upstream_response.status_code == 200
        ):
            user = upstream_response.json().get("user") or {}
            await promote(
                await get_better_auth(request), rule, user["id"], user["email"]
            )
        return response

    return router
