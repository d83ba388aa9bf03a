"""Where library errors become HTTP errors: the one mapping, the app-wide handler, the OpenAPI parts.

The guards, the router's routes and the API-key guards all answer through
:func:`to_http_exception`, so a status, a header or the body's shape is decided here alone.
"""

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse

from ._errors import BetterAuthError
from ._schemas import ErrorResponse

logger = logging.getLogger(__name__)

#: How OpenAPI describes the credential every guard reads (the guards are this scheme).
BEARER_SCHEME_NAME = "BetterAuthBearer"
BEARER_MODEL = HTTPBearerModel(
    bearerFormat="JWT or session token",
    description=(
        "A Better-Auth JWT (from `/api/auth/token`) or a session token (bearer plugin). "
        "Browsers may send Better-Auth's signed session cookie (`better-auth.session_token`) "
        "instead; a cookie-authenticated write also needs a trusted `Origin`."
    ),
)

#: ``responses=`` for routes behind authentication: the errors they can answer.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No valid credential (`WWW-Authenticate: Bearer`).",
    },
    403: {
        "model": ErrorResponse,
        "description": "Authenticated, but not allowed (banned, role, origin).",
    },
    503: {
        "model": ErrorResponse,
        "description": "Keys or database unavailable; see `Retry-After`.",
    },
}


def to_http_exception(error: BetterAuthError) -> HTTPException:
    """The only place that knows what a library error looks like over HTTP."""
    detail = ErrorResponse.from_error(error).detail.model_dump()
    return HTTPException(
        error.status_code, detail=detail, headers=error.http_headers() or None
    )


def to_client_exception(error: BetterAuthError) -> HTTPException:
    """:func:`to_http_exception` for a client to see: a 500 (a misconfiguration) is logged with
    its message and answered with its code only (the message is for the operator)."""
    if error.status_code < 500 or error.status_code == 503:
        return to_http_exception(error)
    logger.error(
        "better_auth.error", extra={"code": error.code.value, "detail": error.message}
    )
    detail = {"code": error.code.value, "message": "Internal server error."}
    return HTTPException(
        error.status_code, detail=detail, headers=error.http_headers() or None
    )


async def _answer_library_error(request: Request, exc: Exception) -> JSONResponse:
    """A library error raised by any route of the app, answered as the library's own routes do."""
    if not isinstance(
        exc, BetterAuthError
    ):  # pragma: no cover  (registered for these only)
        raise exc
    http = to_client_exception(exc)
    return JSONResponse(
        {"detail": http.detail}, status_code=http.status_code, headers=http.headers
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Answer every library error raised anywhere in ``app`` in its documented status and shape.

    The library's own routes already do; this covers your routes and services that raise
    ``UserBannedError``, ``DatabaseUnavailableError``… themselves, which FastAPI would answer 500.
    """
    app.add_exception_handler(BetterAuthError, _answer_library_error)
