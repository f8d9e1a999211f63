"""Group commit of job inserts: the enqueues of concurrent intakes share one statement and one commit.

At saturation the webhook intake was bound by one INSERT and one COMMIT per delivery, run one at a time
on the store's connection: the event loop sat waiting for the database while requests queued (50 closed-
loop connections: 658 deliveries/s, a naive handler committing in the event loop did 1,560/s). Here each
``insert`` joins a queue and waits; one writer task takes every insert waiting (up to a batch's bounds),
writes them with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` and one multi-row insert
of the new jobs' payloads (``job_payloads``), in one transaction, and resolves each caller's future after
it has committed: every caller is still answered only once its row is durable. While a batch is written
the next one gathers, so a lone delivery is written at once and a busy intake writes many rows per commit.
The commit is a durable one (``Driver.transaction(durable=True)``: on SQLite the WAL is synced before it
returns, on the store's thread), and that is where sharing it pays most: one wait for the disk per batch
instead of one per delivery.

A batch that fails is written again one row per statement, so a row that cannot be stored fails alone.
Rows are sorted by (kind, key): two PostgreSQL processes inserting overlapping batches wait on each other
in one order, never in a cycle.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import TransientError
from app.store.driver import Conn, Driver
from app.store.priority_lock import URGENT

log = logging.getLogger(__name__)

MAX_ROWS = 64  # rows per statement: 4 parameters each, far below SQLite's 32,766
MAX_BYTES = 8 * 1024 * 1024  # payload bytes per statement (one 25 MB webhook is still one batch of one)
ATTEMPTS = 3  # a row we collided with may be purged before we read its id: then insert again
# Up to this many payload bytes a batch is written on the event loop's thread (SQLite: a trip to the store's
# thread cost more than a few rows; app.store.sqlite); a larger one, e.g. one 25 MB delivery, on that thread.
QUICK_BYTES = 1024 * 1024


@dataclass
class _Insert:
    kind: str
    key: str
    payload: str
    delay: float
    done: asyncio.Future[tuple[int, bool]] = field(repr=False)
    intake: bool = False  # from a delivery's intake (``URGENT``), not from a job


@functools.lru_cache(maxsize=MAX_ROWS)
def _statement(rows: int) -> str:
    values = ", ".join(
        f"(${4 * n + 1}, ${4 * n + 2}, 'queued', 0, ${4 * n + 3}, ${4 * n + 4}, ${4 * n + 4})"
        for n in range(rows)
    )
    # Only numbered placeholders are formatted in, never a value.
    return (
        "INSERT INTO jobs (kind, key, status, attempts, run_after, created_at, updated_at)"  # noqa: S608
        f" VALUES {values} ON CONFLICT (kind, key) DO NOTHING RETURNING id, kind, key"
    )


@functools.lru_cache(maxsize=MAX_ROWS)
def _payloads_statement(rows: int) -> str:
    values = ", ".join(f"(${2 * n + 1}, ${2 * n + 2})" for n in range(rows))
    return f"INSERT INTO job_payloads (job_id, payload) VALUES {values}"  # noqa: S608 - placeholders only


Key = tuple[str, str]  # (kind, key)
Ids = dict[Key, tuple[int, bool]]  # (job id, created by this batch)


class GroupCommit:
    def __init__(self, db: Driver, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        self._waiting: list[_Insert] = []
        self._writer: asyncio.Task[None] | None = None
        # When deliveries last queued up for a commit (two or more of them in one batch): the intake is
        # saturated then, and the job workers pace themselves (app.jobs.JobRunner).
        self.intake_saturated_at = -math.inf

    async def insert(self, kind: str, key: str, payload: str, delay: float) -> tuple[int, bool]:
        """Queue a job once per (kind, key), durably; return (job id, whether this call created it)."""
        done: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Insert(kind, key, payload, delay, done, URGENT.get()))
        if self._writer is None or self._writer.done():
            # The writer serves the intake: its statements take the SQLite lock's fast lane, whoever
            # started it (a worker's enqueue must not slow the deliveries that join its batch).
            context = contextvars.copy_context()
            context.run(URGENT.set, True)
            self._writer = asyncio.create_task(self._write_all(), name="store-group-commit", context=context)
        # A caller that gives up (its client went away) cancels only its own future: the writer never
        # awaits it (``_settle`` passes over a future already done), so the batch it shares goes on.
        return await done

    async def close(self) -> None:
        """Wait for the rows already queued to be written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write_all(self) -> None:
        while self._waiting:
            batch: list[_Insert] = []
            try:
                batch = self._take()
                await self._write(batch)
            except BaseException as exc:  # cancelled (the loop is closing): nobody may wait forever
                for item in [*batch, *self._waiting]:
                    _settle(item, TransientError(f"store closing: {type(exc).__name__}"))
                self._waiting = []
                raise

    def _take(self) -> list[_Insert]:
        size, count = 0, 0
        for item in self._waiting:
            if count and (count == MAX_ROWS or size + len(item.payload) > MAX_BYTES):
                break
            size, count = size + len(item.payload), count + 1
        batch, self._waiting = self._waiting[:count], self._waiting[count:]
        if sum(item.intake for item in batch) > 1:
            self.intake_saturated_at = time.monotonic()
        return batch

    async def _write(self, batch: list[_Insert]) -> None:
        """Insert the batch and resolve every caller: its (id, created), or its row's own error."""
        first: dict[Key, _Insert] = {}
        for item in batch:  # a key twice in one batch: the first inserts, the others are its duplicates
            first.setdefault((item.kind, item.key), item)
        rows = sorted(first.values(), key=lambda item: (item.kind, item.key))
        ids: Ids = {}
        errors: dict[Key, Exception] = {}
        try:
            await self._insert_rows(rows, ids)
        except Exception as exc:
            if len(rows) == 1:
                errors[(rows[0].kind, rows[0].key)] = exc
            else:
                log.warning("a batch of %d job inserts failed (%s); writing them one by one", len(rows), exc)
                await self._insert_one_by_one(rows, ids, errors)
        for item in batch:
            key = (item.kind, item.key)
            if key in ids:
                _settle(item, (ids[key][0], ids[key][1] and first[key] is item))
            else:
                _settle(item, errors.get(key) or TransientError(f"enqueue {item.kind}/{item.key} failed"))

    async def _insert_one_by_one(self, rows: list[_Insert], ids: Ids, errors: dict[Key, Exception]) -> None:
        for row in rows:
            if (row.kind, row.key) in ids:  # stored before the batch failed
                continue
            try:
                await self._insert_rows([row], ids)
            except Exception as alone:  # this row's own failure, for its caller to report
                errors[(row.kind, row.key)] = alone

    async def _insert_rows(self, rows: list[_Insert], ids: Ids) -> None:
        """Insert ``rows`` in one transaction; record each row's id in ``ids`` once it has committed."""
        missing = rows
        for _ in range(ATTEMPTS):
            small = sum(len(row.payload) for row in missing) <= QUICK_BYTES
            async with self._db.transaction(quick=small, durable=True) as conn:
                found = await self._insert_jobs(conn, missing)
            ids.update(found)
            missing = [row for row in missing if (row.kind, row.key) not in ids]
            if not missing:
                return
        raise TransientError(f"enqueue {missing[0].kind}/{missing[0].key}: conflicting row kept disappearing")

    async def _insert_jobs(self, conn: Conn, rows: list[_Insert]) -> Ids:
        """The jobs rows, the payloads of those created, and the ids of those that were there already."""
        now = self._clock()
        args: list[object] = []
        for row in rows:
            args += [row.kind, row.key, now + max(row.delay, 0.0), now]
        found: Ids = {}
        for created in await conn.fetch(_statement(len(rows)), *args):
            found[(created["kind"], created["key"])] = (int(created["id"]), True)
        payloads: list[object] = []
        for row in rows:
            if (row.kind, row.key) in found:
                payloads += [found[(row.kind, row.key)][0], row.payload]
            else:
                existing = await conn.fetchrow(
                    "SELECT id FROM jobs WHERE kind = $1 AND key = $2", row.kind, row.key
                )
                if existing is not None:
                    found[(row.kind, row.key)] = (int(existing["id"]), False)
        if payloads:
            await conn.execute(_payloads_statement(len(payloads) // 2), *payloads)
        return found


def _settle(item: _Insert, outcome: tuple[int, bool] | BaseException) -> None:
    if item.done.done():
        return
    if isinstance(outcome, BaseException):
        item.done.set_exception(outcome)
    else:
        item.done.set_result(outcome)
