"""Every ``/api/v1`` route of the example app, driven by real Better-Auth 1.7.25 credentials.

One Better-Auth server (default configuration: EdDSA JWTs without ``sid``) and the example app
(in-process) share one PostgreSQL database. Credentials come from Better-Auth only: sign-up,
sign-in, the raw and the signed session token, the session cookie and the ``/token`` JWT. Writes
are checked in the database and through Better-Auth's own endpoints; changes made through
Better-Auth's admin endpoints must count for our API on the next request.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.ba_server import cookie_from, running_better_auth
from tests.interop.flow import (
    KINDS,
    REPORTED,
    SESSION_KINDS,
    Kind,
    Login,
    PgProbe,
    Rig,
    app_settings,
    error_code,
    example_app,
    login,
    pg_database,
    require_node,
    sign_in,
    sign_in_status,
    start_rig,
    unique_email,
)
from tests.pg import PostgresServer

pytestmark = pytest.mark.interop
require_node()


@pytest.fixture(scope="module")
def rig(postgres: PostgresServer) -> Iterator[Rig]:
    """Better-Auth and the example app on one PostgreSQL database, with a first admin."""
    with (
        pg_database(postgres, "every") as db,
        running_better_auth(postgres.dsn(db)) as server,
        example_app(app_settings(server, postgres.dsn(db))) as client,
    ):
        yield start_rig(server, client, PgProbe(postgres, db))


@pytest.fixture
def user(rig: Rig) -> Login:
    """A new user, signed in through Better-Auth."""
    return login(rig.server, unique_email("user"), name="Plain User")


def _ba_list_users(rig: Rig, **params: Any) -> dict[str, Any]:
    response = rig.server.admin_get(
        "list-users", params=params, cookie=rig.the_admin.cookie
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _all_our_users(rig: Rig, kind: Kind) -> list[dict[str, Any]]:
    """Every user through our ``GET /users``, page by page."""
    users: list[dict[str, Any]] = []
    while True:
        page = rig.api(
            "GET",
            "/users",
            rig.the_admin,
            kind,
            params={"limit": 100, "offset": len(users)},
        )
        assert page.status_code == 200, page.text
        users += page.json()["users"]
        if len(users) >= page.json()["total"]:
            return users


# -- health -----------------------------------------------------------------------------------


@pytest.mark.interop
def test_health_routes_without_credentials_ok(rig: Rig) -> None:
    assert rig.api("GET", "/health").json() == {"status": "ok"}
    database = rig.api("GET", "/health/db")
    assert (database.status_code, database.json()) == (200, {"status": "ok"})


# -- /auth ------------------------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_auth_session_each_credential_identifies_user_and_session(
    rig: Rig, user: Login, kind: Kind
) -> None:
    response = rig.api("GET", "/auth/session", user, kind)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["credential"] == REPORTED[kind]
    assert (body["user"]["id"], body["user"]["email"]) == (user.user_id, user.email)
    assert body["impersonated_by"] is None
    ba = rig.server.get_session(user.cookie)
    assert ba is not None
    if kind == "jwt":  # Better-Auth's default payload names no session
        assert body["session"] is None
    else:
        assert body["session"]["id"] == user.session_id == ba["session"]["id"]
        assert body["session"]["user_id"] == user.user_id
        assert "token" not in body["session"]
    assert user.raw not in response.text


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_auth_me_each_credential_matches_better_auth_user(
    rig: Rig, user: Login, kind: Kind
) -> None:
    response = rig.api("GET", "/auth/me", user, kind)
    assert response.status_code == 200, response.text
    me = response.json()
    ba = rig.server.get_session(user.cookie)
    assert ba is not None
    theirs = ba["user"]
    assert me["id"] == theirs["id"]
    assert (me["email"], me["name"], me["email_verified"]) == (
        theirs["email"],
        theirs["name"],
        theirs["emailVerified"],
    )
    assert (
        (me["role"], me["banned"])
        == (theirs["role"], theirs["banned"])
        == (
            "user",
            False,
        )
    )


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_auth_accounts_each_credential_lists_credential_account(
    rig: Rig, user: Login, kind: Kind
) -> None:
    response = rig.api("GET", "/auth/accounts", user, kind)
    assert response.status_code == 200, response.text
    (account,) = response.json()["accounts"]
    (row,) = rig.sql.rows(f"SELECT id FROM account WHERE \"userId\" = '{user.user_id}'")
    assert account["id"] == row[0]
    assert (account["provider_id"], account["account_id"]) == (
        "credential",
        user.user_id,
    )
    assert not {"password", "access_token", "refresh_token", "id_token"} & set(account)


@pytest.mark.interop
def test_auth_routes_without_credential_unauthorized(rig: Rig) -> None:
    for path in ("/auth/session", "/auth/me", "/auth/accounts", "/users"):
        response = rig.api("GET", path)
        assert response.status_code == 401, path
        assert error_code(response) == "NOT_AUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.interop
def test_auth_me_altered_credentials_unauthorized(rig: Rig, user: Login) -> None:
    header, payload, signature = user.jwt.split(".")
    forged_jwt = f"{header}.{payload}.{signature[:-4]}AAAA"
    raw, _, mac = user.signed.rpartition(".")
    forged_signed = f"{raw}.{'A' * 43}="
    cases = {
        forged_jwt: "INVALID_TOKEN",
        forged_signed: "INVALID_SESSION",
        "x" * 32: "INVALID_SESSION",  # a raw token no session has
    }
    for token, code in cases.items():
        response = rig.api(
            "GET", "/auth/me", headers={"authorization": f"Bearer {token}"}
        )
        assert (response.status_code, error_code(response)) == (401, code)
    cookie_name = user.cookie.split("=", 1)[0]
    forged_cookie = rig.api(
        "GET", "/auth/me", headers={"cookie": f"{cookie_name}={raw}.{'B' * 43}%3D"}
    )
    assert (forged_cookie.status_code, error_code(forged_cookie)) == (
        401,
        "INVALID_SESSION",
    )
    assert mac  # the real signature stays valid
    assert rig.api("GET", "/auth/me", user, "signed").status_code == 200


# -- /users -----------------------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_list_admin_each_credential_matches_better_auth(
    rig: Rig, user: Login, kind: Kind
) -> None:
    found = rig.api("GET", "/users", rig.the_admin, kind, params={"search": user.email})
    assert found.status_code == 200, found.text
    assert [u["id"] for u in found.json()["users"]] == [user.user_id]
    assert found.json()["total"] == 1
    ours = _all_our_users(rig, kind)
    theirs = _ba_list_users(rig, limit=10_000)
    assert len(ours) == theirs["total"] == len(theirs["users"])
    assert {u["id"] for u in ours} == {u["id"] for u in theirs["users"]}
    by_id = {u["id"]: u for u in theirs["users"]}
    for mine in ours:
        theirs_user = by_id[mine["id"]]
        assert (mine["email"], mine["name"], mine["role"], mine["banned"]) == (
            theirs_user["email"],
            theirs_user["name"],
            theirs_user["role"],
            bool(theirs_user["banned"]),
        )
    admins = rig.api("GET", "/users", rig.the_admin, kind, params={"role": "admin"})
    assert rig.the_admin.user_id in {u["id"] for u in admins.json()["users"]}
    assert user.user_id not in {u["id"] for u in admins.json()["users"]}


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_list_non_admin_forbidden(rig: Rig, user: Login, kind: Kind) -> None:
    response = rig.api("GET", "/users", user, kind)
    assert (response.status_code, error_code(response)) == (403, "ROLE_REQUIRED")


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_get_self_or_admin_ok_other_not_found(
    rig: Rig, user: Login, kind: Kind
) -> None:
    own = rig.api("GET", f"/users/{user.user_id}", user, kind)
    assert (own.status_code, own.json()["id"]) == (200, user.user_id)
    by_admin = rig.api("GET", f"/users/{user.user_id}", rig.the_admin, kind)
    ba = rig.ba_get_user(user.user_id)
    assert by_admin.status_code == 200
    assert (by_admin.json()["email"], by_admin.json()["name"]) == (
        ba["email"],
        ba["name"],
    )
    other = rig.api("GET", f"/users/{rig.the_admin.user_id}", user, kind)
    assert (other.status_code, error_code(other)) == (404, "USER_NOT_FOUND")
    missing = rig.api("GET", "/users/nobody", rig.the_admin, kind)
    assert (missing.status_code, error_code(missing)) == (404, "USER_NOT_FOUND")


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_patch_name_each_credential_seen_by_better_auth(
    rig: Rig, user: Login, kind: Kind
) -> None:
    name = f"Renamed via {kind}"
    response = rig.api(
        "PATCH", f"/users/{user.user_id}", user, kind, json={"name": name}
    )
    assert (response.status_code, response.json()["name"]) == (200, name)
    assert rig.user_row(user.user_id)["name"] == name
    session = rig.server.get_session(user.cookie)
    assert session is not None and session["user"]["name"] == name
    assert rig.ba_get_user(user.user_id)["name"] == name


@pytest.mark.interop
def test_users_patch_email_admin_only_seen_by_better_auth(
    rig: Rig, user: Login
) -> None:
    new_email = unique_email("moved")
    refused = rig.api(
        "PATCH", f"/users/{user.user_id}", user, "jwt", json={"email": new_email}
    )
    assert (refused.status_code, error_code(refused)) == (400, "INVALID_REQUEST")
    response = rig.api(
        "PATCH",
        f"/users/{user.user_id}",
        rig.the_admin,
        "jwt",
        json={"email": new_email.upper()},
    )
    assert (response.status_code, response.json()["email"]) == (200, new_email)
    assert rig.ba_get_user(user.user_id)["email"] == new_email
    moved = sign_in(rig.server, new_email)  # Better-Auth signs in with the new address
    assert moved.user_id == user.user_id
    taken = rig.api(
        "PATCH",
        f"/users/{user.user_id}",
        rig.the_admin,
        "jwt",
        json={"email": rig.the_admin.email},
    )
    assert (taken.status_code, error_code(taken)) == (409, "CONFLICT")


@pytest.mark.interop
def test_cookie_write_without_trusted_origin_forbidden(rig: Rig, user: Login) -> None:
    path = f"/users/{user.user_id}"
    for origin in (None, "http://evil.example"):
        response = rig.api(
            "PATCH", path, user, "cookie", origin=origin, json={"name": "Evil"}
        )
        assert (response.status_code, error_code(response)) == (403, "INVALID_ORIGIN")
    assert rig.user_row(user.user_id)["name"] == "Plain User"
    assert rig.api("GET", path, user, "cookie", origin=None).status_code == 200


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_set_role_seen_and_granted_by_better_auth(
    rig: Rig, user: Login, kind: Kind
) -> None:
    admin, server, path = rig.the_admin, rig.server, f"/users/{user.user_id}/role"
    assert server.admin_get("list-users", cookie=user.cookie).status_code == 403
    refused = rig.api("PUT", path, user, kind, json={"role": "admin"})
    assert (refused.status_code, error_code(refused)) == (403, "ROLE_REQUIRED")

    response = rig.api("PUT", path, admin, kind, json={"role": ["user", "admin"]})
    assert (response.status_code, response.json()["role"]) == (200, "user,admin")
    assert rig.user_row(user.user_id)["role"] == "user,admin"
    assert rig.ba_get_user(user.user_id)["role"] == "user,admin"
    listed = _ba_list_users(
        rig, filterField="role", filterValue="user,admin", limit=100
    )
    assert user.user_id in {u["id"] for u in listed["users"]}
    # Better-Auth now lets the user use its admin endpoints, and so do we
    assert server.admin_get("list-users", cookie=user.cookie).status_code == 200
    assert rig.api("GET", "/users", user, kind).status_code == 200

    rig.api("PUT", path, admin, kind, json={"role": "user"})
    assert rig.ba_get_user(user.user_id)["role"] == "user"
    denied = server.admin_get("list-users", cookie=user.cookie)
    assert (denied.status_code, denied.json()["code"]) == (
        403,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
    )
    assert rig.api("GET", "/users", user, kind).status_code == 403


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_users_ban_blocks_better_auth_sign_in_and_unban_restores(
    rig: Rig, user: Login, kind: Kind
) -> None:
    admin, server, path = rig.the_admin, rig.server, f"/users/{user.user_id}/ban"
    second = sign_in(server, user.email)
    assert rig.api("POST", path, user, kind, json={}).status_code == 403
    banned = rig.api("POST", path, admin, kind, json={"reason": "spam"})
    assert banned.status_code == 200, banned.text
    assert (banned.json()["banned"], banned.json()["ban_reason"]) == (True, "spam")
    assert banned.json()["ban_expires"] is None
    # the database: banned, every session deleted; Better-Auth sees it
    assert rig.user_row(user.user_id)["banned"] is True
    assert rig.session_count(user.user_id) == 0
    assert server.get_session(user.cookie) is None
    assert server.get_session(second.signed) is None
    ba = rig.ba_get_user(user.user_id)
    assert (ba["banned"], ba["banReason"], ba["banExpires"]) == (True, "spam", None)
    status, body = sign_in_status(server, user.email)
    assert (status, body["code"]) == (403, "BANNED_USER")
    # our API: the JWT (its user is banned) 403, the deleted sessions 401
    jwt = rig.api("GET", "/auth/me", user, "jwt")
    assert (jwt.status_code, error_code(jwt)) == (403, "USER_BANNED")
    for session_kind in SESSION_KINDS:
        gone = rig.api("GET", "/auth/me", user, session_kind)
        assert (gone.status_code, error_code(gone)) == (401, "INVALID_SESSION")

    unbanned = rig.api("DELETE", path, admin, kind)
    assert (unbanned.status_code, unbanned.json()["banned"]) == (200, False)
    ba = rig.ba_get_user(user.user_id)
    assert (ba["banned"], ba["banReason"], ba["banExpires"]) == (False, None, None)
    again = sign_in(server, user.email)
    assert rig.api("GET", "/auth/me", again, kind).status_code == 200
    assert rig.api("GET", "/auth/me", user, "jwt").status_code == 200


@pytest.mark.interop
def test_users_ban_with_expiry_seen_by_better_auth(rig: Rig, user: Login) -> None:
    response = rig.api(
        "POST",
        f"/users/{user.user_id}/ban",
        rig.the_admin,
        "jwt",
        json={"expires_in_seconds": 3600},
    )
    assert response.status_code == 200, response.text
    ours = response.json()
    ba = rig.ba_get_user(user.user_id)
    assert (ba["banned"], ba["banReason"]) == (True, "No reason")
    assert ba["banExpires"][:19] == ours["ban_expires"][:19]
    status, body = sign_in_status(rig.server, user.email)
    assert (status, body["code"]) == (403, "BANNED_USER")
    self_ban = rig.api(
        "POST", f"/users/{rig.the_admin.user_id}/ban", rig.the_admin, "jwt", json={}
    )
    assert (self_ban.status_code, error_code(self_ban)) == (400, "INVALID_REQUEST")
    rig.api("DELETE", f"/users/{user.user_id}/ban", rig.the_admin, "jwt")
    assert sign_in_status(rig.server, user.email)[0] == 200


# -- /users/{id}/sessions -----------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_sessions_list_each_credential_matches_better_auth(
    rig: Rig, user: Login, kind: Kind
) -> None:
    second = sign_in(rig.server, user.email)
    response = rig.api("GET", f"/users/{user.user_id}/sessions", user, kind)
    assert response.status_code == 200, response.text
    sessions = response.json()["sessions"]
    assert {s["id"] for s in sessions} == rig.ba_session_ids(user.user_id)
    assert {user.session_id, second.session_id} <= {s["id"] for s in sessions}
    current = {s["id"] for s in sessions if s["current"]}
    assert current == (set() if kind == "jwt" else {user.session_id})
    assert all("token" not in s for s in sessions)
    assert user.raw not in response.text and second.raw not in response.text
    by_admin = rig.api("GET", f"/users/{user.user_id}/sessions", rig.the_admin, kind)
    assert {s["id"] for s in by_admin.json()["sessions"]} == {s["id"] for s in sessions}
    other = rig.api("GET", f"/users/{rig.the_admin.user_id}/sessions", user, kind)
    assert (other.status_code, error_code(other)) == (404, "USER_NOT_FOUND")


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_sessions_revoke_one_seen_by_better_auth(
    rig: Rig, user: Login, kind: Kind
) -> None:
    second = sign_in(rig.server, user.email)
    path = f"/users/{user.user_id}/sessions/{second.session_id}"
    response = rig.api("DELETE", path, user, kind)
    assert (response.status_code, response.json()) == (200, {"revoked": 1})
    assert rig.server.get_session(second.cookie) is None
    assert rig.server.get_session(second.raw) is None
    assert second.session_id not in rig.ba_session_ids(user.user_id)
    for session_kind in SESSION_KINDS:
        assert rig.api("GET", "/auth/me", second, session_kind).status_code == 401
    assert rig.server.get_session(user.cookie) is not None  # the other one is kept
    assert rig.api("GET", "/auth/me", user, kind).status_code == 200
    again = rig.api("DELETE", path, user, kind)
    assert (again.status_code, error_code(again)) == (404, "NOT_FOUND")
    foreign = rig.api(
        "DELETE",
        f"/users/{user.user_id}/sessions/{rig.the_admin.session_id}",
        rig.the_admin,
        "jwt",
    )
    assert foreign.status_code == 404  # another user's session id is never revoked
    assert rig.server.get_session(rig.the_admin.cookie) is not None


@pytest.mark.interop
@pytest.mark.parametrize("actor", ["self", "admin"])
def test_sessions_revoke_all_seen_by_better_auth(
    rig: Rig, user: Login, actor: str
) -> None:
    second = sign_in(rig.server, user.email)
    who = user if actor == "self" else rig.the_admin
    response = rig.api("DELETE", f"/users/{user.user_id}/sessions", who, "signed")
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] >= 2  # sign-up's session, and the two sign-ins
    assert rig.session_count(user.user_id) == 0
    assert rig.ba_session_ids(user.user_id) == set()
    assert rig.server.get_session(user.cookie) is None
    assert rig.server.get_session(second.signed) is None
    assert rig.api("GET", "/auth/me", user, "signed").status_code == 401
    assert rig.api("GET", "/auth/me", user, "jwt").status_code == 200  # no sid claim


# -- Better-Auth's admin endpoints → our API ----------------------------------------------------


@pytest.mark.interop
def test_better_auth_ban_user_refuses_every_credential(rig: Rig, user: Login) -> None:
    for kind in KINDS:
        assert rig.api("GET", "/auth/me", user, kind).status_code == 200
    banned = rig.ba_admin_post("ban-user", {"userId": user.user_id, "banReason": "x"})
    assert banned.status_code == 200, banned.text
    assert rig.user_row(user.user_id)["banned"] is True
    # ban-user deleted the sessions: session credentials are unknown now
    for kind in SESSION_KINDS:
        response = rig.api("GET", "/auth/me", user, kind)
        assert (response.status_code, error_code(response)) == (401, "INVALID_SESSION")
    # the JWT is still signed, but its user is banned
    response = rig.api("GET", "/auth/session", user, "jwt")
    assert (response.status_code, error_code(response)) == (403, "USER_BANNED")

    assert rig.ba_admin_post("unban-user", {"userId": user.user_id}).status_code == 200
    assert rig.api("GET", "/auth/me", user, "jwt").status_code == 200
    again = sign_in(rig.server, user.email)
    for kind in KINDS:
        assert rig.api("GET", "/auth/me", again, kind).status_code == 200


@pytest.mark.interop
def test_sql_ban_keeping_sessions_refuses_every_credential(
    rig: Rig, user: Login
) -> None:
    """A ban Better-Auth's endpoints did not write (no session deleted): 403 for all four."""
    rig.sql.rows(
        f"UPDATE \"user\" SET banned = true WHERE id = '{user.user_id}' RETURNING 1"
    )
    assert (
        rig.server.get_session(user.cookie) is not None
    )  # Better-Auth keeps serving it
    for kind in KINDS:
        response = rig.api("GET", "/auth/me", user, kind)
        assert (response.status_code, error_code(response)) == (403, "USER_BANNED")


