"""Settings: where Better-Auth lives and how far to trust it, read from ``BETTER_AUTH_*``.

Read at startup (never at import), so a missing or invalid variable becomes a
:class:`ConfigurationError` that names it before the first request.
"""

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from . import _settings_parsing as parsing
from ._errors import ConfigurationError
from ._naming import SchemaNaming

# re-exported: imported from here by the schema check and the tests
from ._settings_parsing import SUPPORTED_ALGORITHMS as SUPPORTED_ALGORITHMS
from ._settings_parsing import StrSet
from ._settings_parsing import async_database_url as async_database_url
from ._user_fields import FieldType


class BetterAuthSettings(BaseSettings):
    """Where Better-Auth lives, how to reach its database, and how far to trust its credentials.

    Every field reads ``BETTER_AUTH_<FIELD>`` from the environment (or a ``.env`` file);
    keyword arguments win over the environment. Durations are seconds.
    """

    model_config = SettingsConfigDict(
        env_prefix=parsing.ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    url: AnyHttpUrl = Field(
        description="Better-Auth's base URL, as its own BETTER_AUTH_URL."
    )
    secret: SecretStr | None = Field(
        default=None,
        description="Better-Auth's BETTER_AUTH_SECRET: verifies signed session cookies and tokens.",
    )
    database_url: SecretStr = Field(
        validation_alias=AliasChoices(*parsing.DATABASE_URL_ALIASES, "database_url"),
        description="The database Better-Auth writes to (postgres://… or sqlite:///…).",
    )
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    database_direct_reads: bool = Field(
        default=True,
        description=(
            "On PostgreSQL (asyncpg), run the per-request user/session reads on a separate "
            "asyncpg pool of up to database_pool_size connections, skipping SQLAlchemy's pool."
        ),
    )
    database_pooler: Literal["none", "transaction"] = Field(
        default="none",
        description=(
            '"transaction" behind a pooler in transaction mode (PgBouncer < 1.21, Supabase '
            "port 6543): no prepared statement outlives its statement. The URL's "
            "pgbouncer=true means the same."
        ),
    )
    schema_check: bool = Field(
        default=True,
        description=(
            "At start, compare the database's tables and columns with the naming settings "
            "and fail with the setting to change; false skips it (a search_path set per "
            "request, or a schema the check misreads)."
        ),
    )

    redis_url: SecretStr | None = Field(
        default=None,
        description=(
            "The Redis of Better-Auth's secondaryStorage (redis://, rediss:// or unix://): "
            "sessions are then read and revoked there. Needs the [redis] extra."
        ),
    )
    redis_key_prefix: str = Field(
        default="",
        description="A prefix your secondaryStorage wrapper puts before every key.",
    )
    store_session_in_database: bool = Field(
        default=False,
        description=(
            "Better-Auth's session.storeSessionInDatabase: a token Redis does not hold is "
            "looked up in the session table. Leave false with preserveSessionInDatabase."
        ),
    )

    jwks_url: AnyHttpUrl | None = Field(
        default=None, description="Overrides url + jwks_path."
    )
    jwks_path: str = "/api/auth/jwks"
    issuer: str | None = Field(
        default=None, description="Expected `iss`; default: the origin of url."
    )
    audience: StrSet | None = Field(
        default=None, description="Accepted `aud` values; default: the origin of url."
    )
    jwt_algorithms: StrSet = frozenset({"EdDSA"})
    jwt_leeway_seconds: float = Field(default=5.0, ge=0, le=300)
    jwt_max_lifetime_seconds: float = Field(default=900.0, gt=0)
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_cache_seconds: float = Field(default=60.0, ge=0)
    jwks_max_cache_seconds: float = Field(default=86_400.0, gt=0)
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    jwks_cold_retry_seconds: float = Field(default=2.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    jwks_max_bytes: int = Field(default=65_536, gt=0)
    jwks_max_keys: int = Field(default=32, gt=0)

    freshness: Literal["always", "cached", "never", "push"] = Field(
        default="always",
        description=(
            'How fresh the user and session rows must be: read on every request ("always"), '
            'at most every freshness_cache_seconds ("cached"), never ("never"), or cached until '
            'PostgreSQL or Redis says they changed ("push": run `migrate notify` first).'
        ),
    )
    freshness_cache_seconds: float = Field(default=5.0, ge=0)
    freshness_cache_size: int = Field(
        default=10_000,
        gt=0,
        description=(
            '"cached" and "push": the most identities kept per process, of JWTs and of session '
            "tokens each (about 2 KB each); the least recently used is dropped first."
        ),
    )
    listen_database_url: SecretStr | None = Field(
        default=None,
        description=(
            "freshness=push only: a direct PostgreSQL URL to LISTEN on when database_url "
            "goes through a transaction pooler; default: database_url."
        ),
    )

    cookie_prefix: str = "better-auth"
    secure_cookies: bool | None = Field(
        default=None,
        description=(
            "Better-Auth's advanced.useSecureCookies: the session cookie is read under its "
            "__Secure- name only. Default: whether url is https, as Better-Auth decides."
        ),
    )
    trusted_origins: StrSet = frozenset()

    admin_roles: StrSet = frozenset({"admin"})
    admin_user_ids: StrSet = frozenset()
    default_role: str = "user"
    allowed_roles: StrSet | None = None
    max_page_size: int = Field(default=100, gt=0, le=1000)

    use_plural: bool = False
    column_case: Literal["camel", "snake"] = "camel"
    model_names: dict[str, str] = Field(default_factory=dict)
    field_names: dict[str, dict[str, str]] = Field(default_factory=dict)
    id_type: Literal["text", "uuid", "serial"] = Field(
        default="text",
        description='"uuid" or "serial" when Better-Auth runs with '
        'advanced.database.generateId: "uuid" or "serial".',
    )
    sqlite_dates: Literal["iso", "epoch_ms"] = Field(
        default="iso",
        description='How dates are stored on SQLite: "iso" text (Kysely, Prisma driver '
        'adapters) or "epoch_ms" integers (Drizzle, Prisma\'s own SQLite engine).',
    )
    user_fields: dict[str, FieldType] = Field(
        default_factory=dict,
        description=(
            'Extra user columns to read, in Better-Auth\'s field names and types: {"plan": '
            '"string", "twoFactorEnabled": "boolean"} (string, number, boolean, date, '
            "string[], number[]). Or pass user_model= a subclass of AuthenticatedUser."
        ),
    )

    # API keys (@better-auth/api-key), read by fastapi_better_auth.api_keys
    api_key_headers: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("x-api-key",),
        description="The plugin's apiKeyHeaders: headers read in order, the first one sent wins.",
    )
    api_key_hashing: bool = Field(
        default=True,
        description="False when the plugin runs with disableKeyHashing: true.",
    )
    api_key_min_length: int = Field(
        default=64,
        ge=1,
        description="The plugin's defaultKeyLength: shorter keys are refused unread.",
    )
    api_key_config_id: str | None = Field(
        default=None,
        description="Accept only keys of this configId (multi-configuration setups).",
    )
    api_key_rate_limit: bool = Field(
        default=True,
        description="False when the plugin runs with rateLimit.enabled: false.",
    )

    # the rules live in _settings_parsing, as plain functions
    _split_headers = field_validator("api_key_headers", mode="before")(
        parsing.split_headers
    )
    _split_list = field_validator(
        "audience",
        "jwt_algorithms",
        "trusted_origins",
        "admin_roles",
        "admin_user_ids",
        "allowed_roles",
        mode="before",
    )(parsing.split_list)
    _only_asymmetric = field_validator("jwt_algorithms")(parsing.only_asymmetric)
    _parse_database_url = field_validator("database_url")(parsing.check_database_url)
    _parse_listen_url = field_validator("listen_database_url")(
        parsing.check_optional_database_url
    )
    _redis_scheme = field_validator("redis_url")(parsing.check_redis_url)

    @model_validator(mode="after")
    def _check_naming(self) -> "BetterAuthSettings":
        self.naming  # noqa: B018  (raises on an unknown model name)
        return self

    def __init__(self, **values: Any) -> None:
        """Refuse a keyword that is no setting (the environment's other variables are ignored).

        Raises:
            ConfigurationError: a keyword names no setting.
        """
        fields = type(self).model_fields
        known = {*fields, *parsing.DATABASE_URL_ALIASES}
        if message := parsing.unknown_keywords(values, known):
            raise ConfigurationError(message)
        super().__init__(**values)

    @classmethod
    def load(cls, **overrides: Any) -> "BetterAuthSettings":
        """Read the settings, turning validation errors into one message naming the variables.

        Raises:
            ConfigurationError: a variable is missing or invalid.
        """
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigurationError(parsing.describe_problems(exc)) from None

    @property
    def origin(self) -> str:
        """The origin of ``url`` (no path, no trailing slash): what Better-Auth signs as iss/aud."""
        return parsing.origin(str(self.url))

    @property
    def expected_issuer(self) -> str:
        """The ``iss`` a token must carry."""
        return self.issuer or self.origin

    @property
    def expected_audiences(self) -> frozenset[str]:
        """The ``aud`` values a token may carry (any one suffices)."""
        return self.audience or frozenset({self.origin})

    @property
    def resolved_jwks_url(self) -> str:
        """Where Better-Auth publishes its keys."""
        if self.jwks_url is not None:
            return str(self.jwks_url)
        return str(self.url).rstrip("/") + "/" + self.jwks_path.lstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL of ``database_url``."""
        return parsing.async_database_url(self.database_url.get_secret_value())

    @property
    def session_cookie_name(self) -> str:
        """The one session cookie name Better-Auth sets, and so the only one read."""
        secure = self.secure_cookies
        if secure is None:
            secure = str(self.url).startswith("https://")
        return f"{'__Secure-' if secure else ''}{self.cookie_prefix}.session_token"

    @property
    def all_trusted_origins(self) -> frozenset[str]:
        """Origins allowed to send cookie-authenticated unsafe requests: url's own and the configured ones."""
        return frozenset({self.origin}) | frozenset(
            origin.rstrip("/") for origin in self.trusted_origins
        )

    @property
    def naming(self) -> SchemaNaming:
        """The schema naming these settings describe."""
        return SchemaNaming.from_mappings(
            use_plural=self.use_plural,
            column_case=self.column_case,
            model_names=self.model_names,
            field_names=self.field_names,
            id_type=self.id_type,
            sqlite_dates=self.sqlite_dates,
        )
