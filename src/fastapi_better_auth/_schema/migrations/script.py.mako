"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from typing import Any

from alembic import op

from fastapi_better_auth._naming import SchemaNaming

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade(*, naming: SchemaNaming, **_: Any) -> None:
    ${upgrades if upgrades else "pass"}


def downgrade(*, naming: SchemaNaming, **_: Any) -> None:
    ${downgrades if downgrades else "pass"}
