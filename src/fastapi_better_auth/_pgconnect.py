"""How the library reaches PostgreSQL through asyncpg, and the start-up check of that path.

The engine and the direct-read pool connect with the same arguments (:func:`connect_params`).
At start, :func:`check_connection` opens one connection with them: a database that is down
is only logged (requests answer 503 until it is back), but what a configuration change must
fix fails start with one :class:`ConfigurationError` — a certificate that does not verify,
a server refusing the TLS mode or the credentials, and a transaction pooler (PgBouncer < 1.21)
in front of a runtime that still caches prepared statements, which would otherwise fail
requests at random with "prepared statement … does not exist".
"""

import asyncio
import logging
import ssl
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import URL

from ._database_tls import VARIABLE
from ._database_url import DatabaseURL
from ._errors import ConfigurationError

logger = logging.getLogger(__name__)

#: Keyword arguments SQLAlchemy's asyncpg dialect consumes itself instead of passing to asyncpg.
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func",
                 "async_creator_fn")  # fmt: skip
POOLER_SETTING = "BETTER_AUTH_DATABASE_POOLER=transaction"
#: How long the check waits for the database (connecting, then the pooler probe).
CHECK_TIMEOUT = 10.0
PROBE_TIMEOUT = 2.0


def connect_params(
    dialect: Dialect, url: URL, connect_args: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any], int]:
    """``asyncpg.connect``'s arguments for ``url`` as the engine makes them, and the cache size.

    ``connect_args`` win over the URL's, as in SQLAlchemy's own ``create_engine``.
    """
    args, options = dialect.create_connect_args(url)
    merged = {**options, **connect_args}
    cache_size = merged.get("statement_cache_size")
    if cache_size is None:
        cache_size = merged.get("prepared_statement_cache_size", 100)
    for name in (*_DIALECT_ONLY, "statement_cache_size"):
        merged.pop(name, None)
    return list(args), merged, int(cache_size or 0)


def looks_pooled(database: DatabaseURL) -> bool:
    """Whether the host or port is a known transaction pooler's (Supabase 6543, Neon ``-pooler``)."""
    return database.port == 6543 or "pooler" in database.host


def _misconfigured(exc: BaseException, database: DatabaseURL) -> str | None:
    """What to change when connecting failed because of the configuration, else None."""
    import asyncpg  # type: ignore[import-untyped]  # an optional extra: only when used

    tls = database.tls
    mode = tls.mode if tls is not None else "prefer (the default)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        root = tls.rootcert if tls is not None and tls.rootcert else "the system's CAs"
        return (
            f"the server's certificate failed verification ({exc.verify_message}) with "
            f"sslmode={mode} and sslrootcert={root}: point sslrootcert at the CA that "
            "signed the server's certificate, or use the host name the certificate names"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the server failed ({exc.reason or exc}) with sslmode={mode}"
    if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc):
        return (
            f"the server does not accept TLS but sslmode={mode} requires it: enable ssl "
            "on the server or lower sslmode"
        )
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"the server refused the credentials: {exc}"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        hint = (
            " (the server accepts only encrypted connections: set sslmode=require or stricter)"
            if "no encryption" in str(exc)
            else ""
        )
        return f"the server refused the connection with sslmode={mode}: {exc}{hint}"
    if isinstance(exc, asyncpg.PostgresError) and "startup parameter" in str(exc):
        return (
            f"{exc}: a pooler refuses options=/schema=/application_name in the URL; "
            "set them on the database role instead (ALTER ROLE … SET search_path …)"
        )
    return None


