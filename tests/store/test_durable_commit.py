"""The intake's commit is durable: on SQLite its WAL is synced to the disk before the delivery is acknowledged.

The connection runs at ``synchronous = NORMAL`` (a commit reaches the OS, and the disk at the next checkpoint),
which is enough for claims, outcomes and steps: lost in a power cut, they are redone once the lease expires.
A job insert is what GitHub's acknowledgement stands for, and GitHub does not send a delivery again by itself:
its commit runs at FULL. The strace test watches the real system calls; the others check the level around it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.store import Store, open_store
from app.store.sqlite import SqliteDriver
from tests.processes import ROOT

NORMAL = 1  # PRAGMA synchronous reads back as a number: 0 OFF, 1 NORMAL, 2 FULL


async def _level(store: Store) -> int:
    assert isinstance(store._db, SqliteDriver)
    row = await store._db.fetchrow("PRAGMA synchronous")
    assert row is not None
    return int(row["synchronous"])


async def test_the_connection_is_back_at_normal_after_a_durable_commit(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'fixloop.db'}")
    try:
        assert await _level(store) == NORMAL
        await store.enqueue("github", "one", {"n": 1})
        assert await _level(store) == NORMAL
    finally:
        await store.close()


async def test_a_durable_transaction_that_fails_leaves_normal_and_no_row(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'fixloop.db'}")
    try:
        assert isinstance(store._db, SqliteDriver)
        with pytest.raises(RuntimeError, match="in the middle"):
            async with store._db.transaction(quick=True, durable=True) as conn:
                await conn.execute(
                    "INSERT INTO jobs (kind, key, status, attempts, run_after, created_at, updated_at)"
                    " VALUES ('github', 'half', 'queued', 0, 0, 0, 0)"
                )
                raise RuntimeError("in the middle")
        assert await _level(store) == NORMAL
        assert await store.list_jobs() == []
        job_id, created = await store.enqueue("github", "after", {"n": 2})  # the connection still works
        assert created and (await store.get_job(job_id)) is not None
    finally:
        await store.close()


async def test_a_commit_sqlite_refuses_leaves_no_transaction_open(tmp_path: Path) -> None:
    """A deferred foreign key fails at COMMIT, and SQLite keeps the transaction open then: it is rolled
    back, so the next write does not meet "cannot start a transaction within a transaction"."""
    store = await open_store(f"sqlite:///{tmp_path / 'fixloop.db'}")
    try:
        assert isinstance(store._db, SqliteDriver)
        await store._db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await store._db.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            async with store._db.transaction(quick=True, durable=True) as conn:
                await conn.execute("INSERT INTO child (parent) VALUES (42)")
        assert await store._db.fetch("SELECT * FROM child") == []
        assert await _level(store) == NORMAL
        job_id, created = await store.enqueue("github", "after", {"n": 3})
        assert created and (await store.get_job(job_id)) is not None
    finally:
        await store.close()


# The child marks each phase with getppid(), a call nothing else in it makes, and strace lists the syncs
# between the marks with the file each one synced (-y).
CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from app.store import open_store

    async def main(path):
        store = await open_store(f"sqlite:///{path}")
        await store.enqueue("github", "warm-up", {"n": 0})
        claimed = await store.claim("w", 30)
        await store.complete(claimed.id, "w")
        os.getppid()
        await store.enqueue("github", "delivery", {"n": 1})
        os.getppid()
        claimed = await store.claim("w", 30)
        await store.save_step(claimed.id, "handler", {})
        await store.complete(claimed.id, "w")
        os.getppid()
        await store.close()

    asyncio.run(main(sys.argv[1]))
    """
)


def _phases(trace: str) -> list[list[str]]:
    phases: list[list[str]] = [[]]
    for line in trace.splitlines():
        if "getppid(" in line:
            phases.append([])
        elif "sync(" in line and "= 0" in line:
            phases[-1].append(line)
    return phases


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (.ci/run installs it)")
def test_only_the_insert_waits_for_the_disk(tmp_path: Path) -> None:
    database = tmp_path / "fixloop.db"
    trace = tmp_path / "trace.txt"
    command = ["strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,getppid", "-o", str(trace)]
    done = subprocess.run(
        [*command, sys.executable, "-c", CHILD, str(database)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace may not trace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    _, insert, job, _ = _phases(trace.read_text())
    assert any(f"{database.name}-wal>" in line for line in insert), f"the insert's WAL not synced: {insert}"
    assert job == [], f"claim, step and completion waited for the disk: {job}"


async def test_the_store_says_when_its_commits_are_not_durable(store_url: str, engine: str) -> None:
    store = await open_store(store_url)
    try:
        assert await store.durability_problem() == ""
    finally:
        await store.close()
    if engine != "postgresql":
        return
    # Query parameters become server settings: a database whose commits do not wait for the WAL flush.
    weak = await open_store(f"{store_url}&synchronous_commit=off")
    try:
        assert "synchronous_commit = off" in await weak.durability_problem()
    finally:
        await weak.close()
