"""``DATABASE_URL`` parsing: libpq's and Prisma's parameters become asyncpg's, unknown ones fail."""

import ssl
from pathlib import Path
from typing import Any

import pytest

from fastapi_better_auth import BetterAuthSettings, ConfigurationError
from fastapi_better_auth._database_tls import TLS
from fastapi_better_auth._database_url import parse_database_url, redact

BASE = "postgres://app:s3cret@db.example.com:5432/app"


def _args(query: str, **options: Any) -> dict[str, Any]:
    return parse_database_url(f"{BASE}?{query}").connect_args(**options)


def _refused(query: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_database_url(f"{BASE}?{query}")
    message = info.value.message
    assert message.startswith("BETTER_AUTH_DATABASE_URL: ")
    assert "s3cret" not in message
    return message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (BASE, "postgresql+asyncpg://app:s3cret@db.example.com:5432/app"),
        ("postgresql://h/d?sslmode=require", "postgresql+asyncpg://h/d"),
        ("postgresql+asyncpg://h/d?schema=x&pgbouncer=true", "postgresql+asyncpg://h/d"),
        ("postgresql:///d?host=/run/pg&sslmode=disable", "postgresql+asyncpg:///d?host=/run/pg"),
        ("postgresql://h/d?prepared_statement_cache_size=0", "postgresql+asyncpg://h/d?prepared_statement_cache_size=0"),
        ("sqlite:///x.db?mode=ro", "sqlite+aiosqlite:///x.db?mode=ro"),
        ("file:./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("mysql+aiomysql://u:p@h/d", "mysql+aiomysql://u:p@h/d"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ],
)  # fmt: skip
def test_sqlalchemy_url_keeps_only_what_sqlalchemy_reads(
    url: str, expected: str
) -> None:
    assert parse_database_url(url).sqlalchemy_url == expected


def test_settings_refuse_an_unknown_parameter_at_load() -> None:
    with pytest.raises(ConfigurationError) as info:
        BetterAuthSettings.load(url="http://x", database_url=f"{BASE}?sslmod=require")
    assert "unknown query parameter sslmod" in info.value.message
    assert "s3cret" not in info.value.message


def test_no_sslmode_keeps_asyncpgs_default_which_is_libpqs_prefer() -> None:
    assert "ssl" not in parse_database_url(BASE).connect_args()
    assert parse_database_url(BASE).tls is None


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_weak_modes_are_passed_by_name(mode: str) -> None:
    assert _args(f"sslmode={mode}")["ssl"] == mode


@pytest.mark.parametrize("mode", ["require", "no-verify"])
def test_require_encrypts_without_verifying(mode: str) -> None:
    context = _args(f"sslmode={mode}")["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_verify_modes_verify_chain_and_hostname(tmp_path: Path) -> None:
    from tests.tls import make_ca

    ca = make_ca(tmp_path)
    for mode, hostname in (
        ("verify-ca", False),
        ("verify-full", True),
        ("require", False),
    ):
        context = _args(f"sslmode={mode}&sslrootcert={ca.root}")["ssl"]
        assert (
            context.verify_mode == ssl.CERT_REQUIRED
        )  # require + a root cert: as libpq
        assert context.check_hostname is hostname
    context = _args("sslmode=verify-full&sslrootcert=system")["ssl"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    context = _args(
        f"sslmode=verify-full&sslrootcert={ca.root}&sslcert={ca.client_cert}"
        f"&sslkey={ca.client_key}&sslpassword=pw"
    )["ssl"]
    assert context.check_hostname


def test_unreadable_root_cert_fails_when_arguments_are_built(tmp_path: Path) -> None:
    url = f"{BASE}?sslmode=verify-full&sslrootcert={tmp_path / 'missing.crt'}"
    database = parse_database_url(url)  # settings load: no file read
    with pytest.raises(ConfigurationError) as info:
        database.connect_args()
    assert "sslrootcert" in info.value.message
    assert "sslmode=verify-full" in info.value.message


def test_server_settings_from_options_schema_and_application_name() -> None:
    args = _args(
        "options=-c%20search_path%3Dauth%20--statement_timeout%3D5s%20-cwork_mem%3D4MB"
        "&application_name=api&connect_timeout=1&target_session_attrs=read-write"
    )
    assert args["server_settings"] == {
        "search_path": "auth",
        "statement_timeout": "5s",
        "work_mem": "4MB",
        "application_name": "api",
    }
    assert args["timeout"] == 2.0  # libpq's floor
    assert args["target_session_attrs"] == "read-write"
    assert _args("schema=auth&fallback_application_name=x")["server_settings"] == {
        "search_path": "auth",
        "application_name": "x",
    }
    assert "timeout" not in _args("connect_timeout=0")
    assert _args("sslmode=require&sslnegotiation=direct")["direct_tls"] is True
    assert _args("sslnegotiation=postgres")["direct_tls"] is False


def test_pgbouncer_true_turns_prepared_statement_caches_off() -> None:
    assert parse_database_url(f"{BASE}?pgbouncer=true").transaction_pooler
    for args in (
        _args("pgbouncer=true"),
        _args("pgbouncer=false", transaction_pooler=True),
    ):
        assert args["statement_cache_size"] == 0
        assert args["prepared_statement_cache_size"] == 0
    assert "statement_cache_size" not in _args("pgbouncer=false")


def test_accepted_no_op_parameters() -> None:
    assert _args("channel_binding=prefer&uselibpqcompat=true") == {}
    assert _args("channel_binding=disable") == {}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("sslmode=maybe", "sslmode='maybe'"),
        ("channel_binding=require", "channel_binding=require"),
        ("connection_limit=5", "BETTER_AUTH_DATABASE_POOL_SIZE"),
        ("pool_timeout=5", "pool_timeout"),
        ("socket_timeout=5", "socket_timeout"),
        ("pgbouncer=maybe", "pgbouncer='maybe'"),
        ("sslmode=prefer&sslrootcert=/x", "sslmode=prefer never uses"),
        ("sslrootcert=/x", "need sslmode"),
        ("sslmode=require&sslkey=/k", "sslkey needs sslcert"),
        ("sslmode=require&sslrootcert=system", "sslrootcert=system"),
        ("options=-x", "options="),
        ("options=-c%20search_path", "not name=value"),
        ("schema=a&options=-c%20search_path%3Db", "disagree"),
        ("connect_timeout=soon", "connect_timeout"),
        ("target_session_attrs=primary-ish", "target_session_attrs"),
        ("sslnegotiation=fast", "sslnegotiation"),
        ("sslnegotiation=direct", "sslnegotiation=direct needs"),
        ("sslmode=require&sslmode=disable", "twice"),
        ("sslaccept=strict", "unknown query parameter sslaccept"),
    ],
)
def test_unusable_parameters_are_refused_by_name(query: str, named: str) -> None:
    assert named in _refused(query)


def test_redact_hides_only_the_password() -> None:
    assert redact(BASE) == "postgres://app:***@db.example.com:5432/app"
    assert redact("postgres://h/d") == "postgres://h/d"
    assert parse_database_url(f"{BASE}?sslmode=require").redacted.startswith(
        "postgres://app:***@"
    )


def test_tls_repr_hides_the_key_password() -> None:
    assert "pw" not in repr(TLS("require", password="pw"))
