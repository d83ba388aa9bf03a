"""``DATABASE_URL`` as users have it → a SQLAlchemy URL plus asyncpg's connect arguments.

Hosting providers hand out libpq URLs (``postgres://…?sslmode=require``), Prisma adds its own
parameters (``schema=``, ``pgbouncer=true``); asyncpg takes none of them as keywords, and
SQLAlchemy passes unknown query parameters straight to ``asyncpg.connect`` (a ``TypeError`` on
the first query). :func:`parse_database_url` moves every known parameter out of the URL into
asyncpg's terms, refuses an unknown one by name at startup, and is the one source of how the
engine *and* the direct-read pool connect. The mapping follows libpq, not node-postgres.
No I/O here except :meth:`DatabaseURL.connect_args` reading certificate files (TLS: :mod:`._database_tls`).
"""

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._database_tls import SSL_MODES, TLS, parse_tls
from ._database_tls import url_error as _error

_SESSION_ATTRS = ("any", "primary", "standby", "read-write", "read-only", "prefer-standby")  # fmt: skip
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
#: Query parameters SQLAlchemy's asyncpg dialect reads itself: they stay in the URL.
_SQLALCHEMY_PARAMS = ("host", "prepared_statement_cache_size")
#: Prisma's pool knobs: they size Prisma's pool, not ours, so a silent different size is refused.
_PRISMA_POOL = {
    "connection_limit": "BETTER_AUTH_DATABASE_POOL_SIZE and BETTER_AUTH_DATABASE_MAX_OVERFLOW",
    "pool_timeout": "nothing (a read waits 5 s for a pooled connection, then answers 503)",
    "socket_timeout": "nothing (connect_timeout bounds connecting)",
}
_KNOWN = (
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslnegotiation",
    "application_name", "fallback_application_name", "options", "connect_timeout",
    "target_session_attrs", "channel_binding", "schema", "pgbouncer", "uselibpqcompat",
    *_SQLALCHEMY_PARAMS,
)  # fmt: skip


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``: the only form of it in a message or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


@dataclass(frozen=True)
class DatabaseURL:
    """One parsed ``DATABASE_URL``: what SQLAlchemy gets, what asyncpg gets on top, pooler mode.

    ``sqlalchemy_url`` still holds the password: never log it (use ``redacted``).
    """

    sqlalchemy_url: str
    redacted: str
    is_asyncpg: bool = False
    tls: TLS | None = None
    server_settings: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    transaction_pooler: bool = False

    @property
    def host(self) -> str:
        """The server's host name (empty for a Unix socket or SQLite)."""
        return urlsplit(self.sqlalchemy_url).hostname or ""

    @property
    def port(self) -> int | None:
        """The server's port when the URL names one."""
        return urlsplit(self.sqlalchemy_url).port

    def connect_args(self, *, transaction_pooler: bool = False) -> dict[str, Any]:
        """asyncpg's keyword arguments (SQLAlchemy's ``connect_args``) for this URL.

        A transaction pooler (this URL's ``pgbouncer=true`` or the caller's setting) turns off
        every prepared-statement cache: the next statement may run on another server connection.

        Raises:
            ConfigurationError: a certificate or key file cannot be read.
        """
        if not self.is_asyncpg:
            return {}
        args: dict[str, Any] = dict(self.options)
        if self.tls is not None:
            args["ssl"] = self.tls.context()
        if self.server_settings:
            args["server_settings"] = dict(self.server_settings)
        if transaction_pooler or self.transaction_pooler:
            args.update(statement_cache_size=0, prepared_statement_cache_size=0)
        return args


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _error(f"{name}={value!r} is not a boolean (true or false)")


def _libpq_options(value: str) -> dict[str, str]:
    """libpq's ``options`` (``-c name=value`` or ``--name=value``, space separated) as settings."""
    settings: dict[str, str] = {}
    words = shlex.split(
        value.replace("\\ ", "\0")
    )  # libpq escapes spaces with a backslash
    words = [word.replace("\0", " ") for word in words]
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-c" and index + 1 < len(words):
            assignment, index = words[index + 1], index + 2
        elif (word.startswith("-c") and len(word) > 2) or word.startswith("--"):
            assignment, index = word[2:], index + 1
        else:
            raise _error(
                f"options={value!r}: only '-c name=value' or '--name=value' is understood"
            )
        name, sep, setting = assignment.partition("=")
        if not sep or not name:
            raise _error(f"options={value!r}: {assignment!r} is not name=value")
        settings[name.replace("-", "_")] = setting
    return settings


