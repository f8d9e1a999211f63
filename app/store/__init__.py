"""Durable state behind one interface: SQLite (default, one process) or PostgreSQL (several replicas).

``await open_store(settings.database_url)`` connects, migrates the schema and returns a ``Store``; close
it with ``await store.close()``. The SQL is shared (``driver.py`` adapts placeholders); only the claim
differs per engine. Times are epoch seconds (UTC) as floats everywhere. Connection failures surface as
``app.errors.TransientError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from app.errors import ConfigError
from app.store.driver import Driver, PgDriver
from app.store.incidents import IncidentQueries
from app.store.jobs import JobQueries
from app.store.misc import MiscQueries
from app.store.records import (
    JSON,
    AuditEntry,
    Incident,
    Job,
    JobStatus,
    JSONText,
    NotFound,
    StaleIncident,
    Transition,
    UserToken,
)
from app.store.schema import migrate
from app.store.sqlite import SqliteDriver

__all__ = [
    "JSON",
    "AuditEntry",
    "Incident",
    "JSONText",
    "Job",
    "JobStatus",
    "NotFound",
    "StaleIncident",
    "Store",
    "Transition",
    "UserToken",
    "open_store",
]


class Store(JobQueries, IncidentQueries, MiscQueries):
    """All durable state. Create with ``open_store``; every method is a coroutine."""

    async def ping(self) -> None:
        """Raise ``TransientError`` if the database cannot be reached."""
        await self._db.fetchrow("SELECT 1 AS ok")

    async def durability_problem(self) -> str:
        """Why an acknowledged delivery could be lost in a crash of the database server, or "".

        Fixloop answers 202 once a delivery's job has committed. SQLite: its job inserts commit with
        ``synchronous = FULL`` (``app.store.sqlite``). PostgreSQL: COMMIT waits for the WAL flush unless
        ``synchronous_commit`` is off (``local`` and stronger flush on the server itself)."""
        if self._db.engine != "postgresql":
            return ""
        row = await self._db.fetchrow("SELECT current_setting('synchronous_commit') AS level")
        level = str(row["level"]) if row else ""
        if level == "off":
            return (
                "synchronous_commit = off: a delivery acknowledged just before the server crashes may be lost"
            )
        return ""

    async def schema_version(self) -> int:
        """The last migration step applied; 0 for a database Fixloop has not used yet."""
        if self._db.engine == "postgresql":
            exists = "SELECT to_regclass('schema_version') IS NOT NULL AS found"
        else:
            exists = "SELECT count(*) > 0 AS found FROM sqlite_master WHERE name = 'schema_version'"
        found = await self._db.fetchrow(exists)
        if not found or not found["found"]:
            return 0
        row = await self._db.fetchrow("SELECT max(version) AS v FROM schema_version")
        return int(row["v"]) if row and row["v"] is not None else 0

    async def close(self) -> None:
        await self._job_inserts.close()
        await self._db.close()


async def _connect(database_url: str, pool_size: int) -> Driver:
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        if not path:
            raise ConfigError("DATABASE_URL: sqlite:/// needs a path (or :memory:)")
        return await SqliteDriver.connect(path)
    if database_url.startswith(("postgresql://", "postgres://")):
        return await PgDriver.connect(database_url, max_size=pool_size)
    raise ConfigError("DATABASE_URL: must start with sqlite:/// or postgresql://")


async def open_store(
    database_url: str,
    *,
    clock: Callable[[], float] = time.time,
    pool_size: int = 10,
    migrate_schema: bool = True,
) -> Store:
    """Connect and bring the schema up to date (safe when several processes start at once);
    ``migrate_schema=False`` only connects (``check-config``: migrations go forward only, so looking at a
    database must not migrate it).

    ``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite:///:memory:``, or a
    ``postgresql://`` / ``postgres://`` DSN; for PostgreSQL, extra query parameters become server
    settings (``?search_path=fixloop`` keeps the tables in their own schema).
    """
    db = await _connect(database_url, pool_size)
    if not migrate_schema:
        return Store(db, clock)
    try:
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return Store(db, clock)
