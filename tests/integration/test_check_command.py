"""``python -m fastapi_better_auth check``: one line per check, ok and FAIL, against real parts.

PostgreSQL and SQLite are real, the JWKS is served on loopback (``TokenIssuer.serve`` and the
controllable ``JWKSServer``); no line ever holds the token, the secret or the password.
"""

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from fastapi_better_auth.__main__ import main
from fastapi_better_auth._cli import check as _checks
from fastapi_better_auth._cookies import sign_token
from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)
from tests.helpers import SECRET, seed
from tests.pg import PostgresServer

PASSWORD = "pw-never-printed-7Q"


@dataclass
class Cast:
    """Alice with a session and an expired one, and a banned user: fresh rows for each test."""

    alice: User = field(default_factory=lambda: make_user(name="Alice"))
    banned: User = field(default_factory=lambda: make_user(banned=True))
    session: Session = field(init=False)
    old_session: Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = make_session(self.alice)
        self.old_session = make_session(
            self.alice, expires_at=utcnow() - timedelta(minutes=1)
        )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BETTER_AUTH_DATABASE_URL", "DATABASE_URL", "BETTER_AUTH_URL",
                 "BETTER_AUTH_SECRET", "BETTER_AUTH_ISSUER", "BETTER_AUTH_AUDIENCE",
                 "BETTER_AUTH_JWT_ALGORITHMS", "BETTER_AUTH_SCHEMA_CHECK"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file of the repository


@pytest.fixture
def cast() -> Cast:
    return Cast()


@pytest.fixture
def cast_db(pg_url: str, cast: Cast) -> str:
    """A migrated PostgreSQL database holding the cast; its URL carries a password (the test
    server trusts everyone) that must never be printed."""
    seed(pg_url, cast.alice, cast.session, cast.banned, cast.old_session, migrate=True)
    return pg_url.replace("postgres@", f"postgres:{PASSWORD}@")


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, cast_db: str, origin: str
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("BETTER_AUTH_URL", origin)
    monkeypatch.setenv("BETTER_AUTH_DATABASE_URL", cast_db)
    monkeypatch.setenv("BETTER_AUTH_SECRET", SECRET)
    return monkeypatch


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    with running_jwks_server() as server:
        yield server


def _check(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, str]]:
    """Exit code and ``{check: "ok detail"}``; asserts nothing secret was printed."""
    code = main(["check", *args])
    out = capsys.readouterr().out
    for secret in (PASSWORD, SECRET, *args[1::2]):
        assert secret not in out, "a secret was printed"
    lines: dict[str, str] = {}
    for line in out.splitlines():
        match = re.fullmatch(r"(ok|FAIL|skip) +([a-z]+): (.*)", line)
        assert match, line
        status, name, detail = match.groups()
        lines[name] = f"{status} {detail}"
    return code, lines


def test_check_all_ok_on_postgres(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, origin: str
) -> None:
    code, lines = _check(capsys)
    assert code == 0, lines
    assert lines["settings"] == (
        f"ok BETTER_AUTH_URL={origin}, singular tables, camel columns, text ids"
    )
    assert re.fullmatch(
        r"ok postgresql\+asyncpg://postgres:\*\*\*@127\.0\.0\.1:\d+/t_\w+ answers \(\d+ ms\)",
        lines["database"],
    ), lines["database"]
    assert lines["schema"] == (
        'ok matches the settings: tables "user", "session", "account"; '
        "ids text; timestamps timestamptz"
    )
    assert lines["jwks"] == (
        f"ok {origin}/api/auth/jwks: 1 key(s) (EdDSA x1); "
        "1 usable with BETTER_AUTH_JWT_ALGORITHMS=EdDSA"
    )
    assert lines["claims"] == (
        f'ok a JWT needs iss "{origin}" (the origin of BETTER_AUTH_URL) and aud "{origin}"'
    )
    assert list(lines) == ["settings", "database", "schema", "jwks", "claims"]


def test_check_settings_fail_names_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = _check(capsys)
    assert code == 1
    assert lines == {
        "settings": "FAIL invalid settings: BETTER_AUTH_URL: Field required; "
        "BETTER_AUTH_DATABASE_URL: Field required"
    }


