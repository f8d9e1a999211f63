"""The SQLite connection's lock: urgent tasks (the intake) go ahead of waiting ones, nobody is lost."""

from __future__ import annotations

import asyncio
import contextvars

from app.store.priority_lock import URGENT, PriorityLock


async def take(
    lock: PriorityLock, order: list[str], name: str, *, urgent: bool = False, hold: float = 0
) -> None:
    URGENT.set(urgent)  # the task's own context: as the intake routes set it
    async with lock.hold():
        order.append(name)
        await asyncio.sleep(hold)


def spawn(coro: object) -> asyncio.Task[None]:
    return asyncio.create_task(coro, context=contextvars.Context())  # type: ignore[arg-type]


async def test_urgent_waiters_go_before_earlier_ones_and_the_holder_is_not_interrupted() -> None:
    lock, order = PriorityLock(), []
    holder = spawn(take(lock, order, "holder", hold=0.05))
    await asyncio.sleep(0.01)
    waiters = [spawn(take(lock, order, f"worker-{n}")) for n in range(3)]
    await asyncio.sleep(0.01)
    intake = spawn(take(lock, order, "intake", urgent=True))
    await asyncio.gather(holder, *waiters, intake)
    assert order == ["holder", "intake", "worker-0", "worker-1", "worker-2"]


async def test_a_waiter_cancelled_in_the_queue_or_at_the_hand_over_leaves_the_lock_usable() -> None:
    lock, order = PriorityLock(), []
    holder = spawn(take(lock, order, "holder", hold=0.05))
    await asyncio.sleep(0.01)
    queued = spawn(take(lock, order, "cancelled"))
    later = spawn(take(lock, order, "later"))
    await asyncio.sleep(0.01)
    queued.cancel()
    await asyncio.gather(holder, later)
    assert order == ["holder", "later"]

    handed = spawn(take(lock, order, "handed"))
    async with lock.hold():
        await asyncio.sleep(0.01)  # `handed` waits; the release below hands it the lock ...
    handed.cancel()  # ... and it is cancelled before it runs: it must pass the lock on
    await asyncio.gather(handed, return_exceptions=True)
    await asyncio.wait_for(take(lock, order, "after"), 1)
    assert order[-1] == "after"
