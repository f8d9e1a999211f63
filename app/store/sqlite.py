"""The SQLite driver: one connection, statements one at a time (``PriorityLock``), the short ones inline.

A trip to a database thread (hand the statement over, wake the thread, wake the event loop with the answer)
cost more CPU than the statements on a job's path: ~80 us per trip on the shared 2-core machine, against
5-60 us for an indexed claim, a step lookup or a completion, and a job made four trips
(``python -m bench.webhook --closed-loop --event issue_comment.created``, issue 20). So the ``quick_*``
statements, which reach a few rows through an index, run on the event loop's thread; everything else (scans,
migrations, transactions) runs on the store's own thread, where a long query does not stop the loop.

An inline statement never waits for another process's write lock (a ``python -m app worker`` beside
``serve``, a CLI): the connection's busy timeout is 0 on the loop's thread, and a statement that finds the
database busy is run again on the store's thread, which waits up to the busy timeout. A statement refused
as busy has changed nothing (a quick statement is its own transaction, or the BEGIN IMMEDIATE of a quick
transaction: the write lock is the only thing it waits for), so running it again is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.errors import TransientError
from app.store.driver import Conn, Row, first
from app.store.priority_lock import PriorityLock

_PLACEHOLDER = re.compile(r"\$(\d+)")
OPEN_ATTEMPTS = 5
SYNCHRONOUS = "NORMAL"  # the connection's level; a durable transaction (the intake's) commits with FULL

Result = tuple[list[Row], int]  # the rows a statement returned, the rows it changed


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


@contextlib.contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        # "database or disk is full": free space (or a page limit raised) and the same statement succeeds
        if _busy(exc) or "unable to open" in text or "disk i/o" in text or "is full" in text:
            raise TransientError(f"sqlite: {exc}") from exc
        raise
    except (sqlite3.ProgrammingError, ValueError, OSError) as exc:  # ProgrammingError: a closed connection
        raise TransientError(f"sqlite: {exc}") from exc


@functools.lru_cache(maxsize=512)
def _sql(statement: str) -> str:
    """asyncpg-style ``$1`` placeholders as SQLite's ``?1`` (cached: the statements are constants)."""
    return _PLACEHOLDER.sub(r"?\1", statement)


class _Connection:
    """The raw connection and the thread that runs its slow statements. Callers hold the driver's lock."""

    def __init__(self, raw: sqlite3.Connection, thread: ThreadPoolExecutor, busy_timeout_ms: int) -> None:
        self._raw = raw
        self._thread = thread
        self._busy_timeout_ms = busy_timeout_ms

    def run_here(self, sql: str, args: tuple[Any, ...]) -> Result:
        """Run one statement on the calling thread; read its rows to the end (that resets it, so it keeps
        no read snapshot; ``rowcount`` of a RETURNING statement is known only then)."""
        cursor = self._raw.execute(_sql(sql), args)
        rows = [dict(row) for row in cursor.fetchall()] if cursor.description is not None else []
        return rows, cursor.rowcount

    def _run_waiting(self, sql: str, args: tuple[Any, ...]) -> Result:
        """On the store's thread: wait up to the busy timeout for another process's lock."""
        self._raw.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        try:
            return self.run_here(sql, args)
        finally:
            self._raw.execute("PRAGMA busy_timeout = 0")

    async def run(self, sql: str, args: tuple[Any, ...]) -> Result:
        with _sqlite_errors():
            loop = asyncio.get_running_loop()
            try:
                pending = loop.run_in_executor(self._thread, self._run_waiting, sql, args)
            except RuntimeError as exc:  # the thread has been shut down: the store is closed
                raise TransientError("sqlite: the store is closed") from exc
            return await pending

    async def run_quick(self, sql: str, args: tuple[Any, ...]) -> Result:
        with _sqlite_errors():
            try:
                return self.run_here(sql, args)
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        return await self.run(sql, args)  # another process holds the lock: wait for it off the loop

    async def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            await asyncio.get_running_loop().run_in_executor(self._thread, self._raw.close)
        await asyncio.to_thread(self._thread.shutdown, wait=True)


