"""Job payloads in their own table (schema step 2): moved from v1, read back, and an unreadable one."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from app.jobs import JobContext
from app.store import Job, JobStatus, JSONText, Store, open_store
from app.store.schema import MIGRATIONS
from tests.store.fixtures import RunnerFactory


async def _run_until_settled(
    store: Store, make_runner: RunnerFactory, job_ids: list[int], ran: list[int]
) -> None:
    async def handle(job: Job, ctx: JobContext) -> None:
        ran.append(job.id)

    make_runner({"github": handle}, concurrency=1, poll_interval=0.01)
    async with asyncio.timeout(10):
        while True:
            jobs = [await store.get_job(job_id) for job_id in job_ids]
            if all(job is not None and job.status in {JobStatus.DONE, JobStatus.FAILED} for job in jobs):
                return
            await asyncio.sleep(0.01)


async def test_a_payload_that_cannot_be_parsed_fails_its_job_not_the_queue(
    store: Store, make_runner: RunnerFactory
) -> None:
    broken, _ = await store.enqueue("github", "broken", JSONText('{"event": "issues", "payload": {'))
    fine, _ = await store.enqueue("github", "fine", {"event": "issues"})
    listed = {job.id: job for job in await store.list_jobs()}  # reading it back does not raise either
    assert listed[broken].payload == {} and "not JSON" in listed[broken].payload_error
    ran: list[int] = []
    await _run_until_settled(store, make_runner, [broken, fine], ran)
    assert ran == [fine], "the unreadable job's handler never runs; the next job's does"
    failed = await store.get_job(broken)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.attempts == 1
    assert failed.last_error is not None and "stored payload is not JSON" in failed.last_error


async def test_closing_a_store_twice_is_harmless(store_url: str) -> None:
    opened = await open_store(store_url)
    await opened.enqueue("github", "before-close", {"n": 1})
    await opened.close()
    await opened.close()


async def test_payloads_of_a_v1_database_are_moved_to_their_table(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:  # a database as schema step 1 left it, with a job queued
        db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        types = {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "float": "REAL", "blob": "BLOB"}
        for statement in MIGRATIONS[0]:
            db.execute(statement.format(**types))
        db.execute("INSERT INTO schema_version VALUES (1, ?)", (time.time(),))
        db.execute(
            "INSERT INTO jobs (kind, key, payload, status, attempts, run_after, created_at, updated_at)"
            " VALUES ('github', 'old', '{\"event\": \"issues\"}', 'queued', 0, 0, 0, 0)"
        )
    store = await open_store(f"sqlite:///{path}")
    try:
        job = await store.claim("w", 30)
        assert job is not None and job.key == "old" and job.payload == {"event": "issues"}
        assert job.payload_error == ""
    finally:
        await store.close()
