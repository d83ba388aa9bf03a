"""Builds the router: its lifespan creates the runtime and pre-builds the app's routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter

from .._errors import ConfigurationError
from .._guards import STATE_KEY
from .._runtime import BetterAuth
from .._schemas import AuthenticatedUser
from .._settings import BetterAuthSettings
from .._user_fields import UserFields
from ..access._admin import ADMIN_ACCESS_STATE_KEY, AdminAccess
from ..organizations import Organizations
from ..organizations import routes as organization_routes
from ..organizations._start import start_organizations
from . import auth as auth_routes
from . import health, sessions, users
from ._prefix import PrefixRouter
from ._route import BetterAuthRoute
from ._warmup import warm_up

TAG = "better-auth"


def better_auth_router(
    settings: BetterAuthSettings | None = None,
    *,
    auth: BetterAuth | None = None,
    prefix: str = "/api/v1",
    admin: bool = True,
    user_model: type[AuthenticatedUser] | None = None,
    organizations: Organizations | None = None,
    admin_access: AdminAccess | None = None,
) -> APIRouter:
    """A new router serving the library's ``/api/v1`` surface, with a lifespan that builds its state.

    ``app.include_router(better_auth_router())`` is enough: settings are read from the
    environment at startup, not at import or here. At startup the lifespan also builds what
    FastAPI would otherwise build on the first request, for every route of the app.

    Args:
        settings: settings to use instead of reading ``BETTER_AUTH_*`` at startup.
        auth: a runtime you built (for example to share your engine); you own its lifetime.
        prefix: where the routes are mounted (``""`` or ``"/"``: at the root); a path that
            does not contain it is ruled out with one string test before any of the
            library's routes is tried.
        admin: include ``/users`` and ``/users/{id}/sessions`` (user administration,
            profile and session management); ``False`` leaves them out.
        user_model: your subclass of :class:`AuthenticatedUser` declaring Better-Auth user
            columns beyond the core (``additionalFields``, plugin columns); the guards and
            ``/auth/me`` return it. With ``auth=``, give it to :class:`BetterAuth` instead.
        organizations: Better-Auth's ``organization()`` options: mounts ``/organizations``
            (your organizations, their members, role changes, removals), installs them for
            the organization guards and checks the plugin's tables at startup (as
            :meth:`Organizations.install` does without the routes).
        admin_access: Better-Auth's ``admin({ roles })``: each admin route then needs the
            permission Better-Auth's endpoint needs (``user: ["list"]`` to list users, …) and
            ``require_permission`` follows these roles; ``None`` keeps ``adminRoles``.

    Raises:
        ConfigurationError: ``prefix`` does not start with ``/`` or ends with one;
            ``user_model`` differs from the one ``auth`` was built with; (at
            startup) a setting is missing or invalid, a declared column is missing, or a
            ``BETTER_AUTH_ADMIN_ROLES`` role is not one of ``admin_access``'s roles.
    """
    prefix = "" if prefix == "/" else prefix
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise ConfigurationError(
            f"better_auth_router(prefix={prefix!r}): a prefix starts with '/' and does not "
            "end with one, e.g. '/api/v1' (or '' for the root)"
        )
    documented = user_model or AuthenticatedUser  # the class /auth/me shows in OpenAPI
    if auth is not None:
        if user_model is not None and user_model is not auth.user_fields.model:
            raise ConfigurationError(
                "user_model= differs from the BetterAuth(user_model=...) given as auth="
            )
        documented = auth.user_fields.model
    elif user_model is None and settings is not None:
        documented = UserFields.from_setting(settings.user_fields).model

    def state(runtime: BetterAuth) -> dict[str, Any]:
        if admin_access is None:
            return {STATE_KEY: runtime}
        admin_access.check(runtime.settings)
        return {STATE_KEY: runtime, ADMIN_ACCESS_STATE_KEY: admin_access}

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        if auth is not None:
            ready = state(auth)
            await start_organizations(app, auth, organizations)
            warm_up(app)
            yield ready
            return
        async with BetterAuth(settings, user_model=user_model) as runtime:
            ready = state(runtime)
            await start_organizations(app, runtime, organizations)
            # after the runtime: a configuration error is reported without this wait
            warm_up(app)
            yield ready

    # one prefix test before our routes are tried (see _prefix): other routes pay nothing
    router = PrefixRouter(prefix=prefix, tags=[TAG], lifespan=lifespan)
    router.include_router(health.router)
    router.include_router(auth_routes.build(documented))
    if admin:
        router.include_router(users.router)
        router.include_router(sessions.router)
    if organizations is not None:
        router.include_router(organization_routes.build(BetterAuthRoute))
    return router