class _SqliteConn:
    """``Conn`` over the store's thread: the statements of a transaction, and every slow statement."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *args: Any) -> int:
        return (await self._connection.run(sql, args))[1]

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return (await self._connection.run(sql, args))[0]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return first(await self.fetch(sql, *args))


class _QuickConn:
    """``Conn`` on the loop's thread (the statements of a quick transaction)."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, *args: Any) -> int:
        return (await self._connection.run_quick(sql, args))[1]

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return (await self._connection.run_quick(sql, args))[0]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return first(await self.fetch(sql, *args))


def _open(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    """Open and configure the connection (on the store's thread: switching to WAL may wait for a lock)."""
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        raw.row_factory = sqlite3.Row
        # Each PRAGMA's answer is read: a statement left unfinished keeps a read snapshot, and a later
        # BEGIN IMMEDIATE on a stale snapshot fails with "database is locked" at once.
        for pragma in (
            f"busy_timeout = {int(busy_timeout_ms)}",
            "foreign_keys = ON",
            f"synchronous = {SYNCHRONOUS}",
            "journal_mode = WAL",
            "busy_timeout = 0",  # the loop thread's setting: see the module's docstring
        ):
            raw.execute(f"PRAGMA {pragma}").fetchall()
    except BaseException:
        raw.close()
        raise
    return raw


class SqliteDriver:
    engine = "sqlite"
    skip_locked = ""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._conn = _SqliteConn(connection)
        self._quick = _QuickConn(connection)
        self._lock = PriorityLock()  # the intake's statements go first: app.store.priority_lock
        self._closed = False

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
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fixloop-sqlite")
        try:
            with _sqlite_errors():
                raw = await asyncio.get_running_loop().run_in_executor(thread, _open, path, busy_timeout_ms)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(_Connection(raw, thread, busy_timeout_ms))

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock.hold():
            return await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock.hold():
            return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return first(await self.fetch(sql, *args))

    async def quick_execute(self, sql: str, *args: Any) -> int:
        async with self._lock.hold():
            return await self._quick.execute(sql, *args)

    async def quick_fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock.hold():
            return await self._quick.fetch(sql, *args)

    async def quick_fetchrow(self, sql: str, *args: Any) -> Row | None:
        return first(await self.quick_fetch(sql, *args))

    @contextlib.asynccontextmanager
    async def transaction(self, *, quick: bool = False, durable: bool = False) -> AsyncIterator[Conn]:
        """``quick``: a few indexed statements, run on the loop's thread once the write lock is ours (only
        BEGIN IMMEDIATE can find the database busy: it is the one run again on the store's thread).

        ``durable``: the COMMIT returns only once the WAL is on the disk (``synchronous = FULL`` for this
        transaction; the connection's NORMAL syncs only at checkpoints, so a power cut may take the last
        commits back). The intake's inserts need it: a delivery is acknowledged once its job has
        committed, and GitHub does not send a delivery again by itself. The other writes (claims,
        outcomes, steps) keep NORMAL: lost, they are redone once the lease expires. The COMMIT, which
        waits for the disk, runs on the store's thread, so the loop goes on meanwhile."""
        conn: Conn = _QuickConn(self._connection) if quick else self._conn
        async with self._lock.hold():
            if durable:  # SQLite refuses to change the level inside a transaction
                with _sqlite_errors():
                    self._connection.run_here("PRAGMA synchronous = FULL", ())
            try:
                await conn.fetch("BEGIN IMMEDIATE")
                try:
                    yield conn
                    await (self._conn if durable else conn).fetch("COMMIT")
                except BaseException:  # the body's error, or a COMMIT refused (disk full): none left open
                    with contextlib.suppress(Exception):
                        await conn.fetch("ROLLBACK")
                    raise
            finally:
                if durable:
                    with contextlib.suppress(sqlite3.Error):
                        self._connection.run_here(f"PRAGMA synchronous = {SYNCHRONOUS}", ())

    async def close(self) -> None:
        """Close the connection and stop its thread; a second call does nothing."""
        async with self._lock.hold():
            if self._closed:
                return
            self._closed = True
            await self._connection.close()
