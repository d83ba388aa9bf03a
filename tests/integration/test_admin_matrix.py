"""Who may call which admin route: every endpoint × every kind of caller, status and database.

Callers: nobody, a user on themselves, another user, an admin, a banned admin, an admin on
themselves (the last active admin) and a session Root opened by impersonating Bob. Each case
asserts the exact status and code and the whole database afterwards: a refusal changes
nothing, an allowed call changes exactly what it should (IDOR, vertical escalation, mass
assignment, last admin, self-ban).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.admin_fixtures import (
    ALICE,
    ALICE_OTHER_SESSION,
    BOB,
    IMPERSONATION,
    ROOT,
    ZED,
    Member,
    State,
    bearer,
    later_than,
    snapshot,
)


@dataclass(frozen=True)
class Caller:
    """Who calls (None: no credential) and whose resources they name."""

    member: Member | None
    target: Member


CALLERS = {
    "anonymous": Caller(None, ALICE),
    "user": Caller(ALICE, ALICE),
    "other_user": Caller(BOB, ALICE),
    "admin": Caller(ROOT, ALICE),
    "banned_admin": Caller(ZED, ALICE),
    "admin_on_self": Caller(ROOT, ROOT),
    "impersonation": Caller(IMPERSONATION, ALICE),
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {user} and {session} are filled in per caller
    body: dict[str, Any] | None
    change: Callable[[State, str], None]  # applies the expected change for target id


def _no_change(state: State, target: str) -> None:
    return None


def _set(**values: Any) -> Callable[[State, str], None]:
    def change(state: State, target: str) -> None:
        state.users[target].update(values)

    return change


def _drop_sessions(state: State, target: str) -> None:
    for session_id, owner in list(state.sessions.items()):
        if owner == target:
            del state.sessions[session_id]


def _ban(state: State, target: str) -> None:
    _set(banned=True, ban_reason="spam", ban_expires=None)(state, target)
    _drop_sessions(state, target)


def _drop_one(state: State, target: str) -> None:
    del state.sessions[_session_of(target)]


def _session_of(target: str) -> str:
    return ALICE_OTHER_SESSION if target == ALICE.id else ROOT.session_id


ENDPOINTS = {
    "users.list": Endpoint("GET", "/api/v1/users", None, _no_change),
    "users.get": Endpoint("GET", "/api/v1/users/{user}", None, _no_change),
    "users.update": Endpoint(
        "PATCH", "/api/v1/users/{user}", {"name": "Renamed"}, _set(name="Renamed")
    ),
    "users.set_role": Endpoint(
        "PUT",
        "/api/v1/users/{user}/role",
        {"role": ["user", "editor"]},
        _set(role="user,editor"),
    ),
    "users.ban": Endpoint("POST", "/api/v1/users/{user}/ban", {"reason": "spam"}, _ban),
    "users.unban": Endpoint(
        "DELETE",
        "/api/v1/users/{user}/ban",
        None,
        _set(banned=False, ban_reason=None, ban_expires=None),
    ),
    "sessions.list": Endpoint("GET", "/api/v1/users/{user}/sessions", None, _no_change),
    "sessions.revoke_all": Endpoint(
        "DELETE", "/api/v1/users/{user}/sessions", None, _drop_sessions
    ),
    "sessions.revoke": Endpoint(
        "DELETE", "/api/v1/users/{user}/sessions/{session}", None, _drop_one
    ),
}

_ADMIN_ONLY = {"users.list", "users.set_role", "users.ban", "users.unban"}
_SELF_SERVICE = set(ENDPOINTS) - _ADMIN_ONLY


def _expected(endpoint: str, caller: str) -> tuple[int, str | None]:
    """The status and error code of ``endpoint`` for ``caller`` (None: success)."""
    if caller == "anonymous":
        return 401, "NOT_AUTHENTICATED"
    if caller == "banned_admin":
        return 403, "USER_BANNED"
    if caller in {"admin"}:
        return 200, None
    if caller == "admin_on_self":
        if endpoint == "users.set_role":
            return 409, "CONFLICT"  # Root is the last active admin (Zed is banned)
        if endpoint == "users.ban":
            return 400, "INVALID_REQUEST"
        return 200, None
    if endpoint in _ADMIN_ONLY:
        return 403, "ROLE_REQUIRED"
    if caller == "user":
        return 200, None
    return 404, "USER_NOT_FOUND"  # another user's id looks like a missing one


_WRITES = {"users.update", "users.set_role", "users.ban", "users.unban"}


@pytest.mark.parametrize("caller_name", list(CALLERS))
@pytest.mark.parametrize("endpoint_name", list(ENDPOINTS))
def test_admin_endpoint_caller_gets_exact_status_and_database_state(
    client: TestClient, url: str, endpoint_name: str, caller_name: str
) -> None:
    endpoint, caller = ENDPOINTS[endpoint_name], CALLERS[caller_name]
    target = caller.target.id
    path = endpoint.path.format(user=target, session=_session_of(target))
    headers = {} if caller.member is None else bearer(caller.member)
    before = snapshot(url)

    response = client.request(
        endpoint.method, path, headers=headers, json=endpoint.body
    )

    status, code = _expected(endpoint_name, caller_name)
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["detail"]["code"] == code
    after = snapshot(url)
    expected = State(
        {uid: dict(row) for uid, row in before.users.items()}, dict(before.sessions)
    )
    if code is None:
        endpoint.change(expected, target)
        if endpoint_name in _WRITES:
            assert later_than(after.users[target]["updated_at"])
            expected.users[target]["updated_at"] = after.users[target]["updated_at"]
    assert after == expected


@pytest.mark.parametrize("caller_name", ["user", "other_user", "impersonation"])
def test_self_service_endpoints_non_admin_on_missing_id_matches_other_users_answer(
    client: TestClient, url: str, caller_name: str
) -> None:
    caller = CALLERS[caller_name]
    assert caller.member is not None
    for name in sorted(_SELF_SERVICE):
        endpoint = ENDPOINTS[name]
        answers = []
        for target in (BOB.id if caller.member.id == ALICE.id else ALICE.id, "nobody"):
            path = endpoint.path.format(user=target, session="x")
            response = client.request(
                endpoint.method, path, headers=bearer(caller.member), json=endpoint.body
            )
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], name
        assert answers[0][0] == 404


@pytest.mark.parametrize(
    "field",
    [
        {"role": "admin"},
        {"banned": False},
        {"ban_reason": None},
        {"ban_expires": None},
        {"email_verified": True},
        {"emailVerified": True},
        {"id": "someone-else"},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"updated_at": "2020-01-01T00:00:00Z"},
        {"unknown": 1},
    ],
)
@pytest.mark.parametrize("caller", [ALICE, ROOT])
def test_update_user_never_writable_field_returns_422_and_changes_nothing(
    client: TestClient, url: str, caller: Member, field: dict[str, Any]
) -> None:
    before = snapshot(url)
    response = client.patch(
        f"/api/v1/users/{caller.id}",
        headers=bearer(caller),
        json={"name": "Sneaky", **field},
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ["body", next(iter(field))]
    assert snapshot(url) == before


def test_update_user_email_by_non_admin_returns_400_naming_the_field(
    client: TestClient, url: str
) -> None:
    before = snapshot(url)
    response = client.patch(
        f"/api/v1/users/{ALICE.id}",
        headers=bearer(ALICE),
        json={"email": "alice@evil.test", "name": "A"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": {"code": "INVALID_REQUEST", "message": "You may not change: email."}
    }
    assert snapshot(url) == before


def test_impersonation_session_cannot_use_the_admins_rights(
    client: TestClient, url: str
) -> None:
    before = snapshot(url)
    for method, path, body in [
        ("GET", "/api/v1/users", None),
        ("PUT", f"/api/v1/users/{IMPERSONATION.id}/role", {"role": "admin"}),
        ("POST", f"/api/v1/users/{ALICE.id}/ban", {"reason": "x"}),
        ("GET", f"/api/v1/users/{ROOT.id}", None),
    ]:
        response = client.request(
            method, path, headers=bearer(IMPERSONATION), json=body
        )
        assert response.status_code in {403, 404}, response.text
    assert snapshot(url) == before
    own = client.get(f"/api/v1/users/{BOB.id}/sessions", headers=bearer(IMPERSONATION))
    assert own.status_code == 200, own.text
    current = [s for s in own.json()["sessions"] if s["current"]]
    assert [(s["id"], s["impersonated_by"]) for s in current] == [
        (IMPERSONATION.session_id, ROOT.id)
    ]


def test_vertical_escalation_user_set_own_role_returns_403_and_keeps_role(
    client: TestClient, url: str
) -> None:
    response = client.put(
        f"/api/v1/users/{ALICE.id}/role", headers=bearer(ALICE), json={"role": "admin"}
    )
    assert response.status_code == 403, response.text
    assert response.json()["detail"]["code"] == "ROLE_REQUIRED"
    assert snapshot(url).users[ALICE.id]["role"] == "user"
