"""Store fixtures, shared by tests/store/ (through its conftest) and tests/test_jobs.py (by import): the
stores, a clock tests move, and ``make_runner`` (a started ``JobRunner`` on the store, stopped afterwards).

Every store test runs on SQLite (a temp file) and on PostgreSQL (``FIXLOOP_TEST_PG_URL``, default
postgresql://postgres@127.0.0.1:5432/test), each PostgreSQL test in a fresh schema selected with
``?search_path=`` and dropped afterwards. PostgreSQL unreachable = failure, unless FIXLOOP_TEST_SKIP_PG=1.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.jobs import Handler, JobRunner
from app.store import Store, open_store

RunnerFactory = Callable[..., JobRunner]
PG_URL = os.environ.get("FIXLOOP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class FakeClock:
    """Real time plus an offset that tests move forward (leases, TTLs, delays) without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        if os.environ.get("FIXLOOP_TEST_SKIP_PG") == "1":
            pytest.skip(f"PostgreSQL unreachable at {PG_URL} (FIXLOOP_TEST_SKIP_PG=1)")
        pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc!r}; set FIXLOOP_TEST_SKIP_PG=1 to skip")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(engine: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL of its own; open several stores on it to play several processes."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'fixloop.db'}"
        return
    admin = await _pg_admin()
    schema = f"fixloop_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other_store(store_url: str, clock: FakeClock, store: Store) -> AsyncIterator[Store]:
    """A second store on the same database (its own connection / pool): another process."""
    opened = await open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def make_runner(store: Store) -> AsyncIterator[RunnerFactory]:
    """``make_runner(handlers, **options)``: a started ``JobRunner`` on ``store`` with short test timings;
    every runner made is stopped (drained) after the test."""
    runners: list[JobRunner] = []

    def make(handlers: dict[str, Handler], **options: Any) -> JobRunner:
        settings: dict[str, Any] = {
            "concurrency": 2,
            "lease_seconds": 30.0,
            "max_attempts": 3,
            "metrics": None,
            "worker_prefix": "test",
            "poll_interval": 0.02,
            "backoff_base": 0.01,
        }
        settings.update(options)
        runner = JobRunner(store, handlers, **settings)
        runners.append(runner)
        runner.start()
        return runner

    yield make
    for runner in runners:
        await runner.stop(drain_timeout=1)
