"""JobRunner against a real store (SQLite and PostgreSQL): outcomes, concurrency, leases, shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.errors import PermanentError, TransientError
from app.jobs import JobContext, backoff
from app.metrics import Metrics
from app.store import Job, JobStatus, Store
from tests.store.fixtures import (
    FakeClock,
    RunnerFactory,
    clock,
    engine,
    make_runner,
    other_store,
    store,
    store_url,
)

__all__ = ["clock", "engine", "make_runner", "other_store", "store", "store_url"]  # fixtures, for pytest


async def until(predicate: Callable[[], Any], within: float = 5.0) -> None:
    """Poll a (possibly async) condition; fail the test if it does not hold in time."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.01)


async def status_of(store: Store, job_id: int) -> JobStatus:
    job = await store.get_job(job_id)
    assert job is not None
    return job.status


async def test_runs_jobs_with_bounded_concurrency(store: Store, make_runner: RunnerFactory) -> None:
    running, peak, seen = 0, 0, []

    async def handle(job: Job, ctx: JobContext) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        seen.append(job.payload["n"])
        running -= 1

    ids = [(await store.enqueue("work", f"k{n}", {"n": n}))[0] for n in range(12)]
    metrics = Metrics()
    runner = make_runner({"work": handle}, concurrency=3, metrics=metrics)
    runner.wake()
    await until(lambda: len(seen) == 12)
    assert sorted(seen) == list(range(12))
    assert peak == 3
    await until(lambda: _all_done(store, ids))
    assert metrics.registry.get_sample_value("fixloop_jobs_total", {"kind": "work", "outcome": "done"}) == 12
    latency = metrics.registry.get_sample_value("fixloop_job_latency_seconds_count", {"kind": "work"})
    assert latency == 12


async def _is(store: Store, job_id: int, status: JobStatus) -> bool:
    return await status_of(store, job_id) is status


async def _all_done(store: Store, ids: list[int]) -> bool:
    return all([await _is(store, job_id, JobStatus.DONE) for job_id in ids])


async def test_transient_error_honours_retry_after(
    store: Store, clock: FakeClock, make_runner: RunnerFactory
) -> None:
    calls: list[float] = []

    async def handle(job: Job, ctx: JobContext) -> None:
        calls.append(store.now())
        if len(calls) == 1:
            raise TransientError("secondary rate limit", retry_after=60)

    job_id, _ = await store.enqueue("gh", "x", {})
    runner = make_runner({"gh": handle})
    runner.wake()
    await until(lambda: calls and _is(store, job_id, JobStatus.QUEUED))
    job = await store.get_job(job_id)
    assert job is not None and job.run_after >= calls[0] + 60  # never sooner than asked
    assert job.last_error == "TransientError: secondary rate limit"
    await asyncio.sleep(0.1)  # several poll intervals: it must not run early
    assert len(calls) == 1
    clock.advance(61)
    runner.wake()
    await until(lambda: _is(store, job_id, JobStatus.DONE))
    assert len(calls) == 2 and calls[1] - calls[0] >= 60


