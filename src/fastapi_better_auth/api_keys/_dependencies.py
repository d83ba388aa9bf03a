"""FastAPI guards for API keys: ``current_principal`` (a user or a key), ``require_api_key…``.

The key is read from the first of ``api_key_headers`` the request sends (the plugin's
``getApiKeyFromConfig``, ``dist/index.mjs`` line 2370); a request that sends one is judged by
its key alone, as the plugin's session hook does. Errors answer in the library's one shape.
"""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.openapi.models import APIKey as APIKeyModel
from fastapi.openapi.models import APIKeyIn
from fastapi.security.base import SecurityBase

from .._errors import AuthenticationError, BetterAuthError
from .._guards import authenticate, runtime_of
from .._http import BEARER_MODEL, BEARER_SCHEME_NAME, to_http_exception
from .._identity import log_failure
from .._middleware import API_KEY_STATE_KEY, ApiKeyIdentity
from .._runtime import BetterAuth
from ._verify import ApiKeyInfo, Permissions, Principal, verify_api_key

API_KEY_SCHEME_NAME = "BetterAuthApiKey"
_API_KEY_MODEL = APIKeyModel.model_validate(
    {
        "in": APIKeyIn.header,
        "name": "x-api-key",
        "description": "An API key of Better-Auth's API-key plugin.",
    }
)


def _key_of(request: Request, auth: BetterAuth) -> str | None:
    for header in auth.settings.api_key_headers:
        value = request.headers.get(header)
        if value:
            return value
    return None


async def _principal(
    request: Request, permissions: Permissions | None, *, key_only: bool
) -> Principal:
    auth = runtime_of(request)
    key = _key_of(request, auth)
    if key is None:
        if key_only:
            error = AuthenticationError("An API key is required.")
            log_failure(error, "none")
            raise to_http_exception(error)
        identity = await authenticate(request)
        if identity is None:
            error = AuthenticationError()
            log_failure(error, "none")
            raise to_http_exception(error)
        return Principal(
            user=identity.user,
            credential=identity.credential,
            session=identity.session,
        )
    state = request.scope["state"]  # holds the runtime: runtime_of found it there
    try:
        principal = await verify_api_key(auth, key, permissions=permissions)
    except BetterAuthError as error:
        log_failure(error, "api_key", state.get("request_id"))
        raise to_http_exception(error) from error
    key_info = cast(ApiKeyInfo, principal.api_key)  # verify_api_key always sets it
    state[API_KEY_STATE_KEY] = ApiKeyIdentity(principal.user.id, key_info.id)
    return principal


class _SchemeDoc(SecurityBase):
    """A dependency that does nothing but put a security scheme in the route's OpenAPI."""

    def __init__(self, model: Any, scheme_name: str) -> None:
        self.model = model
        self.scheme_name = scheme_name

    async def __call__(self) -> None:
        return None


_session_scheme = _SchemeDoc(BEARER_MODEL, BEARER_SCHEME_NAME)
_api_key_scheme = _SchemeDoc(_API_KEY_MODEL, API_KEY_SCHEME_NAME)


class PrincipalGuard(SecurityBase):
    """`current_principal`'s type, documented as the API-key scheme or the bearer scheme."""

    def __init__(self) -> None:
        self.model = _API_KEY_MODEL
        self.scheme_name = API_KEY_SCHEME_NAME

    async def __call__(
        self, request: Request, _: Annotated[None, Depends(_session_scheme)]
    ) -> Principal:
        """The caller; see `current_principal`."""
        return await _principal(request, None, key_only=False)


current_principal = PrincipalGuard()
"""The caller: a user by session or JWT (as `current_user`), or an API key and its owner.

A request sending an API key header is judged by the key, exactly as the plugin verifies it
(and counts the use); otherwise the session credentials are read. 401 without any credential.
"""

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _normalise(
    permissions: Mapping[str, Sequence[str]],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(permissions, Mapping) or not permissions:
        raise ValueError(
            'require_api_key_permission() needs {"resource": ["action", …]} with at least one resource'
        )
    normal = []
    for resource, actions in permissions.items():
        if (
            isinstance(actions, str)
            or not actions
            or not all(isinstance(action, str) for action in actions)
        ):
            raise ValueError(
                f"require_api_key_permission(): {resource!r} needs a non-empty list of actions"
            )
        normal.append((resource, tuple(sorted(set(actions)))))
    return tuple(sorted(normal))


@lru_cache(maxsize=256)
def _permission_guard(
    required: tuple[tuple[str, tuple[str, ...]], ...],
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    permissions = {resource: list(actions) for resource, actions in required}

    async def guard(
        request: Request, _: Annotated[None, Depends(_api_key_scheme)]
    ) -> Principal:
        return await _principal(request, permissions, key_only=True)

    guard.__name__ = "require_api_key_permission"
    return guard


def require_api_key_permission(
    permissions: Mapping[str, Sequence[str]],
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting API keys granted every action of ``permissions``.

    ``{"files": ["read"]}`` admits a key whose ``permissions`` hold ``"read"`` under
    ``"files"`` (the plugin's ``verifyApiKey`` rule); the check runs before the use is counted.
    Sessions and JWTs are refused (401): a user's rights are roles, see ``require_role``. The
    same permissions give the same object, so ``dependency_overrides`` works.

    Raises:
        ValueError: no resource, or a resource without actions.
    """
    return _permission_guard(_normalise(permissions))


async def require_api_key(
    request: Request, _: Annotated[None, Depends(_api_key_scheme)]
) -> Principal:
    """The caller, who must authenticate with an API key (401 otherwise)."""
    return await _principal(request, None, key_only=True)


ApiKeyPrincipal = Annotated[Principal, Depends(require_api_key)]
