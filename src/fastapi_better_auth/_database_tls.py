"""libpq's TLS parameters (``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``) → asyncpg's ``ssl``.

Parsed with the rest of ``DATABASE_URL`` by :func:`~fastapi_better_auth._database_url.parse_database_url`
(:func:`parse_tls`); the certificate files are read only when the connect arguments are built
(:meth:`TLS.context`), so loading the settings does no I/O. The rules follow libpq.
"""

import ssl
from dataclasses import dataclass, field

from ._errors import ConfigurationError

__all__ = ["SSL_MODES", "TLS", "VARIABLE", "parse_tls", "url_error"]

VARIABLE = "BETTER_AUTH_DATABASE_URL"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: node-postgres' name for "encrypt, do not verify": libpq's ``require`` without a root cert.
_NODE_SSL_MODES = {"no-verify": "require"}


def url_error(problem: str) -> ConfigurationError:
    """A ``BETTER_AUTH_DATABASE_URL: …`` error; the URL itself is never in it."""
    return ConfigurationError(f"{VARIABLE}: {problem}")


@dataclass(frozen=True)
class TLS:
    """libpq's TLS parameters of one URL (file paths are read when connect arguments are built)."""

    mode: str
    rootcert: str | None = None
    cert: str | None = None
    key: str | None = None
    password: str | None = field(default=None, repr=False)

    def context(self) -> ssl.SSLContext | str:
        """asyncpg's ``ssl`` argument: a mode name asyncpg handles, or a context built like libpq's.

        ``require`` encrypts without verifying (unless ``sslrootcert`` is given: then, as libpq,
        it verifies the chain); ``verify-ca`` verifies the chain; ``verify-full`` the hostname too.

        Raises:
            ConfigurationError: a certificate or key file cannot be read.
        """
        if self.mode in ("disable", "allow", "prefer"):
            return self.mode
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.mode == "verify-full"
        verify = self.mode != "require" or self.rootcert is not None
        context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
        try:
            if verify and self.rootcert in (None, "system"):
                context.load_default_certs()  # libpq's sslrootcert=system: the OS's CAs
            elif verify:
                context.load_verify_locations(cafile=self.rootcert)
            if self.cert is not None:
                context.load_cert_chain(
                    self.cert, keyfile=self.key, password=self.password
                )
        except (OSError, ssl.SSLError) as exc:
            names = "sslrootcert" if self.cert is None else "sslrootcert/sslcert/sslkey"
            raise url_error(
                f"cannot load {names} for sslmode={self.mode}: {type(exc).__name__}: "
                f"{exc.strerror or exc}"
            ) from None
        return context


def parse_tls(query: dict[str, str]) -> TLS | None:
    """Take the TLS parameters out of ``query``; None when ``sslmode`` is not given (libpq's ``prefer``)."""
    files = {
        name: query.pop(name, None) for name in ("sslrootcert", "sslcert", "sslkey")
    }
    password = query.pop("sslpassword", None)
    raw = query.pop("sslmode", None)
    if raw is None:
        if any(files.values()):
            # libpq's default is prefer, which never uses these: say so instead of ignoring them
            raise url_error(
                "sslrootcert/sslcert/sslkey need sslmode=require, verify-ca or verify-full"
            )
        return None  # asyncpg's default is libpq's: prefer (and PGSSLMODE is honoured)
    mode = _NODE_SSL_MODES.get(raw, raw)
    if mode not in SSL_MODES:
        raise url_error(f"sslmode={raw!r} is not one of {', '.join(SSL_MODES)}")
    if mode in ("disable", "allow", "prefer") and any(files.values()):
        raise url_error(
            f"sslmode={mode} never uses sslrootcert/sslcert/sslkey: use sslmode=verify-full"
        )
    if files["sslrootcert"] == "system" and mode != "verify-full":
        raise url_error("sslrootcert=system needs sslmode=verify-full (as in libpq)")
    if files["sslkey"] and not files["sslcert"]:
        raise url_error("sslkey needs sslcert")
    return TLS(mode, files["sslrootcert"], files["sslcert"], files["sslkey"], password)
