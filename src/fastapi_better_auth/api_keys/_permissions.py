"""The ``permissions`` column: parsed as the plugin parses it, and checked as Better-Auth authorizes.

Kept apart from the verification's database work: these are pure functions of the JSON a key
row holds and the permissions a route requires, testable without a database.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: ``{"files": ["read", "write"]}``: the plugin's ``permissions`` JSON (resource → actions).
Permissions = Mapping[str, Sequence[str]]


def parse_json(value: str | None) -> Any:
    """``safeJSONParse``: the parsed value, or None for nothing or invalid JSON."""
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def permissions_allow(granted: Any, required: Permissions) -> bool:
    """Better-Auth's ``role(granted).authorize(required)`` with its default ``AND`` connector.

    Every required resource must be granted with every required action; an empty request or
    an empty action list authorizes nothing (``better-auth/plugins/access``, ``access.ts``).
    """
    if not isinstance(granted, dict) or not required:
        return False
    for resource, actions in required.items():
        allowed = granted.get(resource)
        if not isinstance(allowed, list) or not actions:
            return False
        if not all(action in allowed for action in actions):
            return False
    return True


def parse_permissions(value: str | None) -> dict[str, list[str]] | None:
    parsed = parse_json(value)
    if not isinstance(parsed, dict):
        return None
    return {
        str(resource): [str(action) for action in actions]
        for resource, actions in parsed.items()
        if isinstance(actions, list)
    }
