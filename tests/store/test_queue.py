"""The job queue on both engines: dedup, exclusive claims, leases, ownership, retries, steps."""

from __future__ import annotations

import asyncio

import pytest

from app.store import JobStatus, Store
from tests.store.fixtures import FakeClock


async def test_enqueue_dedups_kind_and_key(store: Store) -> None:
    first = await store.enqueue("webhook", "delivery-1", {"n": 1})
    again = await store.enqueue("webhook", "delivery-1", {"n": 2})
    other_kind = await store.enqueue("notify", "delivery-1", {})
    assert first[1] is True
    assert again == (first[0], False)
    assert other_kind[1] is True and other_kind[0] != first[0]
    job = await store.get_job(first[0])
    assert job is not None and job.payload == {"n": 1} and job.status is JobStatus.QUEUED


async def test_concurrent_enqueues_of_one_key_make_one_job(store: Store, other_store: Store) -> None:
    calls = [s.enqueue("webhook", "same", {"i": i}) for i in range(10) for s in (store, other_store)]
    results = await asyncio.gather(*calls)
    assert sum(created for _, created in results) == 1
    assert len({job_id for job_id, _ in results}) == 1
    assert (await store.queue_depth())["queued"] == 1


async def _drain(store: Store, worker: str) -> list[int]:
    claimed = []
    while (job := await store.claim(worker, 60)) is not None:
        claimed.append(job.id)
        await asyncio.sleep(0)  # let the other claimers interleave
    return claimed


async def test_each_job_is_claimed_by_exactly_one_of_many_claimers(store: Store, other_store: Store) -> None:
    ids = [(await store.enqueue("k", f"job-{i}", {}))[0] for i in range(40)]
    claimers = [_drain(s, f"w{n}-{i}") for i in range(6) for n, s in enumerate((store, other_store))]
    claimed = [job_id for batch in await asyncio.gather(*claimers) for job_id in batch]
    assert sorted(claimed) == sorted(ids)  # nothing claimed twice, nothing left behind
    assert (await store.queue_depth())["running"] == 40


async def test_claim_takes_oldest_due_job_and_counts_the_attempt(store: Store, clock: FakeClock) -> None:
    later, _ = await store.enqueue("k", "later", {}, delay=30)
    first, _ = await store.enqueue("k", "first", {})
    second, _ = await store.enqueue("k", "second", {})
    got = [await store.claim("w", 60), await store.claim("w", 60), await store.claim("w", 60)]
    assert [job.id if job else None for job in got] == [first, second, None]
    assert got[0] is not None and got[0].attempts == 1 and got[0].worker_id == "w"
    assert got[0].lease_until == pytest.approx(clock() + 60, abs=1)
    clock.advance(31)
    job = await store.claim("w", 60)
    assert job is not None and job.id == later


async def test_claim_filters_by_kind(store: Store) -> None:
    await store.enqueue("a", "1", {})
    b, _ = await store.enqueue("b", "1", {})
    job = await store.claim("w", 60, kinds=["b"])
    assert job is not None and job.id == b
    assert await store.claim("w", 60, kinds=["b"]) is None
    assert await store.claim("w", 60, kinds=[]) is None


async def test_expired_lease_is_claimed_again_and_old_owner_is_locked_out(
    store: Store, clock: FakeClock
) -> None:
    job_id, _ = await store.enqueue("k", "x", {})
    assert await store.claim("old", 30) is not None
    assert await store.claim("new", 30) is None  # leased
    clock.advance(31)  # the old worker was SIGKILLed
    job = await store.claim("new", 30)
    assert job is not None and job.id == job_id and job.attempts == 2 and job.worker_id == "new"
    assert await store.heartbeat(job_id, "old", 30) is False
    assert await store.complete(job_id, "old") is False
    assert await store.retry_later(job_id, "old", 0, "boom") is False
    assert await store.fail(job_id, "old", "boom") is False
    assert await store.heartbeat(job_id, "new", 30) is True
    assert await store.complete(job_id, "new") is True
    done = await store.get_job(job_id)
    assert done is not None and done.status is JobStatus.DONE and done.finished_at is not None
    assert await store.complete(job_id, "new") is False  # already finished


async def test_heartbeat_extends_the_lease(store: Store, clock: FakeClock) -> None:
    job_id, _ = await store.enqueue("k", "x", {})
    await store.claim("w", 30)
    clock.advance(20)
    assert await store.heartbeat(job_id, "w", 30)
    clock.advance(20)  # 40 s after the claim, 20 s after the heartbeat
    assert await store.claim("other", 30) is None


async def test_retry_later_requeues_after_the_delay_and_keeps_the_error(
    store: Store, clock: FakeClock
) -> None:
    job_id, _ = await store.enqueue("k", "x", {})
    await store.claim("w", 30)
    assert await store.retry_later(job_id, "w", 120, "TransientError: 502")
    queued = await store.get_job(job_id)
    assert queued is not None and queued.status is JobStatus.QUEUED and queued.worker_id is None
    assert queued.last_error == "TransientError: 502"
    clock.advance(119)
    assert await store.claim("w", 30) is None
    clock.advance(2)
    again = await store.claim("w", 30)
    assert again is not None and again.attempts == 2 and again.last_error == "TransientError: 502"


async def test_fail_is_permanent_and_keeps_the_reason(store: Store, clock: FakeClock) -> None:
    job_id, _ = await store.enqueue("k", "x", {})
    await store.claim("w", 30)
    assert await store.fail(job_id, "w", "no mapping for rollout")
    clock.advance(10_000)
    assert await store.claim("w", 30) is None
    job = await store.get_job(job_id)
    assert job is not None and job.status is JobStatus.FAILED and job.last_error == "no mapping for rollout"
    assert [j.id for j in await store.list_jobs(status="failed")] == [job_id]
    assert (await store.enqueue("k", "x", {}))[1] is False  # a redelivery does not resurrect it


async def test_queue_depth_and_listing(store: Store) -> None:
    for i in range(3):
        await store.enqueue("k", str(i), {})
    await store.claim("w", 30)
    assert await store.queue_depth() == {"queued": 2, "running": 1, "done": 0, "failed": 0}
    listed = await store.list_jobs(limit=2)
    assert [job.key for job in listed] == ["2", "1"]
    assert await store.get_job(9999) is None


async def test_steps_are_remembered_per_job(store: Store) -> None:
    job_id, _ = await store.enqueue("k", "x", {})
    other, _ = await store.enqueue("k", "y", {})
    assert await store.get_step(job_id, "create_issue") is None
    await store.save_step(job_id, "create_issue", {"number": 7})
    await store.save_step(job_id, "create_issue", {"number": 8})  # a second save does not overwrite
    assert await store.get_step(job_id, "create_issue") == {"number": 7}
    assert await store.get_step(other, "create_issue") is None


async def test_purge_drops_old_finished_jobs_only(store: Store, clock: FakeClock) -> None:
    done, _ = await store.enqueue("k", "done", {})
    await store.claim("w", 30)
    await store.save_step(done, "s", {})
    await store.complete(done, "w")
    queued, _ = await store.enqueue("k", "queued", {})
    clock.advance(8 * 86400)
    assert await store.purge_jobs(older_than=7 * 86400) == 1
    assert await store.get_job(done) is None and await store.get_step(done, "s") is None
    assert await store.get_job(queued) is not None
    assert (await store.enqueue("k", "done", {}))[1] is True
