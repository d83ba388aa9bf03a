"""The hardening suite's world: one PostgreSQL database, a JWKS server that counts requests, the app over HTTP.

Fixtures here are module-scoped where the state is read-only for the tests that share it
(the attack corpus never authenticates, so it never writes), so a few hundred cases cost one
migration and one app startup.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from fastapi_better_auth._errors import ErrorCode
from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
)
from tests.helpers import SECRET, client_for, seed, settings_for
from tests.pg import PostgresServer

#: Moderate by default so the property tests stay well under 20 s; ``FUZZ_LONG=1`` runs more.
hypothesis_settings.register_profile(
    "hardening",
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile(
    "hardening-long",
    parent=hypothesis_settings.get_profile("hardening"),
    max_examples=2000,
)

ALGORITHMS = ("EdDSA", "ES256", "RS256", "PS256")
ERROR_CODES = frozenset(code.value for code in ErrorCode)


@dataclass(frozen=True)
class Keys:
    """One issuer per algorithm Better-Auth can sign with, all published by ``server``."""

    server: JWKSServer
    issuers: dict[str, TokenIssuer]

    @property
    def origin(self) -> str:
        return self.server.url

    def __getitem__(self, algorithm: str) -> TokenIssuer:
        return self.issuers[algorithm]


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    """A JWKS with an EdDSA, an ES256, an RS256 and a PS256 key, on a counting loopback server."""
    with running_jwks_server() as server:
        issuers = {alg: TokenIssuer(alg, issuer=server.url) for alg in ALGORITHMS}  # type: ignore[arg-type]
        server.serve(*(issuer.current.public_jwk() for issuer in issuers.values()))
        yield Keys(server, issuers)


@dataclass(frozen=True)
class World:
    url: str
    alice: User
    root: User
    alice_session: Session
    root_session: Session


@pytest.fixture(scope="module")
def world(postgres: PostgresServer) -> Iterator[World]:
    """A migrated database of its own: Alice (user) and Root (admin), one session each."""
    name = "h_" + secrets.token_hex(6)
    postgres.psql(f"CREATE DATABASE {name}")
    url = postgres.url(name)
    alice = make_user(name="Alice", email="alice@example.com", email_verified=True)
    root = make_user(
        name="Root", email="root@example.com", role="user,admin", email_verified=True
    )
    alice_session, root_session = make_session(alice), make_session(root)
    try:
        seed(url, alice, root, alice_session, root_session, migrate=True)
        yield World(url, alice, root, alice_session, root_session)
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def client(world: World, keys: Keys) -> Iterator[TestClient]:
    """The guarded app on ``world``, trusting every asymmetric algorithm, keys warmed at startup.

    ``jwks_min_refresh_seconds`` is an hour, so after the warm-up fetch an unknown ``kid``
    cannot make it fetch again: the JWKS server's hit count must stay where it is.
    """
    settings = settings_for(
        keys.origin,
        world.url,
        jwt_algorithms=frozenset({*ALGORITHMS, "ES512"}),
        jwks_min_refresh_seconds=3600,
    )
    with client_for(settings) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error_shape(response: Any, *statuses: int) -> dict[str, str]:
    """The documented error: one of ``statuses``, ``{"detail": {"code", "message"}}``, no traceback."""
    allowed = statuses or (401,)
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    assert response.status_code < 500 or response.status_code == 503
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail"}, body
    detail = body["detail"]
    assert isinstance(detail, dict) and set(detail) == {"code", "message"}, detail
    assert detail["code"] in ERROR_CODES
    assert isinstance(detail["message"], str) and detail["message"]
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return dict(detail)


__all__ = [
    "ALGORITHMS",
    "SECRET",
    "Keys",
    "World",
    "assert_error_shape",
    "bearer",
]


@pytest.fixture(scope="module")
def secure_client(world: World, keys: Keys) -> Iterator[TestClient]:
    """The guarded app as an https deployment sees cookies (``secure_cookies``)."""
    settings = settings_for(keys.origin, world.url, secure_cookies=True)
    with client_for(settings) as client:
        yield client
