"""Queries on an ``AsyncSession``, through mapped attributes only, so every naming works.

Each function takes the session and the naming's models; writes commit or roll back whole
in the caller's transaction. No physical table or column name appears here.
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def ping(session: AsyncSession) -> None:
    """Run the cheapest real query, so a dead connection raises."""
    await session.execute(select(1))
