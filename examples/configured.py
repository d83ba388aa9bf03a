"""Settings passed in code, JSON logging, request logging and CORS from the trusted origins."""

from fastapi import FastAPI

from fastapi_better_auth import (
    BetterAuthSettings,
    RequestLoggingMiddleware,
    add_cors,
    add_exception_handlers,
    better_auth_router,
    configure_logging,
)


def create_app() -> FastAPI:
    settings = (
        BetterAuthSettings.load(  # keyword arguments win over BETTER_AUTH_* variables
            url="http://127.0.0.1:3005",
            database_url="sqlite:///app.db",
            trusted_origins=["http://127.0.0.1:5173"],
        )
    )
    configure_logging()  # JSON lines on stderr, one object per record
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    add_exception_handlers(
        app
    )  # library errors from your own routes: their status, not 500
    app.add_middleware(RequestLoggingMiddleware)  # one line per request, never a header
    add_cors(
        app, settings
    )  # the origin of `url` and the trusted origins, with credentials
    return app
