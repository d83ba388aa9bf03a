"""``/auth``: who the caller is, through any credential Better-Auth issues."""

from fastapi import APIRouter, Response

from .. import _store
from .._errors import BetterAuthError
from .._guards import BetterAuthDep, CurrentSession, CurrentUser
from .._http import AUTH_RESPONSES, to_http_exception
from .._schemas import AccountList, AuthenticatedSession, AuthenticatedUser


def _json(snapshot: AuthenticatedUser | AuthenticatedSession) -> Response:
    """The snapshot as its own class serializes it: the app's declared user fields included."""
    return Response(snapshot.model_dump_json(), media_type="application/json")


async def get_session(identity: CurrentSession) -> Response:
    """The session and user the credential belongs to (no token), and who impersonates, if anyone.

    ``session`` is null for a JWT without a session id claim.
    """
    return _json(identity)


async def get_me(user: CurrentUser) -> Response:
    """The caller's user row, read fresh on this request."""
    return _json(user)


async def get_accounts(user: CurrentUser, auth: BetterAuthDep) -> AccountList:
    """Providers linked to the caller (``credential`` for email and password), never their tokens."""
    try:
        async with auth.session() as db:
            accounts = await _store.accounts_of(db, auth.models, user.id)
    except BetterAuthError as error:
        raise to_http_exception(error) from error
    return AccountList(accounts=accounts)


def build(user_model: type[AuthenticatedUser] = AuthenticatedUser) -> APIRouter:
    """The ``/auth`` routes, documenting ``/me`` with the app's user class when it is known."""
    router = APIRouter(prefix="/auth", responses=AUTH_RESPONSES)
    router.add_api_route(
        "/session",
        get_session,
        methods=["GET"],
        response_model=AuthenticatedSession,
        name="better_auth:auth.session",
        summary="The caller's session and user",
    )
    router.add_api_route(
        "/me",
        get_me,
        methods=["GET"],
        response_model=user_model,
        name="better_auth:auth.me",
        summary="The caller's user",
    )
    router.add_api_route(
        "/accounts",
        get_accounts,
        methods=["GET"],
        name="better_auth:auth.accounts",
        summary="The caller's linked accounts",
    )
    return router
