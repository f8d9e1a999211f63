"""The periodic sweep keeps the store bounded: finished jobs past their retention and expired entries go."""

from __future__ import annotations

import time

import pytest

from app.settings import Settings
from app.store import Store
from tests.fakes.webhooks import load_fixture
from tests.harness import AppHarness, wait_until

DAY = 86400.0


def _move_clock(store: Store, seconds: float) -> None:
    store._clock = lambda: time.time() + seconds


async def _sweep(app: AppHarness, key: str) -> None:
    """Run one sweep job to the end (drain() judges due-ness by the real clock, so wait on the row)."""
    await app.services.submit("sweep", key, {})

    async def finished() -> bool:
        return any(j.key == key and j.status == "done" for j in await app.services.store.list_jobs())

    await wait_until(finished, 15, f"the sweep {key} to finish")


async def _kv_rows(store: Store) -> int:
    row = await store._db.fetchrow("SELECT count(*) AS n FROM kv WHERE ns = 'test'")
    return int(row["n"]) if row else 0


async def test_the_sweep_purges_jobs_past_retention_and_keeps_recent_ones(app_harness: AppHarness) -> None:
    store = app_harness.services.store
    answer = await app_harness.post_webhook(
        "installation_repositories", load_fixture("installation_repositories", "added")
    )
    assert answer.status == 202
    await app_harness.drain()
    await store.kv_set("test", "short-lived", {"v": 1}, ttl=60)
    old = [j.id for j in await store.list_jobs() if j.kind == "github"]
    assert old and all(j.status == "done" for j in await store.list_jobs() if j.id in old)

    assert await _kv_rows(store) == 1

    _move_clock(store, 6 * DAY)  # inside the default 7-day retention: nothing goes but the expired entry
    await _sweep(app_harness, "sweep-day-6")
    assert {j.id for j in await store.list_jobs()} >= set(old)
    assert await _kv_rows(store) == 0, "the expired entry's row is deleted, not only hidden"

    _move_clock(store, 8 * DAY)
    await _sweep(app_harness, "sweep-day-8")
    remaining = {j.id: j for j in await store.list_jobs()}
    assert not set(old) & set(remaining), "finished webhook jobs older than the retention are purged"
    assert any(j.key == "sweep-day-8" for j in remaining.values()), "the sweep's own recent row stays"


def test_a_retention_shorter_than_githubs_redelivery_window_is_refused() -> None:
    with pytest.raises(Exception, match="FIXLOOP_JOB_RETENTION_DAYS: must be >= 3"):
        Settings.from_env({"FIXLOOP_JOB_RETENTION_DAYS": "1"})
    assert Settings.from_env({"FIXLOOP_JOB_RETENTION_DAYS": "3"}).job_retention_days == 3.0
