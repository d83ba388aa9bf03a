"""A FastAPI app that mounts fastapi-better-auth: the library's routes plus a few of its own.

Settings come from ``BETTER_AUTH_*``; ``python -m examples.demo`` (``nox -s example``) runs it
with a Better-Auth server on an embedded SQLite file. The demo page lives in ``web.py``.
"""

import os

from fastapi import Depends, FastAPI

from fastapi_better_auth import (
    AdminUser,
    BetterAuthSettings,
    CurrentUser,
    OptionalUser,
    RequestLoggingMiddleware,
    add_cors,
    better_auth_router,
    configure_logging,
    require_role,
)
from fastapi_better_auth.organizations import Organizations

from .web import AutoAdmin, web_router


# --8<-- [start:create_app]
def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    """Build the example app; ``settings`` default to the environment."""
    settings = settings or BetterAuthSettings.load()
    app = FastAPI(title="fastapi-better-auth example", version="0.1.0")
    # DEMO_ORGANIZATIONS=1: Better-Auth runs organization() too (BA_ORGANIZATION=1), and the
    # page shows your organizations and lets owners and admins manage members
    organizations = (
        Organizations() if os.environ.get("DEMO_ORGANIZATIONS") == "1" else None
    )
    app.include_router(better_auth_router(settings, organizations=organizations))
    app.add_middleware(RequestLoggingMiddleware)
    add_cors(app, settings)
    app.include_router(web_router(settings, auto_admin=AutoAdmin.from_env()))

    @app.get("/api", tags=["example"])
    async def index() -> dict[str, str]:
        """Where to go from here (the demo page is ``/``)."""
        return {
            "page": "/",
            "docs": "/docs",
            "health": "/api/v1/health",
            "me": "/api/v1/auth/me",
        }

    @app.get("/hello", tags=["example"])
    async def hello(user: OptionalUser) -> dict[str, str]:
        """Greets signed-in users by name and everyone else as a guest."""
        return {"message": f"Hello, {user.name if user else 'guest'}!"}

    @app.get("/notes", tags=["example"])
    async def notes(user: CurrentUser) -> dict[str, list[str]]:
        """Only for signed-in, not banned users."""
        return {"notes": [f"{user.email}'s first note"]}

    @app.delete(
        "/notes/{note_id}",
        tags=["example"],
        dependencies=[Depends(require_role("editor", "admin"))],
    )
    async def delete_note(note_id: str) -> dict[str, str]:
        """Only for users holding the ``editor`` or ``admin`` role."""
        return {"deleted": note_id}

    @app.get("/admin/stats", tags=["example"])
    async def stats(admin: AdminUser) -> dict[str, str]:
        """Only for admins (``BETTER_AUTH_ADMIN_ROLES`` / ``BETTER_AUTH_ADMIN_USER_IDS``)."""
        return {"requested_by": admin.id}

    return app


# --8<-- [end:create_app]


def main() -> None:  # pragma: no cover - exercised by `nox -s example`
    """Serve the app with uvicorn on 127.0.0.1:8000 (``--port`` to change)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(
        description="Run the fastapi-better-auth example app."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    configure_logging()
    print(f"example app on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_config=None)
