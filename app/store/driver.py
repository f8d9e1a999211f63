"""A thin driver layer so the store's SQL is written once, with PostgreSQL's ``$1`` placeholders.

``SqliteDriver`` rewrites ``$N`` to SQLite's numbered ``?N`` (so a parameter may be used twice) and runs
every statement on one connection guarded by an asyncio lock; ``PgDriver`` runs on an asyncpg pool.
Both translate connection-level failures into ``TransientError`` (``raise ... from exc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Protocol

import aiosqlite
import asyncpg

from app.errors import TransientError
from app.store.priority_lock import PriorityLock

Row = dict[str, Any]

_PLACEHOLDER = re.compile(r"\$(\d+)")

# asyncpg errors worth a retry: lost or refused connections, overload, and the two concurrency aborts.
_PG_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


class Conn(Protocol):
    """What the store needs from a connection (or an open transaction)."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...


class Driver(Conn, Protocol):
    engine: str
    skip_locked: str  # " FOR UPDATE SKIP LOCKED" where the engine has it, else ""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """BEGIN (IMMEDIATE on SQLite) ... COMMIT, ROLLBACK on error."""
        ...

    async def close(self) -> None: ...


def _first(rows: list[Row]) -> Row | None:
    return rows[0] if rows else None


# --------------------------------------------------------------------------- SQLite


@contextlib.contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text or "unable to open" in text or "disk i/o" in text:
            raise TransientError(f"sqlite: {exc}") from exc
        raise
    except (ValueError, OSError) as exc:  # aiosqlite raises ValueError on a closed connection
        raise TransientError(f"sqlite: {exc}") from exc


@functools.lru_cache(maxsize=512)
def _sql(statement: str) -> str:
    """asyncpg-style ``$1`` placeholders as SQLite's ``?1`` (cached: the statements are constants)."""
    return _PLACEHOLDER.sub(r"?\1", statement)


class _SqliteConn:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, *args: Any) -> int:
        with _sqlite_errors():
            cursor = await self._db.execute(_sql(sql), args)
            # Not closed (a second trip to the thread, on every job's completion): a statement that
            # returns no rows has run to its end, and sqlite3 has reset it, so the cursor holds no read
            # snapshot and no lock; the rows of one that does (RETURNING) are read and closed with it.
            count: int = cursor.rowcount  # rows this statement changed (not those its cascades did)
            if cursor.description is not None:
                await cursor.close()
            return count

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        # One trip to aiosqlite's thread (execute, fetch and close together) instead of three: each
        # trip is a thread hand-off plus an event-loop wake-up, a large part of an intake's cost.
        with _sqlite_errors():
            rows = await self._db.execute_fetchall(_sql(sql), args)
        return [dict(row) for row in rows]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return _first(await self.fetch(sql, *args))


async def _open_sqlite(path: str) -> aiosqlite.Connection:
    pending = aiosqlite.connect(path, isolation_level=None)
    try:
        return await pending
    except BaseException:
        # aiosqlite stops its worker thread without waiting for it; wait here, or the thread may
        # report to an event loop that has been closed in the meantime.
        thread = getattr(pending, "_thread", None)
        if thread is not None:
            await asyncio.to_thread(thread.join, 5)
        raise


OPEN_ATTEMPTS = 5


class SqliteDriver:
    engine = "sqlite"
    skip_locked = ""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._conn = _SqliteConn(db)
        self._db = db
        self._lock = PriorityLock()  # the intake's statements go first: app.store.priority_lock

    @classmethod
    async def connect(cls, path: str, *, busy_timeout_ms: int = 10_000) -> SqliteDriver:
        # Switching a new file to WAL needs a moment alone with it, and SQLite answers "locked" at once
        # (no busy handler) when another process opens it at that instant: try again, briefly.
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            try:
                return await cls._connect_once(path, busy_timeout_ms)
            except TransientError:
                if attempt == OPEN_ATTEMPTS:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    async def _connect_once(cls, path: str, busy_timeout_ms: int) -> SqliteDriver:
        with _sqlite_errors():
            db = await _open_sqlite(path)
            try:
                db.row_factory = sqlite3.Row
                # Fetch each PRAGMA's answer: a cursor left open keeps a read snapshot, and a later
                # BEGIN IMMEDIATE on a stale snapshot fails with "database is locked" at once.
                for pragma in (
                    f"busy_timeout = {int(busy_timeout_ms)}",
                    "foreign_keys = ON",
                    "synchronous = NORMAL",
                    "journal_mode = WAL",
                ):
                    await db.execute_fetchall(f"PRAGMA {pragma}")
            except BaseException:
                await db.close()
                raise
        return cls(db)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock.hold():
            return await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock.hold():
            return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return _first(await self.fetch(sql, *args))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        async with self._lock.hold():
            await self._conn.fetch("BEGIN IMMEDIATE")  # fetch: one trip to the thread, no cursor kept
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.fetch("ROLLBACK")
                raise
            await self._conn.fetch("COMMIT")

    async def close(self) -> None:
        async with self._lock.hold():
            await self._db.close()


# --------------------------------------------------------------------------- PostgreSQL


@contextlib.contextmanager
def _pg_errors() -> Iterator[None]:
    try:
        yield
    except _PG_TRANSIENT as exc:
        raise TransientError(f"postgresql: {type(exc).__name__}: {exc}") from exc


def _rowcount(status: str) -> int:
    """asyncpg returns the command tag ("UPDATE 1", "INSERT 0 1"); the count is its last word."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _PgConn:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        with _pg_errors():
            return _rowcount(await self._conn.execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        with _pg_errors():
            records: Sequence[Any] = await self._conn.fetch(sql, *args)
        return [dict(record) for record in records]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return _first(await self.fetch(sql, *args))


class PgDriver:
    engine = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._conn = _PgConn(pool)  # asyncpg.Pool has execute/fetch that acquire a connection per call

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PgDriver:
        """Query parameters the DSN does not know (``?search_path=...``) become server settings."""
        with _pg_errors():
            pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, command_timeout=30, timeout=10
            )
        return cls(pool)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(sql, *args)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        with _pg_errors():
            async with self._pool.acquire() as conn, conn.transaction():
                yield _PgConn(conn)

    async def close(self) -> None:
        await self._pool.close()