@pytest.mark.interop
def test_better_auth_set_role_admin_grants_admin_routes_and_back(
    rig: Rig, user: Login
) -> None:
    for kind in KINDS:
        assert rig.api("GET", "/users", user, kind).status_code == 403
    promoted = rig.ba_admin_post("set-role", {"userId": user.user_id, "role": "admin"})
    assert promoted.status_code == 200, promoted.text
    # the JWT minted before still says role "user": the row decides
    for kind in KINDS:
        response = rig.api("GET", "/users", user, kind)
        assert response.status_code == 200, (kind, response.text)
        assert (
            rig.api("GET", f"/users/{rig.the_admin.user_id}", user, kind).status_code
            == 200
        )
    demoted = rig.ba_admin_post("set-role", {"userId": user.user_id, "role": "user"})
    assert demoted.status_code == 200, demoted.text
    for kind in KINDS:
        response = rig.api("GET", "/users", user, kind)
        assert (response.status_code, error_code(response)) == (403, "ROLE_REQUIRED")


@pytest.mark.interop
def test_better_auth_revoke_user_session_refuses_that_session(
    rig: Rig, user: Login
) -> None:
    second = sign_in(rig.server, user.email)
    response = rig.ba_admin_post("revoke-user-session", {"sessionToken": second.raw})
    assert (response.status_code, response.json()) == (200, {"success": True})
    for kind in SESSION_KINDS:
        refused = rig.api("GET", "/auth/me", second, kind)
        assert (refused.status_code, error_code(refused)) == (401, "INVALID_SESSION")
        assert rig.api("GET", "/auth/me", user, kind).status_code == 200
    # a default JWT names no session: it stays valid until it expires (see the sid variant)
    assert rig.api("GET", "/auth/me", second, "jwt").status_code == 200


