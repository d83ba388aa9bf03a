"""The engine of :mod:`fastapi_better_auth.organizations.access`: ``createAccessControl``, ``newRole``, ``authorize``.

A mirror of better-auth 1.7.25 ``dist/plugins/access/access.mjs``, line by line where it matters
(an empty allowed list is a *known* resource, as ``[]`` is truthy in JavaScript).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .._errors import ConfigurationError

Connector = Literal["AND", "OR"]
#: ``{"project": ["create"]}`` or, per resource, ``{"project": {"actions": [...], "connector": "OR"}}``.
PermissionRequest = Mapping[str, Any]
Statements = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class AuthorizeResult:
    """``role.authorize``'s answer: ``{ success, error? }`` with Better-Auth's error strings."""

    success: bool
    error: str | None = None

    def __bool__(self) -> bool:
        return self.success


_OK = AuthorizeResult(True)


def _actions_of(requested: Any) -> tuple[Sequence[Any], str]:
    """``normalizeActionRequest`` (access.mjs 21-36): a list is AND; an object names its connector."""
    if isinstance(requested, (list, tuple)):
        return requested, "AND"
    if not isinstance(requested, Mapping):
        raise ValueError("Invalid access control request")
    actions = requested.get("actions")
    connector = "OR" if requested.get("connector") == "OR" else "AND"
    return (actions if isinstance(actions, (list, tuple)) else ()), connector


def _resource_authorized(allowed: Sequence[str], requested: Any) -> bool:
    """``isResourceAuthorized`` (access.mjs 37-44): no actions is never authorized."""
    actions, connector = _actions_of(requested)
    if not actions:
        return False
    granted = (isinstance(action, str) and action in allowed for action in actions)
    return any(granted) if connector == "OR" else all(granted)


@dataclass(frozen=True)
class Role:
    """A role: what it may do per resource (``ac.newRole(...)``'s result)."""

    statements: Mapping[str, tuple[str, ...]]

    def authorize(
        self, request: PermissionRequest, connector: Connector = "AND"
    ) -> AuthorizeResult:
        """Whether this role grants ``request``: better-auth ``role().authorize``, access.mjs 45-68.

        With ``"AND"`` every resource must be granted (a resource unknown to the role fails at
        once); with ``"OR"`` one granted resource is enough. A connector other than these two
        (only reachable from untyped code) behaves as Better-Auth's: no early answer either way.

        Raises:
            ValueError: a resource's request is neither a list nor ``{"actions": …}``.
        """
        any_granted = False
        for resource, requested in request.items():
            allowed = self.statements.get(resource)
            if allowed is None:  # an empty list is a known resource in JavaScript too
                if connector == "AND":
                    return AuthorizeResult(
                        False, f"You are not allowed to access resource: {resource}"
                    )
                continue
            granted = _resource_authorized(allowed, requested)
            any_granted = any_granted or granted
            if granted and connector == "OR":
                return _OK
            if not granted and connector == "AND":
                return AuthorizeResult(
                    False, f'unauthorized to access resource "{resource}"'
                )
        return _OK if any_granted else AuthorizeResult(False, "Not authorized")


def _frozen(statements: Statements) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(statements, Mapping):
        raise ConfigurationError(
            'statements must be a mapping like {"project": ["create", "delete"]}'
        )
    frozen: dict[str, tuple[str, ...]] = {}
    for resource, actions in statements.items():
        if isinstance(actions, str) or not all(isinstance(a, str) for a in actions):
            raise ConfigurationError(
                f"statement {resource!r} must be a list of action names, got {actions!r}"
            )
        frozen[str(resource)] = tuple(actions)
    return MappingProxyType(frozen)


@dataclass(frozen=True)
class AccessControl:
    """``createAccessControl(statements)``: the resources and actions roles may be built from."""

    statements: Mapping[str, tuple[str, ...]] = field(repr=True)

    def new_role(self, statements: Statements) -> Role:
        """``ac.newRole(...)``, with the check TypeScript makes at compile time made at start.

        Raises:
            ConfigurationError: a resource or an action the access control does not declare.
        """
        role = _frozen(statements)
        for resource, actions in role.items():
            known = self.statements.get(resource)
            if known is None:
                raise ConfigurationError(
                    f"role resource {resource!r} is not in the access control's statements "
                    f"({', '.join(sorted(self.statements))})"
                )
            unknown = [action for action in actions if action not in known]
            if unknown:
                raise ConfigurationError(
                    f"role actions {unknown!r} are not in statement {resource!r} {list(known)!r}"
                )
        return Role(role)


def create_access_control(statements: Statements) -> AccessControl:
    """``createAccessControl(statements)`` (access.mjs 69-76).

    Raises:
        ConfigurationError: ``statements`` is not ``{"resource": ["action", …]}``.
    """
    return AccessControl(_frozen(statements))