def _postgres(url: str) -> DatabaseURL:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if len(query) != len(parse_qsl(parts.query, keep_blank_values=True)):
        raise _error("a query parameter appears twice")
    unknown = sorted(set(query) - set(_KNOWN) - set(_PRISMA_POOL))
    if unknown:
        raise _error(
            f"unknown query parameter {', '.join(unknown)} (understood: "
            f"{', '.join(sorted(_KNOWN))})"
        )
    for name, instead in _PRISMA_POOL.items():
        if name in query:
            raise _error(
                f"{name} is Prisma's pool setting and sizes nothing here: remove it "
                f"(give this library its own URL in BETTER_AUTH_DATABASE_URL); set {instead}"
            )
    kept = {name: query.pop(name) for name in _SQLALCHEMY_PARAMS if name in query}
    tls = parse_tls(query)
    if query.pop("channel_binding", "prefer") not in ("prefer", "disable"):
        raise _error(
            "channel_binding=require cannot be honoured: asyncpg has no SCRAM channel "
            "binding. Use sslmode=verify-full (it authenticates the server by its "
            "certificate) and remove channel_binding, or set channel_binding=prefer"
        )
    _flag("uselibpqcompat", query.pop("uselibpqcompat", "true"))  # node-postgres only
    pooler = _flag("pgbouncer", query.pop("pgbouncer", "false"))
    settings = _libpq_options(query.pop("options", ""))
    schema = query.pop("schema", "")
    if schema:
        if settings.get("search_path", schema) != schema:
            raise _error("schema= and options=-c search_path=… disagree: keep one")
        settings["search_path"] = schema
    fallback = query.pop("fallback_application_name", "")
    name = query.pop("application_name", "") or fallback
    if name:
        settings["application_name"] = name
    options: dict[str, Any] = {}
    timeout = query.pop("connect_timeout", None)
    if timeout is not None:
        try:
            seconds = int(timeout)
        except ValueError:
            raise _error(f"connect_timeout={timeout!r} is not a whole number") from None
        if seconds > 0:  # libpq: 0 waits forever; asyncpg's own default (60 s) applies
            options["timeout"] = float(max(seconds, 2))  # libpq's floor
    attrs = query.pop("target_session_attrs", None)
    if attrs is not None:
        if attrs not in _SESSION_ATTRS:
            raise _error(
                f"target_session_attrs={attrs!r} is not one of {', '.join(_SESSION_ATTRS)}"
            )
        options["target_session_attrs"] = attrs
    negotiation = query.pop("sslnegotiation", None)
    if negotiation is not None:
        if negotiation not in ("postgres", "direct"):
            raise _error(f"sslnegotiation={negotiation!r} is not postgres or direct")
        if negotiation == "direct" and (tls is None or tls.mode in SSL_MODES[:3]):
            raise _error("sslnegotiation=direct needs sslmode=require or stricter")
        options["direct_tls"] = negotiation == "direct"
    if query:  # pragma: no cover  (every known name is consumed above)
        raise AssertionError(sorted(query))
    encoded = urlencode(kept, safe="/,:")
    target = f"postgresql+asyncpg://{parts.netloc}{parts.path}" + (
        f"?{encoded}" if encoded else ""
    )
    return DatabaseURL(
        target, redact(url), True, tls, settings, options, transaction_pooler=pooler
    )


def parse_database_url(url: str) -> DatabaseURL:
    """Split ``url`` (as Better-Auth's ``DATABASE_URL`` or SQLAlchemy writes it) for the engine.

    ``postgres://``, ``postgresql://`` and ``postgresql+asyncpg://`` use asyncpg, with libpq's and
    Prisma's query parameters mapped; ``sqlite://`` and ``file:`` use aiosqlite; a URL naming
    another driver is kept as it is.

    Raises:
        ConfigurationError: a query parameter is unknown, invalid or cannot be honoured.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        if url.startswith("file:"):
            return DatabaseURL(f"sqlite+aiosqlite:///{url.removeprefix('file:')}", url)
        return DatabaseURL(url, redact(url))
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return _postgres(url)
    if scheme == "sqlite":
        return DatabaseURL(f"sqlite+aiosqlite://{rest}", url)
    return DatabaseURL(url, redact(url))