async def test_unexpected_errors_retry_with_backoff_then_fail(
    store: Store, make_runner: RunnerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    async def handle(job: Job, ctx: JobContext) -> None:
        attempts.append(job.attempts)
        raise KeyError("pull_request")

    metrics = Metrics()
    job_id, _ = await store.enqueue("bug", "x", {})
    make_runner({"bug": handle}, max_attempts=3, metrics=metrics).wake()
    await until(lambda: _is(store, job_id, JobStatus.FAILED))
    job = await store.get_job(job_id)
    assert job is not None and attempts == [1, 2, 3]
    assert job.last_error == "gave up after 3 attempts: KeyError: 'pull_request'"
    assert "job handler crashed" in caplog.text and "Traceback" in caplog.text
    sample = metrics.registry.get_sample_value
    assert sample("fixloop_jobs_total", {"kind": "bug", "outcome": "retried"}) == 2
    assert sample("fixloop_jobs_total", {"kind": "bug", "outcome": "failed"}) == 1


def test_backoff_grows_is_capped_and_jittered() -> None:
    for attempt, full in ((1, 2.0), (2, 4.0), (5, 32.0), (20, 600.0)):
        delays = [backoff(attempt) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1


async def test_permanent_error_and_unknown_kind_fail_at_once(
    store: Store, make_runner: RunnerFactory
) -> None:
    async def handle(job: Job, ctx: JobContext) -> None:
        raise PermanentError("no fixloop.dev/repo annotation")

    bad, _ = await store.enqueue("notify", "x", {})
    unknown, _ = await store.enqueue("nobody-handles-this", "y", {})
    make_runner({"notify": handle}).wake()
    await until(lambda: _is(store, bad, JobStatus.FAILED))
    await until(lambda: _is(store, unknown, JobStatus.FAILED))
    failed = {job.id: job for job in await store.list_jobs(status=JobStatus.FAILED)}
    assert failed[bad].attempts == 1
    assert failed[bad].last_error == "PermanentError: no fixloop.dev/repo annotation"
    assert failed[unknown].last_error == "unknown job kind 'nobody-handles-this'"


async def test_steps_are_skipped_when_a_job_runs_again(store: Store, make_runner: RunnerFactory) -> None:
    side_effects: list[str] = []

    async def handle(job: Job, ctx: JobContext) -> None:
        async def create_issue() -> dict[str, Any]:
            side_effects.append("issue")
            return {"number": 17}

        issue = await ctx.step("create_issue", create_issue)
        assert issue == {"number": 17}
        if job.attempts == 1:
            raise TransientError("502 while labelling")
        side_effects.append(f"label #{issue['number']}")

    job_id, _ = await store.enqueue("file", "x", {})
    make_runner({"file": handle}).wake()
    await until(lambda: _is(store, job_id, JobStatus.DONE))
    assert side_effects == ["issue", "label #17"]


async def test_stop_drains_running_jobs(store: Store, make_runner: RunnerFactory) -> None:
    started, finished = asyncio.Event(), []

    async def handle(job: Job, ctx: JobContext) -> None:
        started.set()
        await asyncio.sleep(0.1)
        finished.append(job.id)

    job_id, _ = await store.enqueue("slow", "x", {})
    later, _ = await store.enqueue("slow", "y", {}, delay=0.05)
    runner = make_runner({"slow": handle}, concurrency=1)
    runner.wake()
    await started.wait()
    await runner.stop(drain_timeout=5)
    assert finished == [job_id]
    assert await status_of(store, job_id) is JobStatus.DONE
    assert await status_of(store, later) is JobStatus.QUEUED  # no claims once stopping


async def test_stop_timeout_leaves_the_job_leased_for_a_later_run(
    store: Store, clock: FakeClock, make_runner: RunnerFactory
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handle(job: Job, ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job_id, _ = await store.enqueue("stuck", "x", {})
    runner = make_runner({"stuck": handle}, lease_seconds=30)
    runner.wake()
    await started.wait()
    await runner.stop(drain_timeout=0.05)
    assert cancelled.is_set()
    job = await store.get_job(job_id)
    assert job is not None and job.status is JobStatus.RUNNING and job.worker_id is not None
    assert await store.claim("next-process", 30) is None  # still leased
    clock.advance(31)
    again = await store.claim("next-process", 30)
    assert again is not None and again.id == job_id and again.attempts == 2


async def test_heartbeats_keep_a_long_job_leased(store: Store, make_runner: RunnerFactory) -> None:
    release = asyncio.Event()

    async def handle(job: Job, ctx: JobContext) -> None:
        await release.wait()

    job_id, _ = await store.enqueue("long", "x", {})
    make_runner({"long": handle}, lease_seconds=0.15).wake()
    await until(lambda: _is(store, job_id, JobStatus.RUNNING))
    for _ in range(4):  # 0.4 s: well past the first lease
        await asyncio.sleep(0.1)
        assert await store.claim("thief", 0.15) is None
    release.set()
    await until(lambda: _is(store, job_id, JobStatus.DONE))


async def test_a_lost_lease_cancels_the_handler(
    store: Store, clock: FakeClock, make_runner: RunnerFactory
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handle(job: Job, ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    job_id, _ = await store.enqueue("k", "x", {})
    metrics = Metrics()
    make_runner({"k": handle}, lease_seconds=0.15, metrics=metrics).wake()
    await started.wait()
    clock.advance(1)  # our lease looks expired to another process, which takes the job
    stolen = await store.claim("other-process", 30)
    assert stolen is not None and stolen.id == job_id
    await asyncio.wait_for(cancelled.wait(), 2)
    lost = {"kind": "k", "outcome": "lease_lost"}
    await until(lambda: metrics.registry.get_sample_value("fixloop_jobs_total", lost) == 1)
    assert await store.complete(job_id, "other-process")  # the new owner was not clobbered


async def test_a_job_that_keeps_crashing_its_process_is_failed(
    store: Store, clock: FakeClock, make_runner: RunnerFactory
) -> None:
    ran: list[int] = []

    async def handle(job: Job, ctx: JobContext) -> None:
        ran.append(job.id)

    job_id, _ = await store.enqueue("oom", "x", {})
    for n in range(2):  # two processes died while running it
        assert await store.claim(f"dead-{n}", 30) is not None
        clock.advance(31)
    make_runner({"oom": handle}, max_attempts=2).wake()
    await until(lambda: _is(store, job_id, JobStatus.FAILED))
    job = await store.get_job(job_id)
    assert ran == [] and job is not None and job.last_error is not None
    assert job.last_error.startswith("gave up after 2 attempts")


async def test_wake_starts_a_job_without_waiting_for_the_poll(
    store: Store, make_runner: RunnerFactory
) -> None:
    done = asyncio.Event()

    async def handle(job: Job, ctx: JobContext) -> None:
        done.set()

    metrics = Metrics()
    runner = make_runner({"fast": handle}, poll_interval=30, metrics=metrics)
    queued = {"status": "queued"}
    await until(lambda: metrics.registry.get_sample_value("fixloop_job_queue_depth", queued) == 0)
    await asyncio.sleep(0.05)  # the workers found nothing and went to sleep for 30 s
    await store.enqueue("fast", "x", {})
    await asyncio.sleep(0.1)
    assert not done.is_set()  # without wake(), it would wait for the poll interval
    started = time.monotonic()
    runner.wake()
    await asyncio.wait_for(done.wait(), 2)
    assert time.monotonic() - started < 1


async def test_context_logger_carries_job_fields(
    store: Store, make_runner: RunnerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def handle(job: Job, ctx: JobContext) -> None:
        ctx.bind(repo="acme/web")
        ctx.log.warning("working", extra={"fields": {"incident": 3}})

    job_id, _ = await store.enqueue("log", "delivery-9", {})
    make_runner({"log": handle}).wake()
    await until(lambda: _is(store, job_id, JobStatus.DONE))
    record = next(r for r in caplog.records if r.getMessage() == "working")
    fields = record.fields  # type: ignore[attr-defined]
    assert fields == {
        "job": job_id,
        "kind": "log",
        "key": "delivery-9",
        "attempt": 1,
        "repo": "acme/web",
        "incident": 3,
    }
