"""The SQLite connection's lock, with a fast lane for the intake.

SQLite runs every statement of the process on one connection, one at a time. The webhook and
notification intake stores one row and owes its sender a prompt 202; the job workers run transactions of
several statements each. With a plain FIFO lock an intake insert queued behind every worker's pending
statements: at 500 deliveries/s the 202's p99 was 54 ms with workers running, 6 ms without. A task that
sets ``URGENT`` (the intake routes do, for their own task only: a context variable) goes ahead of every
waiting non-urgent task; a transaction already holding the lock is never interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextvars import ContextVar

URGENT: ContextVar[bool] = ContextVar("fixloop_store_urgent", default=False)


class PriorityLock:
    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        await self._acquire(URGENT.get())
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._normal:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed the lock as it was cancelled: pass it on
            elif waiter in queue:
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        """Hand the lock to the next live waiter, urgent ones first; it stays held across the hand-over."""
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._held = False
