"""SQLite's quick statements run on the event loop's thread, but never wait there for another process."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from app.store import open_store


async def test_a_quick_statement_waits_for_another_processs_lock_off_the_loop(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'fixloop.db'}")
    other = sqlite3.connect(tmp_path / "fixloop.db", isolation_level=None)  # another process, in effect
    try:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        enqueue = asyncio.create_task(store.enqueue("github", "while-locked", {"n": 1}))
        ticks = 0
        while ticks < 20:  # the loop keeps running while the insert waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not enqueue.done(), "the insert waits for the lock (busy timeout), it does not fail"
        other.execute("COMMIT")
        job_id, created = await enqueue
        assert created
        claimed = await store.claim("w", 30)
        assert claimed is not None and claimed.id == job_id and claimed.payload == {"n": 1}
    finally:
        other.close()
        await store.close()
