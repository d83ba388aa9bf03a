"""``Organizations``: the app's organization-plugin options, built once, as in its ``auth.ts``."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from .._errors import ConfigurationError
from .access import ORGANIZATION_ROLES, AccessControl, Role


class HasState(Protocol):
    """A FastAPI (or Starlette) app: what :meth:`Organizations.install` writes to.

    A protocol, not ``FastAPI``, so the framework-free modules that read the configuration
    (the start check, the writes) do not import FastAPI through this one.
    """

    state: Any


#: Where :meth:`Organizations.install` leaves the configuration (``app.state``).
STATE_ATTRIBUTE = "better_auth_organizations"
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass(frozen=True)
class Organizations:
    """What ``organization({ roles, creatorRole })`` says in Better-Auth, for the guards here.

    Args:
        roles: the roles of ``organization({ roles })``; None is Better-Auth's defaults
            (owner, admin, member). Given roles *replace* the defaults, as in Better-Auth's
            ``hasPermission`` (``options.roles || defaultRoles``): keep ``**ORGANIZATION_ROLES``
            in the mapping if the app keeps owner/admin/member.
        creator_role: ``creatorRole`` (default ``"owner"``): the creator's role, which only
            another holder may grant or take away. ``has-permission`` gives it no extra right
            (``allowCreatorAllPermissions`` is set by Better-Auth's role-change route only,
            crud-members.mjs 304), so the guards here do not either.
        header: a request header naming the organization (e.g. ``"x-organization-id"``);
            off by default: the session's active organization is then the only one.
        path_param: a path parameter naming the organization (e.g. ``"organization_id"``).
        ac: ``organization({ ac })``, the access control the roles are built from; needed by
            ``dynamic_access_control``, as in Better-Auth.
        dynamic_access_control: ``dynamicAccessControl: { enabled: true }``: each
            organization's ``organizationRole`` rows extend or add roles, read per request.
        teams: ``teams: { enabled: true }``: the session's ``activeTeamId`` is read (Better-Auth
            adds that column, and the ``team``/``teamMember`` tables, only then).

    Raises:
        ConfigurationError: a role is not a :class:`~fastapi_better_auth.organizations.access.Role`,
            a header or creator role name is empty or invalid, or ``dynamic_access_control``
            is on without ``ac``.
    """

    roles: Mapping[str, Role] | None = None
    creator_role: str = "owner"
    header: str | None = None
    path_param: str | None = None
    ac: AccessControl | None = None
    dynamic_access_control: bool = False
    teams: bool = False
    _roles: Mapping[str, Role] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        roles = ORGANIZATION_ROLES if self.roles is None else self.roles
        if not isinstance(roles, Mapping) or not all(
            isinstance(name, str) and isinstance(role, Role)
            for name, role in roles.items()
        ):
            raise ConfigurationError(
                "Organizations(roles=...) takes {name: ac.new_role({...})}, "
                f"got {type(self.roles).__name__}"
            )
        if not self.creator_role.strip():
            raise ConfigurationError(
                "Organizations(creator_role=...) must not be empty"
            )
        if self.header is not None and not _HEADER.match(self.header):
            raise ConfigurationError(
                f"Organizations(header=...) is not a header name: {self.header!r}"
            )
        if self.path_param is not None and not self.path_param.isidentifier():
            raise ConfigurationError(
                f"Organizations(path_param=...) is not a parameter name: {self.path_param!r}"
            )
        if self.dynamic_access_control and not isinstance(self.ac, AccessControl):
            raise ConfigurationError(
                "Organizations(dynamic_access_control=True) needs ac=create_access_control(...), "
                "the ac of organization({ ac, dynamicAccessControl }) (Better-Auth ignores stored "
                "roles without it)"
            )
        object.__setattr__(self, "_roles", MappingProxyType(dict(roles)))

    @property
    def effective_roles(self) -> Mapping[str, Role]:
        """The roles ``hasPermission`` consults: ``roles`` or Better-Auth's defaults."""
        return self._roles

    def install(self, app: HasState) -> None:
        """Make this the configuration the organization guards of ``app`` read.

        The router's lifespan (``better_auth_router()``) then checks the plugin's tables at
        startup, as for ``better_auth_router(organizations=...)``.
        """
        setattr(app.state, STATE_ATTRIBUTE, self)


DEFAULT_ORGANIZATIONS = Organizations()