@pytest.mark.interop
def test_better_auth_revoke_user_sessions_refuses_all_sessions(
    rig: Rig, user: Login
) -> None:
    second = sign_in(rig.server, user.email)
    response = rig.ba_admin_post("revoke-user-sessions", {"userId": user.user_id})
    assert (response.status_code, response.json()) == (200, {"success": True})
    for who in (user, second):
        for kind in SESSION_KINDS:
            refused = rig.api("GET", "/auth/session", who, kind)
            assert (refused.status_code, error_code(refused)) == (
                401,
                "INVALID_SESSION",
            )
    listed = rig.api("GET", f"/users/{user.user_id}/sessions", rig.the_admin, "jwt")
    assert listed.json() == {"sessions": []}


@pytest.mark.interop
def test_better_auth_update_and_remove_user_seen_by_our_api(
    rig: Rig, user: Login
) -> None:
    updated = rig.ba_admin_post(
        "update-user", {"userId": user.user_id, "data": {"name": "Set By Better-Auth"}}
    )
    assert updated.status_code == 200, updated.text
    assert (
        rig.api("GET", "/auth/me", user, "jwt").json()["name"] == "Set By Better-Auth"
    )
    removed = rig.ba_admin_post("remove-user", {"userId": user.user_id})
    assert (removed.status_code, removed.json()) == (200, {"success": True})
    gone = rig.api("GET", "/auth/me", user, "jwt")
    assert (gone.status_code, error_code(gone)) == (401, "INVALID_SESSION")
    assert rig.api("GET", "/auth/me", user, "cookie").status_code == 401
    missing = rig.api("GET", f"/users/{user.user_id}", rig.the_admin, "jwt")
    assert (missing.status_code, error_code(missing)) == (404, "USER_NOT_FOUND")