async def check_connection(
    params: tuple[list[Any], dict[str, Any], int],
    database: DatabaseURL,
    *,
    transaction_pooler: bool,
) -> bool:
    """Connect once as the runtime will; False (logged) when the database is unreachable.

    Raises:
        ConfigurationError: TLS, credentials or a transaction pooler need a setting changed.
    """
    import asyncpg

    args, options, cache_size = params
    connect = {**options, "statement_cache_size": cache_size}
    try:
        first = await asyncio.wait_for(asyncpg.connect(*args, **connect), CHECK_TIMEOUT)
    except Exception as exc:
        problem = _misconfigured(exc, database)
        if problem is not None:
            raise ConfigurationError(
                f"{VARIABLE} ({database.redacted}): {problem}"
            ) from None
        logger.warning(
            "better_auth.database_unavailable", extra={"error": type(exc).__name__}
        )
        return False
    try:
        if not transaction_pooler:  # SQLAlchemy names its statements even uncached
            await _probe_pooler(first, args, connect, database)
    finally:
        first.terminate()
    return True


async def within(step: Any, seconds: float, *close: Any) -> tuple[bool, Any]:
    """``(True, result)`` when ``step`` ends within ``seconds``; else ``(False, None)``, after
    closing the ``close`` connections (a queued query then ends with its connection).

    Never a cancellation: asyncpg answers a cancelled query with a cancel request, and
    PgBouncer 1.18 dies (``bad client state``) when one races its client's disconnect; the
    probe's old timeout did that to a pool of one server connection (seen in CI, and
    tests/integration/test_pgbouncer.py pins that no cancel request is sent). The push
    listener's health check is bounded the same way: it is there to catch a pooler.
    """
    task = asyncio.ensure_future(step)
    await asyncio.wait({task}, timeout=seconds)
    if task.done():
        return True, task.result()
    if close:
        for connection in close:
            connection.terminate()  # a socket close: no cancel request
        await asyncio.wait({task}, timeout=PROBE_TIMEOUT)
        if task.done() and not task.cancelled():
            task.exception()  # the closed connection's error: expected, retrieved
    return False, None


async def _probe_pooler(
    first: Any, args: list[Any], connect: dict[str, Any], database: DatabaseURL
) -> None:
    """Fail start when a prepared statement does not survive to the next transaction.

    The server connection ``first`` just used is held in a transaction by a second client
    connection, then ``first`` runs its prepared statement again: on PostgreSQL, or behind a
    session pooler, it runs on its own server connection; behind PgBouncer < 1.21 in
    transaction mode it reaches another one, which never saw the statement. Behind a pool of
    one server connection it waits: the second connection's transaction then ends, and the
    statement runs where it was prepared (inconclusive, and harmless).
    """
    import asyncpg

    try:
        done, statement = await within(
            first.prepare("SELECT pg_backend_pid()", name="__fba_probe__"),
            CHECK_TIMEOUT,
            first,
        )
        if done:
            done, pid = await within(statement.fetchval(), CHECK_TIMEOUT, first)
        if not done:
            return
        second = await asyncio.wait_for(
            asyncpg.connect(*args, **connect), CHECK_TIMEOUT
        )
    except Exception:  # a connection limit, a pool busy now: say nothing
        return
    try:
        done, _ = await within(_begin(second), CHECK_TIMEOUT, second)
        if not done:
            return
        again_task = asyncio.ensure_future(statement.fetchval())
        done, again = await within(again_task, PROBE_TIMEOUT)
        if not done:  # queued behind `second`: free the one server connection
            await within(second.execute("ROLLBACK"), CHECK_TIMEOUT, second)
            done, again = await within(again_task, CHECK_TIMEOUT, first)
            if not done:
                return
    except asyncpg.InvalidSQLStatementNameError:
        raise ConfigurationError(
            f"{VARIABLE} ({database.redacted}) reaches PostgreSQL through a transaction "
            "pooler that does not keep prepared statements (PgBouncer < 1.21 in "
            f"pool_mode=transaction): set {POOLER_SETTING} (or add pgbouncer=true to the URL)"
        ) from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return  # inconclusive
    finally:
        second.terminate()
    if again != pid:
        logger.info(
            "better_auth.transaction_pooler",
            extra={"detail": "prepared statements survive: the pooler keeps them"},
        )


async def _begin(connection: Any) -> None:
    """Open a transaction on ``connection`` and use it: the pooler now holds a server for it."""
    await connection.execute("BEGIN")
    await connection.fetchval("SELECT 1")
