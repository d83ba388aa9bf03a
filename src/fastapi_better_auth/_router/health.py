"""Liveness and database readiness."""

from fastapi import APIRouter

from .._errors import DatabaseUnavailableError
from .._guards import BetterAuthDep
from .._http import to_http_exception
from .._schemas import ErrorResponse, HealthStatus

router = APIRouter()


@router.get("/health", name="better_auth:health.live", summary="Liveness")
async def live() -> HealthStatus:
    """The process answers; no dependency is checked."""
    return HealthStatus()


@router.get(
    "/health/db",
    name="better_auth:health.database",
    summary="Database readiness",
    responses={
        503: {"model": ErrorResponse, "description": "The database is unreachable."}
    },
)
async def database(auth: BetterAuthDep) -> HealthStatus:
    """A real query against Better-Auth's database."""
    try:
        await auth.check_database()
    except DatabaseUnavailableError as error:
        raise to_http_exception(error) from error
    return HealthStatus()
