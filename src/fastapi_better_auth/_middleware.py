"""Request logging and CORS for apps that mount the library.

The request log line names the method, the path (never the query string, which may carry
secrets), the status and the duration, under a request id; headers are never logged. When a
guard authenticated the request, the line also names the user, the credential kind and, for an
impersonation session, the admin behind it; for an API key, its row id (never the key): successful
sign-ins are visible at INFO.
"""

import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._schemas import IDENTITY_STATE_KEY, AuthenticatedSession
from ._settings import BetterAuthSettings

logger = logging.getLogger("fastapi_better_auth.access")

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

#: Where the API-key guards leave the verified key's :class:`ApiKeyIdentity` in the request
#: state, beside the session guards' ``IDENTITY_STATE_KEY``, for the request log line.
API_KEY_STATE_KEY = "better_auth.api_key"


@dataclass(frozen=True)
class ApiKeyIdentity:
    """Who an API-key request authenticated as: the key owner's id and the key row's id.

    Ids only: the key itself never reaches the request state, and so never a log line.
    """

    user_id: str
    api_key_id: str


class RequestLoggingMiddleware:
    """Logs one line per HTTP request and echoes a request id in ``X-Request-ID``.

    A well-formed incoming ``X-Request-ID`` is kept (so a proxy's id follows the request);
    anything else is replaced by a fresh one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            extra: dict[str, Any] = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            }
            identity = state.get(IDENTITY_STATE_KEY)
            if isinstance(identity, AuthenticatedSession):  # a guard authenticated it
                extra["user_id"] = identity.user.id
                extra["credential"] = identity.credential
                extra["impersonated_by"] = identity.impersonated_by
            elif isinstance(key := state.get(API_KEY_STATE_KEY), ApiKeyIdentity):
                extra["user_id"] = key.user_id
                extra["credential"] = "api_key"
                extra["impersonated_by"] = None
                extra["api_key_id"] = key.api_key_id
            logger.info("request", extra=extra)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = str(value.decode("latin-1"))
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def cors_options(settings: BetterAuthSettings) -> dict[str, Any]:
    """Keyword arguments for Starlette's ``CORSMiddleware`` that admit the trusted origins.

    Credentials (cookies) are allowed, so origins are listed, never ``*``.
    """
    return {
        "allow_origins": sorted(settings.all_trusted_origins),
        "allow_credentials": True,
        "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", REQUEST_ID_HEADER],
        "expose_headers": [REQUEST_ID_HEADER],
        "max_age": 600,
    }


def add_cors(app: Any, settings: BetterAuthSettings) -> None:
    """Add ``CORSMiddleware`` to ``app``, allowing the origins Better-Auth trusts."""
    app.add_middleware(CORSMiddleware, **cors_options(settings))
