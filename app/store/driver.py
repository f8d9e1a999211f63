"""A thin driver layer so the store's SQL is written once, with PostgreSQL's ``$1`` placeholders.

``SqliteDriver`` (``app.store.sqlite``) rewrites ``$N`` to SQLite's numbered ``?N`` (so a parameter may be
used twice) and runs every statement on one connection, one at a time; ``PgDriver`` runs on an asyncpg
pool. Both translate connection-level failures into ``TransientError`` (``raise ... from exc``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Protocol

import asyncpg

from app.errors import TransientError

Row = dict[str, Any]

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

    def transaction(
        self, *, quick: bool = False, durable: bool = False
    ) -> contextlib.AbstractAsyncContextManager[Conn]:
        """BEGIN (IMMEDIATE on SQLite) ... COMMIT, ROLLBACK on error. ``quick``: its statements are quick
        ones (below). ``durable``: COMMIT returns once the transaction would survive a power cut, not only
        a crash of the process (what an acknowledgement needs)."""
        ...

    # A statement that reaches a few rows through an index, on the path of every delivery or job (the
    # job queue's): SQLite runs it on the event loop's thread, a trip to its thread costing more than it
    # (app.store.sqlite). The same as execute/fetch/fetchrow on PostgreSQL.
    async def quick_execute(self, sql: str, *args: Any) -> int: ...

    async def quick_fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def quick_fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def close(self) -> None: ...


def first(rows: list[Row]) -> Row | None:
    return rows[0] if rows else None


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
        return first(await self.fetch(sql, *args))


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

    async def quick_execute(self, sql: str, *args: Any) -> int:
        return await self._conn.execute(sql, *args)

    async def quick_fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._conn.fetch(sql, *args)

    async def quick_fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(sql, *args)

    @contextlib.asynccontextmanager
    async def transaction(self, *, quick: bool = False, durable: bool = False) -> AsyncIterator[Conn]:
        # ``durable`` is PostgreSQL's default already: with synchronous_commit = on (or stronger, which a
        # SET here could only weaken), COMMIT returns once its WAL is flushed.
        with _pg_errors():
            async with self._pool.acquire() as conn, conn.transaction():
                yield _PgConn(conn)

    async def close(self) -> None:
        """Close the pool; a second call does nothing."""
        if not self._pool.is_closing():
            await self._pool.close()
