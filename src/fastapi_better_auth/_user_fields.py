"""The user's own columns: ``additionalFields`` and plugin columns an app declares once.

Better-Auth's ``user`` table carries more than its core: an app's ``user.additionalFields``
(``plan``, ``locale``…) and columns of other plugins (``username``, ``twoFactorEnabled``…).
An app names the ones it reads in a subclass of :class:`AuthenticatedUser` (or in the
``BETTER_AUTH_USER_FIELDS`` setting); :class:`UserFields` is that declaration resolved into
Better-Auth field names and kinds, hashable so the queries built on it are cached per app.
Columns nobody declared are never selected, so they can neither break a read nor a write.
"""

import json
import logging
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, Union

from pydantic import ValidationError, create_model

from ._errors import ConfigurationError
from ._naming import to_camel, to_snake
from ._schemas import AuthenticatedUser
from ._types import as_utc

logger = logging.getLogger(__name__)

#: Better-Auth's field types (``additionalFields: {plan: {type: "string"}}``).
FieldType = Literal["string", "number", "boolean", "date", "string[]", "number[]"]
#: ``json_schema_extra`` key naming the Better-Auth field when camelCase of the attribute is not it.
FIELD_KEY = "better_auth_field"
_PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "number": int | float,
    "boolean": bool,
    "date": datetime,
    "string[]": list[str],
    "number[]": list[int | float],
}
_ARRAYS = frozenset({"string[]", "number[]"})


@dataclass(frozen=True)
class UserField:
    """One declared column: our attribute, Better-Auth's field name and its type."""

    attribute: str
    name: str
    type: FieldType


def _unwrap(annotation: Any) -> Any:
    """``Annotated[T | None, …]`` → ``T``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _field_type(annotation: Any) -> FieldType:
    """How Better-Auth stores a value of this Python type (what the column holds)."""
    inner = _unwrap(annotation)
    origin = typing.get_origin(inner) or inner
    if origin in (list, tuple, set, frozenset):
        item = _unwrap((typing.get_args(inner) or (str,))[0])
        numeric = isinstance(item, type) and issubclass(item, (int, float, Decimal))
        return "number[]" if numeric and item is not bool else "string[]"
    if inner is bool:
        return "boolean"
    if isinstance(inner, type) and issubclass(inner, datetime):
        return "date"
    if isinstance(inner, type) and issubclass(inner, (int, float, Decimal)):
        return "number"
    return "string"


@dataclass(frozen=True)
class UserFields:
    """The user snapshot class an app reads, and its columns beyond Better-Auth's core.

    Attributes:
        model: :class:`AuthenticatedUser` or the app's subclass of it.
        fields: the subclass's own fields, in declaration order.
        source: what declared them, for error messages (the setting or the class).
    """

    model: type[AuthenticatedUser] = AuthenticatedUser
    fields: tuple[UserField, ...] = ()
    source: str = "user_model"

    @classmethod
    def of(cls, model: type[AuthenticatedUser]) -> "UserFields":
        """Resolve a subclass: each new field's Better-Auth name is camelCase of the attribute
        unless ``json_schema_extra={"better_auth_field": "…"}`` names it.

        Raises:
            ConfigurationError: ``model`` is no ``AuthenticatedUser``, or a field has no default
                (a row written before the column existed, or a JWT without the claim, has none).
        """
        source = f"user_model={getattr(model, '__name__', model)!s}"
        if not (isinstance(model, type) and issubclass(model, AuthenticatedUser)):
            raise ConfigurationError(f"{source}: must subclass AuthenticatedUser")
        core = AuthenticatedUser.model_fields
        fields = []
        for attribute, info in model.model_fields.items():
            if attribute in core:
                continue
            if info.is_required():
                raise ConfigurationError(
                    f"{source}: field {attribute!r} needs a default (None or a value): "
                    "rows and tokens without the column must still be readable"
                )
            extra = info.json_schema_extra
            named = extra.get(FIELD_KEY) if isinstance(extra, dict) else None
            name = named if isinstance(named, str) else to_camel(attribute)
            fields.append(UserField(attribute, name, _field_type(info.annotation)))
        return cls(model, tuple(fields), source)

    @classmethod
    def from_setting(cls, mapping: Mapping[str, FieldType]) -> "UserFields":
        """The fields of ``BETTER_AUTH_USER_FIELDS`` (``{"plan": "string"}``), each optional.

        Their attributes (and ``/auth/me`` keys) are the snake_case of the Better-Auth names.
        The same mapping gives the same class (and so the same cached queries).

        Raises:
            ConfigurationError: a name is no identifier or is one of the core fields.
        """
        return _from_setting(tuple(mapping.items())) if mapping else CORE

    @classmethod
    def declared(
        cls, setting: Mapping[str, FieldType], model: type[AuthenticatedUser] | None
    ) -> "UserFields":
        """The fields of ``user_model=`` or of ``BETTER_AUTH_USER_FIELDS``, never both.

        Raises:
            ConfigurationError: both are given, or either is invalid.
        """
        if model is not None and setting:
            raise ConfigurationError(
                "BETTER_AUTH_USER_FIELDS is set and user_model= is given: declare the fields in one"
            )
        return cls.of(model) if model is not None else cls.from_setting(setting)

    def build(
        self, core: dict[str, Any], values: Mapping[str, Any]
    ) -> AuthenticatedUser:
        """The snapshot of a row or of token claims: ``values`` by attribute, raw as stored.

        A NULL or missing value leaves the field's default. A value the declared type refuses is
        logged (field names only) and replaced by the default: a row never fails a request.
        """
        if not self.fields:
            return AuthenticatedUser(**core)
        extra = {}
        for field in self.fields:
            value = values.get(field.attribute)
            if value is None:
                continue
            if field.type in _ARRAYS and isinstance(value, str):
                value = _json_or_raw(value)  # Kysely stores arrays as JSON text
            elif isinstance(value, datetime):
                value = as_utc(value)  # a naive timestamp column holds UTC
            extra[field.attribute] = value
        try:
            return self.model(**core, **extra)
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            logger.warning(
                "better_auth.user_field_invalid",
                extra={"fields": sorted(bad), "user_id": core.get("id")},
            )
            kept = {name: value for name, value in extra.items() if name not in bad}
            return self.model(**core, **kept)


@lru_cache(maxsize=16)
def _from_setting(items: tuple[tuple[str, FieldType], ...]) -> UserFields:
    source = "BETTER_AUTH_USER_FIELDS"
    definitions: dict[str, Any] = {}
    for name, kind in items:
        attribute = to_snake(name)
        if not name.isidentifier() or attribute in AuthenticatedUser.model_fields:
            raise ConfigurationError(
                f"{source}: {name!r} is not an additional field name "
                "(a JavaScript identifier that is not a core user field)"
            )
        definitions[attribute] = (_PYTHON_TYPES[kind] | None, None)
    model = create_model("User", __base__=AuthenticatedUser, **definitions)
    fields = tuple(UserField(to_snake(name), name, kind) for name, kind in items)
    return UserFields(model, fields, source)


def _json_or_raw(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


CORE = UserFields()
