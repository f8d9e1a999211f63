"""Deliveries survive SIGKILL: every acknowledged delivery's job completes, exactly once.

500 signed deliveries (1,000 with two processes) are posted concurrently; the app is killed with SIGKILL half-way and restarted.
Deliveries that were not acknowledged are sent again (as GitHub's redelivery would), and some that were
acknowledged are sent twice. At the end: one job per delivery, every job done, every handler step
recorded once, and no job failed. With two processes on one PostgreSQL, both share the queue.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from app.store import Store, open_store
from tests.fakes.webhooks import load_fixture, webhook_headers
from tests.figures import FigureRecorder
from tests.harness import WEBHOOK_SECRET, base_env, wait_until
from tests.processes import AppProcess, Request, post_all

DELIVERIES = 500  # one process
TWO_PROCESS_DELIVERIES = 1_000  # the issue: "two app processes on one PostgreSQL with 1,000 deliveries"
HANDLER_STEP = "handler:app.loop.installations.note_installation_change"


async def post_deliveries(urls: list[str], deliveries: list[str], concurrency: int = 32) -> set[str]:
    """Post each delivery (round-robin over the URLs); return those acknowledged with 202."""
    payload = json.dumps(load_fixture("installation_repositories", "added")).encode()
    requests = [
        Request(
            d,
            "/github/webhook",
            payload,
            webhook_headers("installation_repositories", payload, WEBHOOK_SECRET, delivery=d),
        )
        for d in deliveries
    ]
    return await post_all(urls, requests, concurrency)


async def kill_when_half_acknowledged(victim: AppProcess, database_url: str, total: int) -> None:
    store = await open_store(database_url)
    try:
        await wait_until(lambda: _count_jobs(store, total // 2), 90, "half the deliveries stored")
        victim.kill()
    finally:
        await store.close()


async def _count_jobs(store: Store, at_least: int) -> bool:
    depth = await store.queue_depth()
    return sum(depth.values()) >= at_least


async def assert_every_delivery_ran_once(
    database_url: str, deliveries: list[str], figures: FigureRecorder
) -> None:
    store = await open_store(database_url)
    try:
        await wait_until(lambda: _all_finished(store, len(deliveries)), 180, "every job to finish")
        jobs = [j for j in await store.list_jobs(limit=10 * len(deliveries)) if j.kind == "github"]
        figures.record("faults", "deliveries", len(deliveries))
        figures.record("faults", "deliveries lost", len(set(deliveries) - {j.key for j in jobs}), goal="0")
        figures.record("faults", "deliveries duplicated", len(jobs) - len({j.key for j in jobs}), goal="0")
        assert sorted(j.key for j in jobs) == sorted(deliveries), "one job per delivery, none lost"
        assert {j.status for j in jobs} == {"done"}, [j.last_error for j in jobs if j.status != "done"][:3]
        for job in jobs:
            assert await store.get_step(job.id, HANDLER_STEP) == {}, f"handler of job {job.id} did not finish"
        figures.record("faults", "jobs re-claimed after the kill", sum(1 for j in jobs if j.attempts > 1))
    finally:
        await store.close()


async def _all_finished(store: Store, total: int) -> bool:
    depth = await store.queue_depth()
    return sum(depth.values()) >= total and not depth.get("queued") and not depth.get("running")


@pytest.mark.slow
async def test_sigkill_halfway_loses_nothing(store_url: str, tmp_path: Path, figures: FigureRecorder) -> None:
    """One process, on SQLite and on PostgreSQL."""
    await run_kill_scenario(store_url, tmp_path, figures, processes=1, total=DELIVERIES)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["postgresql"])  # several processes share a queue only on PostgreSQL
async def test_two_processes_share_the_queue_through_a_kill(
    store_url: str, tmp_path: Path, figures: FigureRecorder
) -> None:
    await run_kill_scenario(store_url, tmp_path, figures, processes=2, total=TWO_PROCESS_DELIVERIES)


async def run_kill_scenario(
    store_url: str, tmp_path: Path, figures: FigureRecorder, *, processes: int, total: int
) -> None:
    env = base_env(None, store_url, FIXLOOP_LOG_LEVEL="INFO", FIXLOOP_JOB_LEASE_SECONDS="2")
    apps = [await AppProcess(env, tmp_path / f"app{i}.log").start() for i in range(processes)]
    deliveries = [str(uuid.uuid4()) for _ in range(total)]
    try:
        killer = asyncio.create_task(kill_when_half_acknowledged(apps[0], store_url, total))
        acknowledged = await post_deliveries([a.url for a in apps], deliveries)
        await killer
        await apps[0].start()  # same port, same store: picks up what the dead process held
        missed = [d for d in deliveries if d not in acknowledged]
        again = await post_deliveries([a.url for a in apps], missed + deliveries[:50])
        assert set(missed) <= again
        await assert_every_delivery_ran_once(store_url, deliveries, figures)
    finally:
        for app in apps:
            await app.stop()


@pytest.mark.slow
async def test_jobs_run_in_a_separate_worker_process(store_url: str, tmp_path: Path) -> None:
    """`serve` with FIXLOOP_RUN_WORKERS=false only stores deliveries; `python -m app worker` runs them."""
    env = base_env(None, store_url, FIXLOOP_LOG_LEVEL="INFO")
    intake = await AppProcess({**env, "FIXLOOP_RUN_WORKERS": "false"}, tmp_path / "intake.log").start()
    deliveries = [str(uuid.uuid4()) for _ in range(20)]
    try:
        assert await post_deliveries([intake.url], deliveries) == set(deliveries)
        store = await open_store(store_url)
        try:
            await asyncio.sleep(1.5)
            assert (await store.queue_depth())["queued"] >= 20, "the intake runs no job"
            worker = await AppProcess(env, tmp_path / "worker.log", command="worker").start()
            try:
                await wait_until(lambda: _none_queued(store), 30, "the worker to run every job")
            finally:
                await worker.stop()
        finally:
            await store.close()
    finally:
        await intake.stop()


async def _none_queued(store: Store) -> bool:
    depth = await store.queue_depth()
    return not depth.get("queued") and not depth.get("running") and depth.get("done", 0) >= 20