@pytest.mark.interop
def test_better_auth_create_user_listed_by_our_api(rig: Rig) -> None:
    email = unique_email("created")
    created = rig.ba_admin_post(
        "create-user",
        {
            "email": email,
            "password": "password1234",
            "name": "Created",
            "role": "editor",
        },
    )
    assert created.status_code == 200, created.text
    user_id = created.json()["user"]["id"]
    listed = rig.api("GET", "/users", rig.the_admin, "jwt", params={"role": "editor"})
    assert user_id in {u["id"] for u in listed.json()["users"]}
    got = rig.api("GET", f"/users/{user_id}", rig.the_admin, "cookie").json()
    assert (got["email"], got["role"], got["banned"]) == (email, "editor", False)


@pytest.mark.interop
def test_better_auth_impersonation_session_seen_by_our_api(
    rig: Rig, user: Login
) -> None:
    response = rig.ba_admin_post("impersonate-user", {"userId": user.user_id})
    assert response.status_code == 200, response.text
    cookie = cookie_from(response)
    assert cookie is not None
    impersonation = response.json()["session"]
    assert impersonation["impersonatedBy"] == rig.the_admin.user_id
    session = rig.api("GET", "/auth/session", headers={"cookie": cookie})
    assert session.status_code == 200, session.text
    body = session.json()
    assert body["user"]["id"] == user.user_id
    assert body["session"]["id"] == impersonation["id"]
    assert body["impersonated_by"] == rig.the_admin.user_id
    listed = rig.api("GET", f"/users/{user.user_id}/sessions", rig.the_admin, "jwt")
    marked = {s["id"]: s["impersonated_by"] for s in listed.json()["sessions"]}
    assert marked[impersonation["id"]] == rig.the_admin.user_id
    assert marked[user.session_id] is None


