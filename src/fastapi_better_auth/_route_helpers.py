"""What the admin routes and the organization routes share: the audited action, the query 422s.

Both route sets audit each call with the same context and check ``limit`` against the same
setting. ``organizations`` sits below ``_router`` in the layers (the router mounts it), so the
two helpers live here, below both, rather than being copied into the plugin.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError

from ._admin.audit import audited
from ._errors import BetterAuthError
from ._http import to_http_exception
from ._schemas import IDENTITY_STATE_KEY, AuthenticatedSession

#: ``limit`` when the request sends none (capped by ``settings.max_page_size``).
DEFAULT_PAGE_SIZE = 50


@contextmanager
def audited_action(
    request: Request,
    action: str,
    actor: str,
    target: str | None,
    *,
    answer: Callable[[BetterAuthError], HTTPException] = to_http_exception,
) -> Iterator[None]:
    """Audit the block and answer a library error over HTTP (with ``answer``).

    The audit lines carry the request id and, when the caller's session was opened by
    impersonation, the admin behind it (``impersonated_by``): both from the request state.
    ``answer`` lets a plugin keep its own logging of denials around the one mapping.
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
        raise answer(error) from error


def page_size(limit: int | None, maximum: int) -> int:
    """The page size asked for (or the default), or FastAPI's 422 when above ``maximum``.

    ``maximum`` is a setting (``max_page_size``), so a ``Query(le=...)`` cannot say it; the
    422 has the shape FastAPI gives for one, naming ``limit``.
    """
    size = min(DEFAULT_PAGE_SIZE, maximum) if limit is None else limit
    if size > maximum:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {maximum}",
                    "input": limit,
                    "ctx": {"le": maximum},
                }
            ]
        )
    return size


def invalid_cursor(text: str, error: Exception) -> RequestValidationError:
    """FastAPI's 422 for a ``cursor`` query parameter this API did not issue, naming why."""
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("query", "cursor"),
                "msg": str(error),
                "input": text,
            }
        ]
    )
