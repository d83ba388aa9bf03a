"""``/auth``: who the caller is, through any credential Better-Auth issues."""

from fastapi import APIRouter

from .. import _store
from .._dependencies import (
    AUTH_RESPONSES,
    BetterAuthDep,
    CurrentSession,
    CurrentUser,
    to_http_exception,
)
from .._errors import BetterAuthError
from .._schemas import AccountList, AuthenticatedSession, AuthenticatedUser

router = APIRouter(prefix="/auth", responses=AUTH_RESPONSES)


@router.get(
    "/session", name="better_auth:auth.session", summary="The caller's session and user"
)
async def get_session(identity: CurrentSession) -> AuthenticatedSession:
    """The session and user the credential belongs to (no token), and who impersonates, if anyone.

    ``session`` is null for a JWT without a session id claim.
    """
    return identity


@router.get("/me", name="better_auth:auth.me", summary="The caller's user")
async def get_me(user: CurrentUser) -> AuthenticatedUser:
    """The caller's user row, read fresh on this request."""
    return user


@router.get(
    "/accounts",
    name="better_auth:auth.accounts",
    summary="The caller's linked accounts",
)
async def get_accounts(user: CurrentUser, auth: BetterAuthDep) -> AccountList:
    """Providers linked to the caller (``credential`` for email and password), never their tokens."""
    try:
        async with auth.session() as db:
            accounts = await _store.accounts_of(db, auth.models, user.id)
    except BetterAuthError as error:
        raise to_http_exception(error) from error
    return AccountList(accounts=accounts)
