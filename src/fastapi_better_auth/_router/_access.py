"""Who may act on a user, audited, with errors answered over HTTP: shared by ``users`` and ``sessions``."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request

from .._admin.audit import audited
from .._errors import BetterAuthError, UserNotFoundError
from .._http import to_http_exception
from .._policy import is_admin
from .._runtime import BetterAuth
from .._schemas import (
    IDENTITY_STATE_KEY,
    AuthenticatedSession,
    AuthenticatedUser,
    ErrorResponse,
)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the errors a route adds to :data:`AUTH_RESPONSES`."""
    descriptions = {
        400: "The request is not allowed as sent (`INVALID_REQUEST`).",
        404: "No such user or session, or not yours (`USER_NOT_FOUND`, `NOT_FOUND`).",
        409: "Conflicts with the current state: a duplicate email, the last admin (`CONFLICT`).",
    }
    return {
        status: {"model": ErrorResponse, "description": descriptions[status]}
        for status in statuses
    }


@contextmanager
def admin_action(
    request: Request, action: str, actor: str, target: str | None
) -> Iterator[None]:
    """Audit the block and answer a library error over HTTP.

    The audit lines carry the request id and, when the caller's session was opened by
    impersonation, the admin behind it (``impersonated_by``): both from the request state.
    """
    state = request.scope.get("state", {})
    identity = state.get(IDENTITY_STATE_KEY)
    context = {
        "request_id": state.get("request_id"),
        "impersonated_by": identity.impersonated_by
        if isinstance(identity, AuthenticatedSession)
        else None,
    }
    try:
        with audited(action, actor, target, **context):
            yield
    except BetterAuthError as error:
        raise to_http_exception(error) from error


def require_admin_or_self(
    actor: AuthenticatedUser, auth: BetterAuth, user_id: str
) -> bool:
    """Whether the actor acts as an admin; another user's id is hidden from non-admins.

    Raises:
        UserNotFoundError: a non-admin named another user (the same answer as a missing id).
    """
    admin = is_admin(actor, auth.settings)
    if not admin and actor.id != user_id:
        raise UserNotFoundError()
    return admin
