"""How settings values are read: list variables, checked URLs and algorithms, one error message.

``BetterAuthSettings`` declares the fields; the rules that turn ``a,b`` or ``["a", "b"]`` from
the environment into sets, refuse a URL or algorithm that cannot work, and name the variables of
a failed validation live here, as plain functions its validators call, so each is testable alone.
"""

import difflib
import json
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from pydantic_settings import NoDecode

from ._database_url import parse_database_url

ENV_PREFIX = "BETTER_AUTH_"

#: A set setting read from the environment as ``a,b`` or a JSON list (see :func:`split_list`).
StrSet = Annotated[frozenset[str], NoDecode]

#: Asymmetric algorithms Better-Auth's jwt plugin can sign with; ``Ed25519`` is a newer name of EdDSA.
SUPPORTED_ALGORITHMS = frozenset(
    {"EdDSA", "Ed25519", "ES256", "ES512", "RS256", "PS256"}
)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no path, no trailing slash."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def async_database_url(url: str) -> str:
    """The SQLAlchemy async URL for a URL as Better-Auth's ``DATABASE_URL`` writes it.

    ``postgres://`` and ``postgresql://`` use asyncpg (libpq's query parameters move to
    asyncpg's connect arguments); ``sqlite://`` and ``file:`` use aiosqlite; a URL that already
    names another driver is kept.
    """
    return parse_database_url(url).sqlalchemy_url


def split_headers(value: Any) -> Any:
    """``x-api-key,x-key`` or a JSON list, in order, lower-cased (headers are case-blind)."""
    if isinstance(value, str):
        text = value.strip()
        parts = json.loads(text) if text.startswith("[") else text.split(",")
        value = [str(part).strip() for part in parts if str(part).strip()]
    if not value:
        raise ValueError("name at least one header")
    return tuple(str(part).lower() for part in value)


def split_list(value: Any) -> Any:
    """Accept ``a,b`` and ``["a", "b"]`` from the environment as well as Python sets."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return frozenset(json.loads(text))
        return frozenset(part.strip() for part in text.split(",") if part.strip())
    return value


def only_asymmetric(value: frozenset[str]) -> frozenset[str]:
    """Refuse an empty set or an algorithm Better-Auth cannot sign with."""
    unknown = value - SUPPORTED_ALGORITHMS
    if unknown or not value:
        raise ValueError(
            f"supported algorithms are {', '.join(sorted(SUPPORTED_ALGORITHMS))}"
        )
    return value


def check_database_url(value: SecretStr) -> SecretStr:
    """Refuse an unknown or unusable URL parameter now, not on the first query."""
    parse_database_url(value.get_secret_value())  # raises ConfigurationError
    return value


def check_optional_database_url(value: SecretStr | None) -> SecretStr | None:
    """:func:`check_database_url` for a URL that may be left unset."""
    return None if value is None else check_database_url(value)


def check_redis_url(value: SecretStr | None) -> SecretStr | None:
    """Refuse a URL redis-py cannot open now, naming the scheme only (never the password)."""
    if value is None:
        return None
    scheme = urlsplit(value.get_secret_value()).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"scheme {scheme!r} is not redis://, rediss:// or unix://")
    return value


def describe_problems(exc: ValidationError) -> str:
    """One message naming each invalid or missing variable and what is wrong with it."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        # a missing aliased field is reported under its first alias, already prefixed
        variable = (
            "BETTER_AUTH_DATABASE_URL"
            if field in {"database_url", "BETTER_AUTH_DATABASE_URL"}
            else ENV_PREFIX + field.upper()
        )
        problems.append(f"{variable}: {error['msg']}")
    return "invalid settings: " + "; ".join(problems)


#: The names ``database_url`` is also read under (environment or keyword), Better-Auth's first.
DATABASE_URL_ALIASES = ("BETTER_AUTH_DATABASE_URL", "DATABASE_URL")


def unknown_keywords(given: Iterable[str], known: Iterable[str]) -> str | None:
    """The message for keywords that are no setting (a typo must not pass silently), or None.

    Names starting with ``_`` are pydantic-settings' own (``_env_file``…).
    """
    names = set(known)
    unknown = sorted(k for k in given if not k.startswith("_") and k not in names)
    if not unknown:
        return None
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        described.append(
            f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
        )
    return (
        f"unknown setting {', '.join(described)}: "
        "BetterAuthSettings takes the names of docs/configuration.md"
    )
