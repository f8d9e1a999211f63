"""The intake's saturation signal (deliveries queued for one commit) and the workers' bounded share."""

from __future__ import annotations

import asyncio

import pytest

from app.jobs import JobContext
from app.store import Job, JobStatus, Store
from app.store.priority_lock import URGENT
from tests.store.fixtures import RunnerFactory


async def _delivery(store: Store, key: str) -> tuple[int, bool]:
    URGENT.set(True)  # what the intake routes set for their own task
    return await store.enqueue("github", key, {"key": key})


async def test_deliveries_queued_for_one_commit_mark_the_intake_saturated(store: Store) -> None:
    assert not store.intake_saturated(within=60)
    await asyncio.gather(*(store.enqueue("github", f"job-{n}", {}) for n in range(5)))
    assert not store.intake_saturated(within=60), "jobs enqueueing jobs are not the intake"
    await _delivery(store, "alone")
    assert not store.intake_saturated(within=60), "one delivery at a time is not saturation"
    await asyncio.gather(*(_delivery(store, f"delivery-{n}") for n in range(5)))
    assert store.intake_saturated(within=60)


async def test_workers_keep_doing_jobs_while_the_intake_is_saturated(
    store: Store, make_runner: RunnerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "intake_saturated", lambda within: True)
    done: list[int] = []
    all_done = asyncio.Event()
    ids = [(await store.enqueue("github", f"k{n}", {}))[0] for n in range(6)]

    async def handle(job: Job, ctx: JobContext) -> None:
        done.append(job.id)
        if len(done) == len(ids):
            all_done.set()

    runner = make_runner({"github": handle}, poll_interval=0.01, saturated_pause=0.01)
    await asyncio.wait_for(all_done.wait(), 10)
    await runner.stop(drain_timeout=1)
    assert sorted(done) == ids
    for job_id in ids:
        job = await store.get_job(job_id)
        assert job is not None and job.status is JobStatus.DONE
