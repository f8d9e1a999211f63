"""The worker pool: a fixed number of worker tasks claim jobs from the store and run their handlers.

Outcomes: the handler returns → done. ``TransientError`` (and any unexpected exception, logged with its
traceback) → queued again after a capped, jittered exponential backoff, or after the error's
``retry_after`` (never sooner), until ``max_attempts`` → failed with the last error. ``PermanentError``,
an unknown kind or a stored payload that cannot be parsed → failed at once, with the reason.

While a handler runs, a heartbeat extends the job's lease every third of it. If the lease is lost
(another worker re-claimed the job after our lease expired), the handler is cancelled: the new owner is
running it. ``stop()`` stops claiming and drains; handlers still running at the drain deadline are
cancelled *without* touching their job, which keeps its lease and runs again after it expires (here
after a restart, or on another replica). Handlers make side effects idempotent with ``ctx.step``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from app.errors import PermanentError, TransientError
from app.metrics import Metrics
from app.store import JSON, Job, Store

log = logging.getLogger(__name__)

Handler = Callable[["Job", "JobContext"], Awaitable[None]]

_MAX_ERROR = 2000


class JobLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds the job's fields to every record, as ``record.fields`` (what the JSON log formatter emits)."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(kwargs.get("extra") or {})
        extra["fields"] = {**(self.extra or {}), **extra.get("fields", {})}
        kwargs["extra"] = extra
        return msg, kwargs


class JobContext:
    """What a handler gets besides its job: ``step`` for idempotent side effects, and a logger."""

    def __init__(self, store: Store, job: Job, log: JobLogger) -> None:
        self.store = store
        self.job = job
        self.log = log

    def bind(self, **fields: Any) -> None:
        """Add correlation fields (repo, incident, ...) to every later record of ``ctx.log``."""
        assert isinstance(self.log.extra, dict)
        self.log.extra.update(fields)

    async def step(self, name: str, factory: Callable[[], Awaitable[JSON]]) -> JSON:
        """Run ``factory()`` once per job across retries and crashes; later runs get the saved result.

        The result must be a JSON object. A crash between the side effect and the save re-runs the step,
        so a step should also be safe to repeat (e.g. look for the issue it would create first).
        """
        saved = await self.store.get_step(self.job.id, name)
        if saved is not None:
            self.log.debug("step %s already done, skipping", name)
            return saved
        result = await factory()
        await self.store.save_step(self.job.id, name, result)
        return result


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Delay before retry number ``attempt`` (1-based): base·2^(n-1), capped, with "equal jitter"."""
    delay = min(cap, base * 2.0 ** min(attempt - 1, 30))
    return delay / 2 + random.uniform(0, delay / 2)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


async def _call(handler: Handler, job: Job, ctx: JobContext) -> None:
    await handler(job, ctx)


