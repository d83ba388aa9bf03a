"""Counting one use of a key as the plugin does: ``remaining``, refills and the rate limit.

Every write is one guarded ``UPDATE … WHERE … RETURNING`` committed on its own, as the plugin's
``incrementOne`` calls are (steps 5-8 of ``_verify``'s list): concurrent verifications never lose
a decrement nor push ``remaining`` below zero or ``requestCount`` past the maximum.
"""

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .._errors import (
    ApiKeyRateLimitedError,
    ApiKeyUsageExceededError,
    InvalidApiKeyError,
)
from ._models import ApiKeyMixin

#: The columns a verification reads (``key``, the hash, is compared, never answered).
_FIELDS = (
    "id",
    "config_id",
    "name",
    "start",
    "prefix",
    "reference_id",
    "key",
    "refill_interval",
    "refill_amount",
    "last_refill_at",
    "enabled",
    "rate_limit_enabled",
    "rate_limit_time_window",
    "rate_limit_max",
    "request_count",
    "remaining",
    "last_request",
    "expires_at",
    "created_at",
    "updated_at",
    "permissions",
    "metadata_",
)


def _ms_since(now: datetime, then: datetime) -> float:
    return (now - then) / timedelta(milliseconds=1)


class VerificationWork:
    """One verification's database work on one session; each write commits on its own."""

    def __init__(
        self, db: AsyncSession, model: type[ApiKeyMixin], rate_limit: bool
    ) -> None:
        self.db = db
        self.model = model
        self.columns = [getattr(model, name) for name in _FIELDS]
        self.rate_limit = rate_limit
        self.written = False

    async def find(self, condition: ColumnElement[bool]) -> Any:
        row = (await self.db.execute(select(*self.columns).where(condition))).first()
        await self.db.commit()
        return row

    async def claim(self, row: Any, *guards: Any, **values: Any) -> Any:
        """``incrementOne``: update the row while ``guards`` hold; the new row or None.

        Each claim also sets ``updatedAt``, which the plugin writes in a last update of its
        own (``claimUsageInDatabase``): a use counted here is never undone by a concurrent
        request deleting the exhausted key between the two writes.
        """
        statement = (
            update(self.model)
            .where(self.model.id == row.id, *guards)
            .values(updated_at=utc_now(), **values)
            .returning(*self.columns)
            .execution_options(synchronize_session=False)
        )
        claimed = (await self.db.execute(statement)).first()
        await self.db.commit()
        self.written = self.written or claimed is not None
        return claimed

    async def delete(self, row: Any) -> None:
        statement = delete(self.model).where(self.model.id == row.id)
        await self.db.execute(statement.execution_options(synchronize_session=False))
        await self.db.commit()

    async def consume_remaining(self, row: Any, now: datetime) -> Any:
        """``consumeRemaining``: one refill wins when due, else a decrement while > 0."""
        model = self.model
        if row.refill_interval and row.refill_amount:
            last = row.last_refill_at or row.created_at
            if _ms_since(now, last) > row.refill_interval:
                observed = (
                    model.last_refill_at.is_(None)
                    if row.last_refill_at is None
                    else model.last_refill_at == row.last_refill_at
                )
                refilled = await self.claim(
                    row,
                    observed,
                    remaining=row.refill_amount - 1,
                    last_refill_at=now,
                )
                if refilled is not None:
                    return refilled
        decremented = await self.claim(
            row, model.remaining > 0, remaining=model.remaining - 1
        )
        if decremented is None:
            raise ApiKeyUsageExceededError()
        return decremented

    async def consume_rate_limit(self, row: Any, now: datetime) -> Any:
        """``consumeRateLimit``: a guarded counter in the key's window, re-read on a lost race."""
        model = self.model
        window, limit = row.rate_limit_time_window, row.rate_limit_max
        if not self.rate_limit or row.rate_limit_enabled is False:
            return await self.claim(row, last_request=now) or row
        if window is None or limit is None:
            return row
        window_start = now - timedelta(milliseconds=window)
        guard: ColumnElement[bool]
        if row.last_request is None:
            guard = model.last_request.is_(None)
        elif _ms_since(now, row.last_request) > window:
            guard = model.last_request <= window_start
        else:
            elapsed = _ms_since(now, row.last_request)
            if (row.request_count or 0) >= limit:
                raise ApiKeyRateLimitedError(retry_after_ms=math.ceil(window - elapsed))
            counted = await self.claim(
                row,
                model.last_request > window_start,
                model.request_count < limit,
                request_count=model.request_count + 1,
                last_request=now,
            )
            return counted or await self._again(row, now)
        started = await self.claim(row, guard, request_count=1, last_request=now)
        return started or await self._again(row, now)

    async def _again(self, row: Any, now: datetime) -> Any:
        fresh = await self.find(self.model.id == row.id)
        if fresh is None:
            raise InvalidApiKeyError()
        return await self.consume_rate_limit(fresh, now)


def utc_now() -> datetime:
    """Now, in UTC, at the clock's precision: the time every check of one verification uses."""
    return datetime.now(timezone.utc)
