"""The admin API's audit trail: one log record per admin action, with its outcome.

Framework-free (no FastAPI), so an action run from a worker or a CLI is audited the same way
as one run through the routes, which wrap every call in :func:`audited`.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._errors import (
    BetterAuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)

#: Admin actions go to this logger, one record each, with ``actor``, ``target``, ``action``
#: and ``outcome`` in ``extra``; never a token or a secret.
audit_logger = logging.getLogger("fastapi_better_auth.audit")

_DENIED = (PermissionDeniedError, NotFoundError, InvalidRequestError, ConflictError)


def audit(
    action: str, actor: str | None, target: str | None, outcome: str, **extra: Any
) -> None:
    """Log one audit event (``outcome`` is ``success``, ``denied`` or ``error``)."""
    level = logging.INFO if outcome == "success" else logging.WARNING
    audit_logger.log(
        level,
        "better_auth.audit",
        extra={
            "action": action,
            "actor": actor,
            "target": target,
            "outcome": outcome,
            **extra,
        },
    )


@contextmanager
def audited(
    action: str, actor: str | None, target: str | None, **context: Any
) -> Iterator[None]:
    """Log the block's outcome: ``success``, ``denied`` (a refusal we chose) or ``error``.

    ``context`` (the request id, the impersonating admin) goes on every line.
    """
    try:
        yield
    except _DENIED as error:
        audit(action, actor, target, "denied", reason=error.code.value, **context)
        raise
    except BetterAuthError as error:
        audit(action, actor, target, "error", reason=error.code.value, **context)
        raise
    except Exception as error:  # logged and re-raised: a bug stays a 500
        audit(action, actor, target, "error", reason=type(error).__name__, **context)
        raise
    audit(action, actor, target, "success", **context)