@pytest.mark.interop
def test_expired_session_in_database_refused_by_both(rig: Rig, user: Login) -> None:
    rig.sql.rows(
        "UPDATE session SET \"expiresAt\" = now() - interval '1 minute' "
        f"WHERE id = '{user.session_id}' RETURNING 1"
    )
    for kind in SESSION_KINDS:
        response = rig.api("GET", "/auth/me", user, kind)
        assert (response.status_code, error_code(response)) == (401, "SESSION_EXPIRED")
    listed = rig.api("GET", f"/users/{user.user_id}/sessions", user, "jwt").json()
    assert user.session_id not in {s["id"] for s in listed["sessions"]}
    assert rig.server.get_session(user.cookie) is None  # and Better-Auth deletes it
    refused = rig.api("GET", "/auth/me", user, "raw")
    assert (refused.status_code, error_code(refused)) == (401, "INVALID_SESSION")


@pytest.mark.interop
def test_expired_ban_in_database_ignored_by_both(rig: Rig, user: Login) -> None:
    rig.sql.rows(
        'UPDATE "user" SET banned = true, "banReason" = \'old\', '
        "\"banExpires\" = now() - interval '1 hour' "
        f"WHERE id = '{user.user_id}' RETURNING 1"
    )
    for kind in KINDS:
        assert rig.api("GET", "/auth/me", user, kind).status_code == 200, kind
    not_banned = rig.api(
        "GET", "/users", rig.the_admin, "jwt", params={"banned": "true"}
    ).json()
    assert user.user_id not in {u["id"] for u in not_banned["users"]}
    assert sign_in_status(rig.server, user.email)[0] == 200  # it unbans lazily
    assert rig.user_row(user.user_id)["banned"] is False


# -- the example app's own routes --------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("kind", KINDS)
def test_example_routes_each_credential_guarded(
    rig: Rig, user: Login, kind: Kind
) -> None:
    client = rig.client
    assert client.get("/hello").json() == {"message": "Hello, guest!"}
    hello = client.get("/hello", headers=user.headers(kind))
    assert hello.json() == {"message": "Hello, Plain User!"}
    assert client.get("/notes", headers=user.headers(kind)).status_code == 200
    assert client.get("/admin/stats", headers=user.headers(kind)).status_code == 403
    stats = client.get("/admin/stats", headers=rig.the_admin.headers(kind))
    assert stats.json() == {"requested_by": rig.the_admin.user_id}
    client.cookies.clear()
