"""TLS to a real PostgreSQL with ``ssl=on`` and a CA the tests made: libpq's sslmode semantics.

One cluster for the module; pg_hba accepts only TLS from 127.0.0.1 (``hostssl``), and one
database only with a client certificate. A certificate that does not verify, or a URL asking
for no TLS, fails ``start()`` with one message; a database that is down still does not.
"""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, literal_column, select, text

from fastapi_better_auth import BetterAuth, BetterAuthSettings, ConfigurationError
from tests.pg import PostgresServer, free_port, running_postgres
from tests.tls import Certificates, make_ca

pytestmark = pytest.mark.anyio

#: Only this database asks for a client certificate (CN=postgres, signed by the test CA).
CERT_DB = "fba_cert"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_postgres(ca: Certificates) -> Iterator[PostgresServer]:
    with running_postgres(tls=ca) as server:
        server.psql(f"CREATE DATABASE {CERT_DB}")
        server.psql("CREATE ROLE fba_pw LOGIN PASSWORD 'right-password'")
        server.hba(
            f"hostssl {CERT_DB} all 127.0.0.1/32 cert\n"
            "hostssl all fba_pw 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all 127.0.0.1/32 trust"
        )
        yield server


def _url(
    server: PostgresServer, query: str, host: str = "127.0.0.1", db: str = "postgres"
) -> str:
    # a password the server never checks (trust): it must never appear in a message
    return f"postgresql://postgres:hunter2@{host}:{server.port}/{db}?{query}"


def _runtime(url: str, **options: Any) -> BetterAuth:
    return BetterAuth(
        BetterAuthSettings.load(
            url="http://127.0.0.1:3005", database_url=url, **options
        )
    )


ENCRYPTED: Select[Any] = (
    select(literal_column("ssl"))
    .select_from(text("pg_stat_ssl"))
    .where(text("pid = pg_backend_pid()"))
)


async def _encrypted_both_ways(auth: BetterAuth) -> None:
    """The engine's and the direct-read pool's connections both run over TLS."""
    async with auth.engine.connect() as connection:
        assert (await connection.execute(ENCRYPTED)).scalar() is True
    row = await auth.read_row(ENCRYPTED, {})
    assert row is not None and row.ssl is True


@pytest.mark.parametrize(
    ("query", "host"),
    [
        ("sslmode=require", "127.0.0.1"),
        ("sslmode=prefer", "127.0.0.1"),
        ("sslmode=verify-ca&sslrootcert={root}", "127.0.0.1"),
        ("sslmode=verify-full&sslrootcert={root}", "127.0.0.1"),
        ("sslmode=verify-full&sslrootcert={root}", "localhost"),
    ],
)
async def test_tls_modes_connect_engine_and_direct_reads_encrypted(
    tls_postgres: PostgresServer, ca: Certificates, query: str, host: str
) -> None:
    async with _runtime(_url(tls_postgres, query.format(root=ca.root), host)) as auth:
        await _encrypted_both_ways(auth)


async def test_client_certificate_with_encrypted_key(
    tls_postgres: PostgresServer, ca: Certificates
) -> None:
    query = (
        f"sslmode=verify-full&sslrootcert={ca.root}&sslcert={ca.client_cert}"
        f"&sslkey={ca.client_key}&sslpassword=pw"
    )
    async with _runtime(_url(tls_postgres, query, db=CERT_DB)) as auth:
        await _encrypted_both_ways(auth)


async def _start_fails(url: str, caplog: pytest.LogCaptureFixture) -> str:
    """The message of the ConfigurationError that ``start()`` raises for ``url``.

    One CI run saw ``start()`` pass here: the failure now names what start-up logged instead.
    A connect that timed out (a stalled machine: the check gives up after 10 s and takes the
    database for down, by design) is tried once more.
    """
    caplog.set_level(logging.DEBUG, logger="fastapi_better_auth")
    for attempt in (1, 2):
        caplog.clear()
        auth = _runtime(url)
        try:
            await auth.start()
        except ConfigurationError as error:
            message = error.message
            assert "hunter2" not in message
            assert "postgres:***@" in message
            return message
        finally:
            await auth.close()
        errors = [getattr(r, "error", None) for r in caplog.records]
        if attempt == 1 and {"TimeoutError", "CancelledError"} & set(errors):
            continue
        logged = [f"{r.getMessage()} {getattr(r, 'error', '')}" for r in caplog.records]
        pytest.fail(f"start() did not fail; it logged: {logged}")
    raise AssertionError("unreachable")


async def test_verify_full_with_another_ca_fails_start(
    tls_postgres: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = make_ca(tmp_path, "another-ca")
    message = await _start_fails(
        _url(tls_postgres, f"sslmode=verify-full&sslrootcert={other.root}"), caplog
    )
    assert message.startswith("BETTER_AUTH_DATABASE_URL")
    assert "certificate failed verification" in message
    assert "sslmode=verify-full" in message
    assert f"sslrootcert={other.root}" in message


async def test_sslmode_disable_against_hostssl_only_fails_start(
    tls_postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    message = await _start_fails(_url(tls_postgres, "sslmode=disable"), caplog)
    assert "no encryption" in message
    assert "set sslmode=require or stricter" in message


async def test_wrong_password_fails_start_without_showing_it(
    tls_postgres: PostgresServer,
) -> None:
    url = f"postgresql://fba_pw:hunter2@127.0.0.1:{tls_postgres.port}/postgres?sslmode=require"
    auth = _runtime(url)
    try:
        with pytest.raises(ConfigurationError) as info:
            await auth.start()
    finally:
        await auth.close()
    assert "refused the credentials" in info.value.message
    assert "hunter2" not in info.value.message
    assert "fba_pw:***@" in info.value.message


async def test_require_against_a_server_without_tls_fails_start(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    message = await _start_fails(_url(postgres, "sslmode=require"), caplog)
    assert "does not accept TLS" in message


async def test_database_down_still_does_not_fail_start() -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/x?sslmode=require&connect_timeout=2"
    async with _runtime(url) as auth:
        assert auth.engine is not None


async def test_a_pooler_port_without_the_setting_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _runtime("postgresql://postgres:hunter2@127.0.0.1:6543/x"):
        pass
    warned = [r for r in caplog.records if "pooler_suspected" in r.getMessage()]
    assert (
        warned and "BETTER_AUTH_DATABASE_POOLER=transaction" in warned[0].getMessage()
    )
    assert "hunter2" not in caplog.text
