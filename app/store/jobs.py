"""The durable job queue: dedup by (kind, key), leased claims, ownership-guarded outcomes, steps.

Lease semantics: ``claim`` sets ``status = running``, ``worker_id`` and ``lease_until = now + lease``,
and counts the attempt. A running job whose lease has passed is runnable again (that is how the jobs of
a SIGKILLed process come back). Every outcome (heartbeat, complete, retry_later, fail) only applies if
the job is still running *and* owned by the caller, so a worker that lost its lease cannot clobber the
new owner; the methods say whether they applied.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from app.store.base import StoreBase, in_list
from app.store.records import JSON, Job, JobStatus, JSONText, dump_json, load_json

_MAX_ERROR = 4000
# A job with its payload (schema step 2 keeps payloads in a table of their own).
_WITH_PAYLOAD = "SELECT j.*, p.payload FROM jobs j LEFT JOIN job_payloads p ON p.job_id = j.id"


def _oldest(status: str, due: str, kind_filter: str, lock: str) -> str:
    """The oldest runnable job of one status, found through that status's partial index. One query with
    ``queued OR expired`` could use neither index for its order: at every claim it sorted every queued
    row, reading each one's 12 KB payload pages to reach the columns after it (at 20,000 queued jobs the
    workers did 80 jobs/s, holding the SQLite lock the intake waits for)."""
    return (
        f"SELECT id, run_after FROM jobs WHERE status = '{status}' AND {due} <= $1{kind_filter}"  # noqa: S608
        f" ORDER BY run_after, id LIMIT 1{lock}"
    )


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


class JobQueries(StoreBase):
    async def enqueue(
        self, kind: str, key: str, payload: JSON | JSONText, *, delay: float = 0
    ) -> tuple[int, bool]:
        """Queue a job once per (kind, key); return (job id, whether this call created it).

        Returns once the row is committed; concurrent calls share one statement and one commit
        (``app.store.group_commit``).
        """
        text = payload.text if isinstance(payload, JSONText) else dump_json(payload)
        return await self._job_inserts.insert(kind, key, text, delay)

    async def claim(
        self, worker_id: str, lease_seconds: float, kinds: Collection[str] | None = None
    ) -> Job | None:
        """Atomically take the oldest runnable job (queued and due, or running with an expired lease)."""
        now = self.now()
        args: list[Any] = [now, worker_id, now + lease_seconds]
        kind_filter = f" AND {in_list('kind', list(kinds), args)}" if kinds is not None else ""
        due = _oldest("queued", "run_after", kind_filter, self._db.skip_locked)
        expired = _oldest("running", "lease_until", kind_filter, self._db.skip_locked)
        # Only the kind placeholders and the lock clause are formatted in, never a value.
        sql = (
            "UPDATE jobs SET status = 'running', worker_id = $2, lease_until = $3,"  # noqa: S608
            " attempts = attempts + 1, updated_at = $1"
            f" WHERE id = (SELECT id FROM (SELECT id, run_after FROM ({due}) AS due"
            f" UNION ALL SELECT id, run_after FROM ({expired}) AS expired) AS candidates"
            " ORDER BY run_after, id LIMIT 1)"
            " RETURNING *"
        )
        # One statement, atomic on its own (no BEGIN/COMMIT round trips: the claim is on every job's path).
        # PostgreSQL: SKIP LOCKED lets concurrent claimers pass over each other's row, and the row is
        # re-checked after locking. SQLite: a lone write statement takes the database write lock before it
        # reads (waiting for it under busy_timeout), so no other process can claim in between.
        row = await self._db.quick_fetchrow(sql, *args)
        if row is None:
            return None
        # A second statement, not a join in the claim's RETURNING (SQLite has no UPDATE in a WITH); should
        # it fail, the job is leased and comes back when its lease expires, as after a crash.
        found = await self._db.quick_fetchrow("SELECT payload FROM job_payloads WHERE job_id = $1", row["id"])
        return Job.from_row({**row, "payload": None if found is None else found["payload"]})

    async def heartbeat(self, job_id: int, worker_id: str, lease_seconds: float) -> bool:
        """Extend the lease; False if the job is no longer running under this worker."""
        now = self.now()
        changed = await self._db.quick_execute(
            "UPDATE jobs SET lease_until = $1, updated_at = $2"
            " WHERE id = $3 AND worker_id = $4 AND status = 'running'",
            now + lease_seconds,
            now,
            job_id,
            worker_id,
        )
        return changed == 1

    async def complete(self, job_id: int, worker_id: str) -> bool:
        return await self._finish(job_id, worker_id, JobStatus.DONE, None)

    async def fail(self, job_id: int, worker_id: str, reason: str) -> bool:
        """Mark the job failed for good, keeping the reason."""
        return await self._finish(job_id, worker_id, JobStatus.FAILED, reason)

    async def _finish(self, job_id: int, worker_id: str, status: JobStatus, error: str | None) -> bool:
        now = self.now()
        changed = await self._db.quick_execute(
            "UPDATE jobs SET status = $1, last_error = COALESCE($2, last_error), lease_until = NULL,"
            " finished_at = $3, updated_at = $3"
            " WHERE id = $4 AND worker_id = $5 AND status = 'running'",
            status.value,
            None if error is None else _clip(error),
            now,
            job_id,
            worker_id,
        )
        return changed == 1

    async def retry_later(self, job_id: int, worker_id: str, delay: float, error: str) -> bool:
        """Put the job back in the queue, runnable after ``delay`` seconds; keep the error."""
        now = self.now()
        changed = await self._db.quick_execute(
            "UPDATE jobs SET status = 'queued', run_after = $1, last_error = $2, worker_id = NULL,"
            " lease_until = NULL, updated_at = $3"
            " WHERE id = $4 AND worker_id = $5 AND status = 'running'",
            now + max(delay, 0.0),
            _clip(error),
            now,
            job_id,
            worker_id,
        )
        return changed == 1

    async def get_job(self, job_id: int) -> Job | None:
        row = await self._db.quick_fetchrow(f"{_WITH_PAYLOAD} WHERE j.id = $1", job_id)
        return Job.from_row(row) if row else None

    async def list_jobs(self, status: JobStatus | str | None = None, limit: int = 100) -> list[Job]:
        """Newest first."""
        if status is None:
            rows = await self._db.fetch(f"{_WITH_PAYLOAD} ORDER BY j.id DESC LIMIT $1", limit)
        else:
            rows = await self._db.fetch(
                f"{_WITH_PAYLOAD} WHERE j.status = $1 ORDER BY j.id DESC LIMIT $2", str(status), limit
            )
        return [Job.from_row(row) for row in rows]

    async def queue_depth(self) -> dict[str, int]:
        """Jobs by status; every status is present (0 when none)."""
        rows = await self._db.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
        depth = {status.value: 0 for status in JobStatus}
        depth.update({row["status"]: int(row["n"]) for row in rows})
        return depth

    async def purge_jobs(self, older_than: float) -> int:
        """Delete finished jobs (and their steps) finished more than ``older_than`` seconds ago.

        Keep this well above GitHub's redelivery window (3 days): the job row is what dedups a delivery.
        """
        return await self._db.execute(
            "DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1", self.now() - older_than
        )

    async def get_step(self, job_id: int, step: str) -> JSON | None:
        row = await self._db.quick_fetchrow(
            "SELECT result FROM job_steps WHERE job_id = $1 AND step = $2", job_id, step
        )
        return load_json(row["result"]) if row else None

    async def save_step(self, job_id: int, step: str, result: JSON) -> None:
        """Remember a step's result; the first saved result wins."""
        await self._db.quick_execute(
            "INSERT INTO job_steps (job_id, step, result, created_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (job_id, step) DO NOTHING",
            job_id,
            step,
            dump_json(result),
            self.now(),
        )
