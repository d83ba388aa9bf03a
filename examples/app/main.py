"""A FastAPI app that mounts fastapi-better-auth: the library's routes plus one of its own.

Settings come from ``BETTER_AUTH_*`` (see ``nox -s example`` for the embedded SQLite default).
"""

from fastapi import FastAPI

from fastapi_better_auth import (
    BetterAuthSettings,
    RequestLoggingMiddleware,
    add_cors,
    better_auth_router,
    configure_logging,
)


def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    """Build the example app; ``settings`` default to the environment."""
    settings = settings or BetterAuthSettings.load()
    app = FastAPI(title="fastapi-better-auth example", version="0.1.0")
    app.include_router(better_auth_router(settings))
    app.add_middleware(RequestLoggingMiddleware)
    add_cors(app, settings)

    @app.get("/", tags=["example"])
    async def index() -> dict[str, str]:
        """Where to go from here."""
        return {
            "docs": "/docs",
            "health": "/api/v1/health",
            "database": "/api/v1/health/db",
        }

    return app


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
    print(f"example app on http://{args.host}:{args.port}/docs", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_config=None)
