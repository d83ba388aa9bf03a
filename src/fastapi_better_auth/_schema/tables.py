"""Which tables and column names the database shows: the naming settings that fit it.

Better-Auth's migration names tables after the models (``use_plural``, ``modelName``) and
columns after the fields (``fields``, or the adapter's casing); when the configured names are
not there, the other namings are tried so the problem names the one setting to change.
"""

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from .._naming import SchemaNaming, to_snake
from ..models import get_models
from .catalog import Catalog
from .report import ADMIN_FIELDS, MIGRATE_HINT, Diagnosis

__all__ = ["check_columns", "find_tables"]

#: Columns that tell a model's table apart from any other, whatever its name.
_SIGNATURES = {
    "user": ("email", "emailVerified"),
    "session": ("token", "expiresAt", "userId"),
    "account": ("providerId", "accountId", "userId"),
}


def _fields(model: str) -> tuple[str, ...]:
    """Better-Auth's field names of a model, in the order the models declare them."""
    table = getattr(get_models(), model).__table__
    return tuple(column.name for column in table.columns)


def _has_signature(
    catalog: Catalog, columns: dict[str, str], model: str, naming: SchemaNaming
) -> bool:
    return all(
        any(
            catalog.column_type(columns, name) is not None
            for name in (naming.column(model, f), f, to_snake(f))
        )
        for f in _SIGNATURES[model]
    )


def find_tables(d: Diagnosis) -> None:
    """Resolve each model's table, switching ``use_plural`` or naming a renamed table if needed."""
    catalog, naming = d.catalog, d.naming
    present = {m for m in d.models if catalog.table(naming.table(m)) is not None}
    flipped = replace(naming, use_plural=not naming.use_plural)
    other = {m for m in d.models if catalog.table(flipped.table(m)) is not None}
    if len(other) > len(present):
        plural = "true" if flipped.use_plural else "false"
        kind = "plural" if flipped.use_plural else "singular"
        d.setting(
            f'tables are {kind} ("{flipped.table("user")}", not "{naming.table("user")}")',
            "USE_PLURAL",
            plural,
        )
        d.naming, naming, present = flipped, flipped, other
    d.tables = {m: naming.table(m) for m in d.models if m in present}
    missing = [m for m in d.models if m not in present]
    if not missing:
        return
    if len(missing) == len(d.models) and not _renamed_candidates(d, missing):
        d.fail("no Better-Auth tables (user, session, account) found", MIGRATE_HINT)
        return
    renamed: dict[str, str] = {}
    for model in missing:
        candidates = _renamed_candidates(d, [model])
        if len(candidates) == 1:
            renamed[model] = d.tables[model] = candidates[0]
        else:
            found = f" (tables like it: {', '.join(candidates)})" if candidates else ""
            d.fail(f'no table "{naming.table(model)}"{found}', MIGRATE_HINT)
    if not renamed:
        return
    # Better-Auth appends the plural "s" to modelName, so a plural table names its model without it
    names = dict(naming.model_names) | {
        model: table[:-1] if naming.use_plural and table.endswith("s") else table
        for model, table in renamed.items()
    }
    found = " and ".join(
        f'model "{model}" is table "{table}", not "{naming.table(model)}"'
        for model, table in renamed.items()
    )
    d.setting(found, "MODEL_NAMES", json.dumps(names))
    d.naming = replace(naming, model_names=tuple(sorted(names.items())))


def _renamed_candidates(d: Diagnosis, models: Iterable[str]) -> list[str]:
    taken = set(d.tables.values())
    return sorted(
        table
        for table, columns in d.catalog.tables.items()
        if table not in taken
        and any(_has_signature(d.catalog, columns, m, d.naming) for m in models)
    )


def check_columns(d: Diagnosis) -> None:
    """Every field under the configured column names; else the case or field mapping that fits."""
    catalog, naming = d.catalog, d.naming
    explicit = {model: dict(fields) for model, fields in naming.field_names}
    in_case = 0  # fields whose two cases differ, found in the configured one
    other_case: list[tuple[str, str, str, str]] = []  # model, field, expected, found
    absent: list[tuple[str, str, str]] = []  # model, field, expected
    for model, table in d.tables.items():
        columns = catalog.table(table) or {}
        for f in _fields(model):
            want = naming.column(model, f)
            if catalog.column_type(columns, want) is not None:
                in_case += f != to_snake(f) and f not in explicit.get(model, {})
                continue
            alternative = f if want != f else to_snake(f)
            if alternative != want and catalog.column_type(columns, alternative):
                other_case.append((model, f, want, alternative))
            else:
                absent.append((model, f, want))
    if other_case:
        _fix_case(d, other_case, flip=in_case == 0)
    admin = [(m, w) for m, f, w in absent if f in ADMIN_FIELDS.get(m, ())]
    if admin:
        listed = ", ".join(f'"{d.tables[m]}"."{w}"' for m, w in admin)
        d.fail(
            f"no admin plugin columns {listed} (the library reads roles and bans)",
            "enable Better-Auth's admin plugin and run its migration",
        )
    for model, f, want in absent:
        if f not in ADMIN_FIELDS.get(model, ()):
            d.fail(
                f'table "{d.tables[model]}" has no column "{want}" (field {f})',
                f"{MIGRATE_HINT}, or map the field with BETTER_AUTH_FIELD_NAMES",
            )


def _fix_case(
    d: Diagnosis, other_case: list[tuple[str, str, str, str]], *, flip: bool
) -> None:
    """Columns in the other case: ``column_case`` if all are, else a ``field_names`` mapping."""
    naming = d.naming
    explicit = {model: dict(fields) for model, fields in naming.field_names}
    if flip and not any(f in explicit.get(m, {}) for m, f, _, _ in other_case):
        model, _, want, found = other_case[0]
        case: Literal["camel", "snake"] = (
            "snake" if naming.column_case == "camel" else "camel"
        )
        d.setting(
            f'table "{d.tables[model]}" has column "{found}", not "{want}"',
            "COLUMN_CASE",
            case,
        )
        d.naming = replace(naming, column_case=case)
        return
    for model, f, _, found in other_case:
        explicit.setdefault(model, {})[f] = found
    names = ", ".join(
        f'"{d.tables[m]}"."{found}" (not "{want}")' for m, _, want, found in other_case
    )
    d.setting(
        f"columns {names} are named otherwise than the settings say",
        "FIELD_NAMES",
        json.dumps(explicit),
    )
    d.naming = replace(
        naming,
        field_names=tuple(
            sorted((m, tuple(sorted(fields.items()))) for m, fields in explicit.items())
        ),
    )
