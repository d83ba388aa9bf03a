"""``/api/v1/users/{user_id}/sessions``: list, revoke one, revoke all; never a token, never another's."""

from fastapi.testclient import TestClient

from fastapi_better_auth.testing import TokenIssuer, make_user, user_claims
from tests.admin_fixtures import (
    ALICE,
    ALICE_EXPIRED_SESSION,
    ALICE_OTHER_SESSION,
    BOB,
    IMPERSONATION,
    ROOT,
    admin_app,
    bearer,
    reset,
    snapshot,
)
from tests.helpers import settings_for


def _alice_jwt(issuer: TokenIssuer, **extra: str) -> dict[str, str]:
    alice = make_user(id=ALICE.id, name=ALICE.name, email=ALICE.email)
    return bearer(issuer.mint({**user_claims(alice), **extra}))


def test_list_sessions_owner_sees_unexpired_newest_first_with_current_marked(
    client: TestClient, url: str
) -> None:
    response = client.get(f"/api/v1/users/{ALICE.id}/sessions", headers=bearer(ALICE))
    assert response.status_code == 200, response.text
    sessions = response.json()["sessions"]
    assert [(s["id"], s["current"]) for s in sessions] == [
        (ALICE_OTHER_SESSION, False),
        (ALICE.session_id, True),
    ]
    assert sessions[0]["user_agent"] == "phone"
    assert all("token" not in s for s in sessions)
    assert ALICE.token not in response.text


def test_list_sessions_jwt_marks_current_only_when_it_names_a_session(
    client: TestClient, url: str, issuer: TokenIssuer
) -> None:
    path = f"/api/v1/users/{ALICE.id}/sessions"
    with_sid = client.get(path, headers=_alice_jwt(issuer, sid=ALICE_OTHER_SESSION))
    without = client.get(path, headers=_alice_jwt(issuer))
    assert [s["current"] for s in with_sid.json()["sessions"]] == [True, False]
    assert [s["current"] for s in without.json()["sessions"]] == [False, False]


def test_list_sessions_admin_sees_impersonation_sessions_of_another_user(
    client: TestClient, url: str
) -> None:
    response = client.get(f"/api/v1/users/{BOB.id}/sessions", headers=bearer(ROOT))
    assert response.status_code == 200, response.text
    sessions = {s["id"]: s for s in response.json()["sessions"]}
    assert set(sessions) == {BOB.session_id, IMPERSONATION.session_id}
    assert sessions[IMPERSONATION.session_id]["impersonated_by"] == ROOT.id
    assert not any(s["current"] for s in sessions.values())


def test_revoke_session_of_another_user_through_own_path_returns_404_and_keeps_it(
    client: TestClient, url: str
) -> None:
    for caller in (ALICE, ROOT):
        response = client.delete(
            f"/api/v1/users/{caller.id}/sessions/{BOB.session_id}",
            headers=bearer(caller),
        )
        assert response.status_code == 404, response.text
        assert response.json() == {
            "detail": {"code": "NOT_FOUND", "message": "The session does not exist."}
        }
    assert snapshot(url).sessions[BOB.session_id] == BOB.id


def test_revoke_session_own_current_signs_the_caller_out(
    client: TestClient, url: str
) -> None:
    response = client.delete(
        f"/api/v1/users/{ALICE.id}/sessions/{ALICE.session_id}", headers=bearer(ALICE)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 1}
    assert ALICE.session_id not in snapshot(url).sessions
    again = client.get("/api/v1/auth/me", headers=bearer(ALICE))
    assert again.status_code == 401
    assert again.json()["detail"]["code"] == "INVALID_SESSION"


def test_revoke_all_sessions_deletes_expired_ones_too_and_only_the_users(
    client: TestClient, url: str
) -> None:
    before = snapshot(url)
    response = client.delete(f"/api/v1/users/{ALICE.id}/sessions", headers=bearer(ROOT))
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 3}
    after = snapshot(url)
    assert after.sessions == {
        sid: owner for sid, owner in before.sessions.items() if owner != ALICE.id
    }
    assert ALICE_EXPIRED_SESSION in before.sessions
    assert after.users == before.users


def test_sessions_routes_missing_user_return_404_user_not_found_for_admin(
    client: TestClient, url: str
) -> None:
    for method, path in [
        ("GET", "/api/v1/users/nobody/sessions"),
        ("DELETE", "/api/v1/users/nobody/sessions"),
        ("DELETE", f"/api/v1/users/nobody/sessions/{BOB.session_id}"),
    ]:
        response = client.request(method, path, headers=bearer(ROOT))
        assert response.status_code == 404, response.text
        assert response.json()["detail"]["code"] == "USER_NOT_FOUND"
    assert snapshot(url).sessions[BOB.session_id] == BOB.id


def test_sessions_on_sqlite_list_and_revoke_like_postgres(
    sqlite_url: str, issuer: TokenIssuer
) -> None:
    reset(sqlite_url, migrate=True)
    assert issuer.issuer is not None
    with TestClient(admin_app(settings_for(issuer.issuer, sqlite_url))) as client:
        path = f"/api/v1/users/{ALICE.id}/sessions"
        listed = client.get(path, headers=bearer(ALICE)).json()["sessions"]
        assert [s["id"] for s in listed] == [ALICE_OTHER_SESSION, ALICE.session_id]
        one = client.delete(f"{path}/{ALICE_OTHER_SESSION}", headers=bearer(ROOT))
        assert one.json() == {"revoked": 1}
        missing = client.delete(f"{path}/{ALICE_OTHER_SESSION}", headers=bearer(ROOT))
        assert missing.status_code == 404
        assert client.delete(path, headers=bearer(ROOT)).json() == {"revoked": 2}
    assert ALICE.id not in snapshot(sqlite_url).sessions.values()
