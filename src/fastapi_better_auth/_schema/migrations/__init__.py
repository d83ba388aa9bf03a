"""Alembic migrations that create Better-Auth's schema (run them with ``python -m fastapi_better_auth migrate``)."""