class JobRunner:
    def __init__(
        self,
        store: Store,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int,
        lease_seconds: float,
        max_attempts: int,
        metrics: Metrics | None,
        worker_prefix: str,
        poll_interval: float = 0.5,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        depth_interval: float = 15.0,
        saturated_pause: float = 0.05,
    ) -> None:
        self._store = store
        self._handlers = dict(handlers)
        self._concurrency = concurrency
        self._lease = lease_seconds
        self._max_attempts = max_attempts
        self._metrics = metrics
        # A fresh suffix per runner: a restarted process never mistakes its predecessor's jobs for its own.
        self._prefix = f"{worker_prefix}:{uuid.uuid4().hex[:8]}"
        self._poll = poll_interval
        self._backoff = (backoff_base, backoff_cap)
        self._depth_interval = depth_interval
        self._saturated_pause = saturated_pause
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._monitor: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return bool(self._workers) and not self._stopping.is_set()

    def start(self) -> None:
        if self._workers:
            raise RuntimeError("JobRunner already started")
        self._stopping.clear()
        self._workers = [
            asyncio.create_task(self._worker(f"{self._prefix}:{n}"), name=f"job-worker-{n}")
            for n in range(self._concurrency)
        ]
        self._monitor = asyncio.create_task(self._monitor_depth(), name="job-queue-depth")

    def wake(self) -> None:
        """Tell idle workers there is work now (call after an in-process enqueue)."""
        self._wakeup.set()

    async def stop(self, drain_timeout: float) -> None:
        """Stop claiming; wait up to ``drain_timeout`` for running jobs, then cancel the rest."""
        self._stopping.set()
        self._wakeup.set()
        tasks = [*self._workers, *([self._monitor] if self._monitor else [])]
        if self._monitor:
            self._monitor.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=drain_timeout)
        for task in pending:
            log.warning("job worker %s still busy after %.1fs: cancelling", task.get_name(), drain_timeout)
            task.cancel()
        for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
            if isinstance(result, Exception):
                log.error("job task %s died", task.get_name(), exc_info=result)
        self._workers, self._monitor = [], None

    # ------------------------------------------------------------------ worker loop

    async def _worker(self, worker_id: str) -> None:
        idle = self._poll
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                # Every kind is claimed, so an unknown kind fails loudly instead of waiting forever.
                job = await self._store.claim(worker_id, self._lease)
            except Exception:
                log.exception("job claim failed; backing off %.1fs", idle)
                await self._sleep(idle)
                idle = min(idle * 2, 30.0)
                continue
            idle = self._poll
            if job is None:
                await self._sleep(self._poll)
                continue
            try:
                await self._run(job, worker_id)
            except Exception:  # the store failed while recording the outcome: the lease will bring it back
                log.exception("job %s: could not record its outcome", job.id)
            await self._yield_to_intake()

    async def _yield_to_intake(self) -> None:
        """While this process's intake is saturated, rest a moment after each job. A delivery is
        acknowledged only once stored, and GitHub does not send again one it timed out on, while a stored
        job can wait: the intake gets the CPU first, the workers keep a bounded share (one job per
        worker per pause) and drain the queue at full speed once the burst is over."""
        if self._store.intake_saturated(within=self._saturated_pause):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._saturated_pause)

    async def _sleep(self, seconds: float) -> None:
        """Wait for a wake-up (or stop), at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def _run(self, job: Job, worker_id: str) -> None:
        fields = {"job": job.id, "kind": job.kind, "key": job.key, "attempt": job.attempts}
        jlog = JobLogger(log, fields)
        if job.payload_error:  # stored unreadable: no attempt can succeed
            await self._fail(job, worker_id, job.payload_error, jlog)
            return
        handler = self._handlers.get(job.kind)
        if handler is None:
            await self._fail(job, worker_id, f"unknown job kind {job.kind!r}", jlog)
            return
        if job.attempts > self._max_attempts:  # e.g. a job that keeps crashing its process
            await self._fail(
                job, worker_id, f"gave up after {job.attempts - 1} attempts: {job.last_error}", jlog
            )
            return
        lost = asyncio.Event()
        task = asyncio.create_task(_call(handler, job, JobContext(self._store, job, jlog)))
        beat = asyncio.create_task(self._heartbeat(job, worker_id, task, lost, jlog))
        try:
            await asyncio.wait({task})
        finally:
            beat.cancel()
            if not task.done():  # we are being cancelled (stop's deadline): leave the job leased
                task.cancel()
            await asyncio.gather(task, beat, return_exceptions=True)
        if lost.is_set():
            jlog.warning("lease lost to another worker; abandoned this run")
            self._count(job, "lease_lost")
            return
        if task.cancelled():  # the handler cancelled itself (a stray CancelledError): try again later
            await self._retry(job, worker_id, "handler was cancelled", None, jlog)
            return
        await self._record(job, worker_id, task.exception(), jlog)

    async def _heartbeat(
        self, job: Job, worker_id: str, task: asyncio.Task[None], lost: asyncio.Event, jlog: JobLogger
    ) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                ours = await self._store.heartbeat(job.id, worker_id, self._lease)
            except Exception:
                jlog.warning("heartbeat failed; will try again", exc_info=True)
                continue
            if not ours:
                lost.set()
                task.cancel()
                return

    # ------------------------------------------------------------------ outcomes

    async def _record(self, job: Job, worker_id: str, exc: BaseException | None, jlog: JobLogger) -> None:
        if exc is None:
            await self._store.complete(job.id, worker_id)
            self._count(job, "done")
            if self._metrics:
                self._metrics.job_latency.labels(job.kind).observe(
                    max(0.0, self._store.now() - job.created_at)
                )
            return
        if isinstance(exc, PermanentError):
            await self._fail(job, worker_id, _describe(exc), jlog)
            return
        if not isinstance(exc, TransientError):
            jlog.error("job handler crashed", exc_info=exc)
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        await self._retry(job, worker_id, _describe(exc), retry_after, jlog)

    async def _retry(
        self, job: Job, worker_id: str, error: str, retry_after: float | None, jlog: JobLogger
    ) -> None:
        if job.attempts >= self._max_attempts:
            await self._fail(job, worker_id, f"gave up after {job.attempts} attempts: {error}", jlog)
            return
        base, cap = self._backoff
        delay = backoff(job.attempts, base=base, cap=cap)
        if retry_after is not None:  # the remote side said when: never sooner, a little later
            delay = retry_after + random.uniform(0, min(1.0, retry_after * 0.1))
        jlog.warning("job failed (%s); retrying in %.1fs", error, delay)
        await self._store.retry_later(job.id, worker_id, delay, error)
        self._count(job, "retried")

    async def _fail(self, job: Job, worker_id: str, reason: str, jlog: JobLogger) -> None:
        jlog.error("job failed permanently: %s", reason)
        await self._store.fail(job.id, worker_id, reason)
        self._count(job, "failed")

    def _count(self, job: Job, outcome: str) -> None:
        if self._metrics:
            self._metrics.jobs.labels(job.kind, outcome).inc()

    async def _monitor_depth(self) -> None:
        while True:
            try:
                depth = await self._store.queue_depth()
            except Exception:
                log.warning("could not read the job queue depth", exc_info=True)
            else:
                if self._metrics:
                    for status, count in depth.items():
                        self._metrics.queue_depth.labels(status).set(count)
            await asyncio.sleep(self._depth_interval)
