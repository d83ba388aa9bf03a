"""Physical table and column names of a Better-Auth database, as its configuration makes them.

Better-Auth names tables after its models (``user``, ``session``…), optionally pluralised
(``usePlural``) or renamed (``modelName``), and columns after its camelCase fields, optionally
renamed one by one (``fields``). :class:`SchemaNaming` answers "what is this called in SQL?"
for any of those setups; ``models`` builds its tables through it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MODELS = ("user", "session", "account", "verification", "jwks", "apikey")

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: The text form of a PostgreSQL ``uuid`` (what ``gen_random_uuid()`` and Better-Auth produce).
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def to_snake(name: str) -> str:
    """``emailVerified`` → ``email_verified``: the usual ``fields`` mapping of snake_case setups."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def to_camel(name: str) -> str:
    """``email_verified`` → ``emailVerified``: Better-Auth's field name of a Python attribute."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True)
class SchemaNaming:
    """How a Better-Auth configuration names its tables and columns.

    The defaults are Better-Auth's own: singular tables and camelCase columns.

    Attributes:
        use_plural: Better-Auth's adapter option ``usePlural``: an ``s`` is appended to
            every table name (after a custom model name).
        column_case: ``"snake"`` maps every field to snake_case, the shortcut for a
            ``fields`` mapping that renames them all.
        model_names: ``{"user": "users"}``, as Better-Auth's ``user.modelName``.
        field_names: ``{"user": {"emailVerified": "email_verified"}}``, as Better-Auth's
            ``user.fields``; wins over ``column_case``.
        id_type: ``"uuid"`` for Better-Auth's ``advanced.database.generateId: "uuid"``:
            ids and ``userId`` columns are PostgreSQL ``uuid`` (text elsewhere), handled
            as strings in Python; an id that is no UUID matches nothing.
    """

    use_plural: bool = False
    column_case: Literal["camel", "snake"] = "camel"
    model_names: tuple[tuple[str, str], ...] = ()
    field_names: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = field(default=())
    id_type: Literal["text", "uuid"] = "text"

    @classmethod
    def from_mappings(
        cls,
        *,
        use_plural: bool = False,
        column_case: Literal["camel", "snake"] = "camel",
        model_names: Mapping[str, str] | None = None,
        field_names: Mapping[str, Mapping[str, str]] | None = None,
        id_type: Literal["text", "uuid"] = "text",
    ) -> "SchemaNaming":
        """Build a hashable naming from plain dictionaries (as settings hold them)."""
        models = dict(model_names or {})
        fields = {
            model: dict(mapping) for model, mapping in (field_names or {}).items()
        }
        unknown = (set(models) | set(fields)) - set(MODELS)
        if unknown:
            raise ValueError(
                f"unknown Better-Auth model(s): {', '.join(sorted(unknown))}"
            )
        return cls(
            use_plural=use_plural,
            column_case=column_case,
            model_names=tuple(sorted(models.items())),
            field_names=tuple(
                sorted(
                    (model, tuple(sorted(mapping.items())))
                    for model, mapping in fields.items()
                )
            ),
            id_type=id_type,
        )

    def valid_id(self, value: str) -> bool:
        """Whether ``value`` can be an id of this schema (any string, or a UUID's text form)."""
        return self.id_type == "text" or _UUID.fullmatch(value) is not None

    def table(self, model: str) -> str:
        """Physical table name of a Better-Auth model (``user`` → ``"user"`` or ``"users"``)."""
        name = dict(self.model_names).get(model, model)
        return f"{name}s" if self.use_plural else name

    def column(self, model: str, field_name: str) -> str:
        """Physical column name of a Better-Auth field (``emailVerified`` → as configured)."""
        renamed = dict(dict(self.field_names).get(model, ()))
        if field_name in renamed:
            return renamed[field_name]
        return to_snake(field_name) if self.column_case == "snake" else field_name
