"""``_pgconnect.within``: the start probe's bounded step, which never cancels a query.

A cancelled asyncpg query sends a cancel request, and PgBouncer 1.18 dies when one races its
client's disconnect (tests/integration/test_pgbouncer.py pins that the probe sends none). A
step that overstays is ended by closing its connection instead.
"""

import asyncio

import pytest

from fastapi_better_auth import _pgconnect

pytestmark = pytest.mark.anyio


class FakeConnection:
    """A connection whose queued query ends (with an error) when it is terminated."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()
        self.terminated = 0

    def terminate(self) -> None:
        self.terminated += 1
        self.closed.set()

    async def queued_query(self) -> int:
        await self.closed.wait()
        raise ConnectionResetError("connection was closed in the middle of operation")


async def test_a_step_that_ends_in_time_gives_its_result() -> None:
    async def step() -> int:
        return 7

    assert await _pgconnect.within(step(), 1.0) == (True, 7)


async def test_a_step_that_fails_raises_its_error() -> None:
    async def step() -> int:
        raise LookupError("boom")

    with pytest.raises(LookupError):
        await _pgconnect.within(step(), 1.0)


async def test_an_overstaying_step_is_ended_by_closing_its_connection_not_cancelled() -> (
    None
):
    connection = FakeConnection()
    task = asyncio.ensure_future(connection.queued_query())
    assert await _pgconnect.within(task, 0.05, connection) == (False, None)
    assert connection.terminated == 1
    assert task.done() and not task.cancelled()  # ended by the close, never cancelled


async def test_without_connections_to_close_an_overstaying_step_goes_on() -> None:
    connection = FakeConnection()
    task = asyncio.ensure_future(connection.queued_query())
    assert await _pgconnect.within(task, 0.05) == (False, None)
    assert not task.done()  # still waiting: the caller decides what ends it
    connection.terminate()
    with pytest.raises(ConnectionResetError):
        await task