def test_check_database_unreachable_fails_with_redacted_url(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv(
        "BETTER_AUTH_DATABASE_URL", f"postgresql://app:{PASSWORD}@127.0.0.1:1/none"
    )
    code, lines = _check(capsys, "--token", "rawSessionToken123")
    assert code == 1
    assert lines["database"].startswith(
        "FAIL postgresql+asyncpg://app:***@127.0.0.1:1/none: "
    ), lines["database"]
    assert lines["schema"] == "skip needs the database"
    assert lines["jwks"].startswith("ok ")
    assert lines["token"] == (
        "ok a raw session token (unsigned, as the bearer plugin accepts)"
    )
    assert lines["session"] == "skip needs the database and a matching schema"


def test_check_schema_mismatch_fails_naming_the_setting(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("BETTER_AUTH_COLUMN_CASE", "snake")
    env.setenv("BETTER_AUTH_SCHEMA_CHECK", "false")  # the command checks anyway
    code, lines = _check(capsys)
    assert code == 1
    assert lines["schema"] == (
        "FAIL the database does not match the settings: "
        'table "user" has column "emailVerified", not "email_verified": '
        "set BETTER_AUTH_COLUMN_CASE=camel"
    )


def test_check_schema_ok_says_start_skips_it_when_off(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("BETTER_AUTH_SCHEMA_CHECK", "false")
    assert _check(capsys)[1]["schema"].endswith(
        "(BETTER_AUTH_SCHEMA_CHECK=false: start skips this)"
    )


def test_check_empty_database_fails_run_the_migration(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("BETTER_AUTH_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, lines = _check(capsys)
    assert code == 1
    assert lines["database"].startswith("ok sqlite+aiosqlite:///")
    assert lines["schema"] == (
        "FAIL the database does not match the settings: "
        "no Better-Auth tables (user, session, account) found: "
        "run Better-Auth's migration (npx @better-auth/cli migrate) "
        "or python -m fastapi_better_auth migrate upgrade"
    )


def test_check_sqlite_all_ok_with_a_cookie(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    user = make_user()
    session = make_session(user)
    seed(url.replace("sqlite://", "sqlite+aiosqlite://"), user, session, migrate=True)
    env.setenv("BETTER_AUTH_DATABASE_URL", url)
    name, value = session_cookie(session.token, SECRET)
    code, lines = _check(capsys, "--cookie", f"{name}={value}")
    assert code == 0, lines
    assert lines["schema"] == (
        'ok matches the settings: tables "user", "session", "account"; ids text; dates iso'
    )
    assert lines["cookie"] == "ok signature verifies with BETTER_AUTH_SECRET"
    assert lines["session"].startswith(
        f"ok user {user.id} accepted, session {session.id} expires "
    )


def test_check_jwks_http_error_fails(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    jwks_server: JWKSServer,
) -> None:
    jwks_server.status = 404
    env.setenv("BETTER_AUTH_JWKS_URL", jwks_server.jwks_url)
    code, lines = _check(capsys)
    assert code == 1
    assert lines["jwks"] == f"FAIL {jwks_server.jwks_url}: HTTP 404"


def test_check_jwks_unreachable_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("BETTER_AUTH_JWKS_URL", "http://127.0.0.1:1/api/auth/jwks")
    code, lines = _check(capsys)
    assert (code, lines["jwks"]) == (
        1,
        "FAIL http://127.0.0.1:1/api/auth/jwks: ConnectError",
    )


def test_check_jwks_without_an_allowed_algorithm_names_the_setting(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    jwks_server: JWKSServer,
) -> None:
    es256, rs256 = TokenIssuer("ES256"), TokenIssuer("RS256")
    broken = {**es256.current.public_jwk(), "kid": "broken", "x": "AAAA"}
    jwks_server.serve(es256.current.public_jwk(), rs256.current.public_jwk(), broken)
    env.setenv("BETTER_AUTH_JWKS_URL", jwks_server.jwks_url)
    code, lines = _check(capsys)
    assert code == 1
    assert lines["jwks"] == (
        f"FAIL {jwks_server.jwks_url}: 2 key(s) (ES256 x1, RS256 x1), 1 unusable skipped; "
        "none usable with BETTER_AUTH_JWT_ALGORITHMS=EdDSA: "
        "set BETTER_AUTH_JWT_ALGORITHMS=ES256,RS256"
    )


def test_check_claims_line_names_configured_issuer_and_audiences(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("BETTER_AUTH_ISSUER", "https://auth.example.com")
    env.setenv("BETTER_AUTH_AUDIENCE", "https://api.example.com,https://b.example.com")
    assert _check(capsys)[1]["claims"] == (
        'ok a JWT needs iss "https://auth.example.com" (BETTER_AUTH_ISSUER) and aud '
        '"https://api.example.com" or "https://b.example.com"'
    )


def test_check_valid_jwt_verifies_and_user_is_accepted(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    issuer: TokenIssuer,
    cast: Cast,
) -> None:
    alice = cast.alice
    code, lines = _check(capsys, "--token", issuer.mint(user_claims(alice)))
    assert code == 0, lines
    assert re.fullmatch(
        r"ok JWT signature, issuer, audience and expiry verify \(alg EdDSA, "
        rf"kid {issuer.current.kid}, sub {alice.id}, expires in \d+ s\)",
        lines["token"],
    ), lines["token"]
    assert lines["session"] == f"ok user {alice.id} accepted"


@pytest.mark.parametrize(
    ("mint", "reason"),
    [
        (lambda i: i.mint(user_claims(make_user()), issued_at=0, expires_in=60),
         r"FAIL token expired \d+ s ago"),
        (lambda i: TokenIssuer(issuer="https://evil.example").mint(
            user_claims(make_user()), key=i.current),
         r'FAIL token issuer is not trusted: iss is "https://evil.example", '
         r'the settings expect "http://127.0.0.1:\d+" \(BETTER_AUTH_URL or BETTER_AUTH_ISSUER\)'),
        (lambda i: i.mint(user_claims(make_user()), audience="https://other.example"),
         r"FAIL token audience is not accepted: aud is 'https://other.example', "
         r"the settings accept http://127.0.0.1:\d+ \(BETTER_AUTH_AUDIENCE\)"),
        (lambda i: i.forge(user_claims(make_user())),
         r"FAIL token signature is invalid \(alg EdDSA, kid \w+\)"),
    ],
    ids=["expired", "issuer", "audience", "signature"],
)  # fmt: skip
def test_check_bad_jwt_fails_with_the_reason(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    issuer: TokenIssuer,
    mint: object,
    reason: str,
) -> None:
    token = mint(issuer)  # type: ignore[operator]
    code, lines = _check(capsys, "--token", token)
    assert code == 1
    assert re.fullmatch(reason, lines["token"]), lines["token"]
    assert "session" not in lines


def test_check_jwt_of_banned_user_fails_at_session(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    issuer: TokenIssuer,
    cast: Cast,
) -> None:
    code, lines = _check(capsys, "--token", issuer.mint(user_claims(cast.banned)))
    assert code == 1
    assert lines["token"].startswith("ok JWT signature")
    assert lines["session"] == "FAIL USER_BANNED: The user is banned."


def test_check_signed_session_token_verifies_and_session_exists(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, cast: Cast
) -> None:
    code, lines = _check(capsys, "--token", sign_token(cast.session.token, SECRET))
    assert code == 0, lines
    assert lines["token"] == "ok signature verifies with BETTER_AUTH_SECRET"
    assert lines["session"].startswith(
        f"ok user {cast.alice.id} accepted, session {cast.session.id} expires 20"
    )


def test_check_session_token_signed_with_another_secret_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, cast: Cast
) -> None:
    signed = sign_token(cast.session.token, "another-secret-of-32-characters-xx")
    code, lines = _check(capsys, "--token", signed)
    assert code == 1
    assert lines["token"] == (
        "FAIL the signature does not verify with BETTER_AUTH_SECRET "
        "(a different secret than Better-Auth's, or an altered value)"
    )
    assert "session" not in lines


def test_check_signed_token_without_secret_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, cast: Cast
) -> None:
    env.delenv("BETTER_AUTH_SECRET")
    _, value = session_cookie(cast.session.token, SECRET)
    code, lines = _check(capsys, "--cookie", value)
    assert code == 1
    assert lines["cookie"] == (
        "FAIL signed, but BETTER_AUTH_SECRET is not set to verify it"
    )


def test_check_garbage_credential_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    code, lines = _check(capsys, "--token", "not a token!")
    assert code == 1
    assert lines["token"] == (
        "FAIL neither a JWT nor a signed session token (token.signature)"
    )


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("expired", "FAIL SESSION_EXPIRED: The session has expired."),
        ("noSuchSessionToken0123456789abcd",
         "FAIL INVALID_SESSION: The session does not exist or was revoked."),
    ],
    ids=["expired", "unknown"],
)  # fmt: skip
def test_check_raw_session_token_session_problems_fail(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    cast: Cast,
    token: str,
    reason: str,
) -> None:
    if token == "expired":
        token = cast.old_session.token
    code, lines = _check(capsys, "--token", token)
    assert code == 1
    assert lines["token"].startswith("ok a raw session token")
    assert lines["session"] == reason


def test_check_session_skipped_when_schema_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, cast: Cast
) -> None:
    env.setenv("BETTER_AUTH_USE_PLURAL", "true")
    code, lines = _check(capsys, "--token", cast.session.token)
    assert code == 1
    assert lines["schema"].startswith("FAIL the database does not match")
    assert lines["session"] == "skip needs the database and a matching schema"


def test_check_settings_line_shows_renamed_models_and_fields(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    env.setenv("BETTER_AUTH_MODEL_NAMES", '{"user": "users"}')
    env.setenv("BETTER_AUTH_FIELD_NAMES", '{"user": {"name": "full_name"}}')
    code, lines = _check(capsys)
    assert lines["settings"].endswith(
        "singular tables, camel columns, text ids, "
        "model names {'user': 'users'}, field names set"
    )
    assert (code, lines["schema"][:4]) == (1, "FAIL")


def test_check_malformed_jwt_fails(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch
) -> None:
    code, lines = _check(capsys, "--token", "eyJhbGciOi.not-base64!.x")
    assert (code, lines["token"]) == (1, "FAIL token is malformed")


def test_check_catalog_not_readable_fails_schema(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    postgres: PostgresServer,
    pg_url: str,
) -> None:
    role = "reader_" + secrets.token_hex(4)
    database = pg_url.rsplit("/", 1)[1]
    postgres.psql(f"CREATE ROLE {role} LOGIN")
    postgres.psql("REVOKE SELECT ON pg_catalog.pg_attribute FROM PUBLIC", database)
    env.setenv("BETTER_AUTH_DATABASE_URL", pg_url.replace("postgres@", f"{role}@"))
    try:
        code, lines = _check(capsys)
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        postgres.psql(f"DROP ROLE {role}")
    assert code == 1
    assert lines["database"].startswith("ok ")
    assert lines["schema"] == (
        "FAIL InsufficientPrivilegeError: permission denied for table pg_attribute"
    )


def test_check_other_database_kinds_skip_the_schema(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No MySQL here: the catalog reader's refusal stands in for one."""

    async def refuse(*_args: object, **_kwargs: object) -> None:
        raise ValueError("schema check does not support mysql")

    monkeypatch.setattr(_checks, "check_schema", refuse)
    code, lines = _check(capsys)
    assert (code, lines["schema"]) == (0, "skip schema check does not support mysql")


def test_python_m_check_prints_only_its_lines(tmp_path: Path) -> None:
    """As a process: the library's own warnings (JWKS fetch failed…) do not repeat the lines on stderr."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BETTER_AUTH_")},
        "BETTER_AUTH_URL": "http://127.0.0.1:1",
        "BETTER_AUTH_DATABASE_URL": f"postgresql://app:{PASSWORD}@127.0.0.1:1/app",
    }
    done = subprocess.run(
        [sys.executable, "-m", "fastapi_better_auth", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ""
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [
        "ok   settings",
        "FAIL database",
        "skip schema",
        "FAIL jwks",
        "ok   claims",
    ]
    assert PASSWORD not in done.stdout


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (f"mysql://app:{PASSWORD}@127.0.0.1/app",
         "FAIL mysql://app:***@127.0.0.1/app: ModuleNotFoundError: No module named 'MySQLdb'"),
        ("not a url",
         "FAIL the database URL (unreadable): ArgumentError: Could not parse SQLAlchemy "
         "URL from given URL string"),
    ],
    ids=["no-driver", "unreadable"],
)  # fmt: skip
def test_check_database_without_an_engine_fails_and_goes_on(
    capsys: pytest.CaptureFixture[str], env: pytest.MonkeyPatch, url: str, line: str
) -> None:
    env.setenv("BETTER_AUTH_DATABASE_URL", url)
    code, lines = _check(capsys, "--token", "rawSessionToken123")
    assert code == 1
    assert lines["database"] == line
    assert lines["schema"] == "skip needs the database"
    assert lines["jwks"].startswith("ok ")
    assert lines["token"] == "skip needs a database engine"


def test_check_jwks_url_is_shown_without_credentials(
    capsys: pytest.CaptureFixture[str],
    env: pytest.MonkeyPatch,
    jwks_server: JWKSServer,
) -> None:
    jwks_server.status = 500
    env.setenv(
        "BETTER_AUTH_JWKS_URL",
        jwks_server.jwks_url.replace("http://", f"http://u:{PASSWORD}@") + "?k=v",
    )
    assert _check(capsys)[1]["jwks"] == f"FAIL {jwks_server.jwks_url}: HTTP 500"
