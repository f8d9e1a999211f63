"""The process's shared services, created once at start and injected everywhere (no globals)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from app.analysis.llm import LLMConfig
from app.github.app import GitHubApp
from app.github.user_tokens import UserTokens
from app.jobs import JobRunner
from app.loop.jobs import job_handlers
from app.loop.stages import Stage
from app.loop.timeouts import run_sweeps
from app.metrics import Metrics
from app.rollouts.kube import KubeClient
from app.settings import Settings
from app.store import JSONText, Store, open_store

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 20.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    store: Store
    session: aiohttp.ClientSession
    github: GitHubApp
    llm_config: LLMConfig
    user_tokens: UserTokens
    kube: KubeClient | None = None  # None: no cluster access configured or reachable at start
    runner: JobRunner | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)  # awaited at stop, errors logged

    async def submit(self, kind: str, key: str, payload: dict[str, Any] | JSONText) -> tuple[int, bool]:
        """Store a job durably, then wake a worker: the caller may acknowledge once this returns."""
        job_id, created = await self.store.enqueue(kind, key, payload)
        if created and self.runner is not None:
            self.runner.wake()
        return job_id, created

    async def refresh_gauges(self) -> None:
        for status, count in (await self.store.queue_depth()).items():
            self.metrics.queue_depth.labels(status).set(count)
        by_stage = await self.store.count_incidents_by_stage()
        for stage in Stage:
            self.metrics.incidents.labels(stage.value).set(by_stage.get(stage.value, 0))


SERVICES = web.AppKey("services", Services)


def worker_prefix() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def start_services(settings: Settings, metrics: Metrics) -> Services:
    """Everything the process needs; the job workers only when ``settings.run_workers``."""
    store = await open_store(settings.database_url)
    session = aiohttp.ClientSession(timeout=HTTP_TIMEOUT)
    services = Services(
        settings=settings,
        metrics=metrics,
        store=store,
        session=session,
        github=GitHubApp(settings, session, metrics),
        llm_config=LLMConfig.from_settings(settings),
        user_tokens=UserTokens(store, settings, session),
        kube=await connect_kube(settings, metrics),
    )
    services.runner = JobRunner(
        store,
        job_handlers(services),
        concurrency=settings.workers,
        lease_seconds=settings.job_lease_seconds,
        max_attempts=settings.job_max_attempts,
        metrics=metrics,
        worker_prefix=worker_prefix(),
    )
    if settings.run_workers:
        services.runner.start()
        services.background.append(asyncio.create_task(run_sweeps(services), name="stage-timeout-sweeps"))
    log.info("fixloop started", extra={"fields": {"database": settings.database_url.split(":")[0]}})
    return services


async def connect_kube(settings: Settings, metrics: Metrics) -> KubeClient | None:
    """The Kubernetes client, or None (logged) when no configuration can be loaded: the app still runs,
    and every incident states that its cluster evidence is missing."""
    try:
        return await KubeClient.create(settings.kubeconfig or None, settings.kube_timeout_seconds, metrics)
    except Exception as exc:  # any failure to load a kubeconfig means "no cluster access"
        log.warning("no Kubernetes access: %s: %s", type(exc).__name__, exc)
        return None


async def stop_services(services: Services) -> None:
    for task in services.background:
        task.cancel()
    for outcome in await asyncio.gather(*services.background, return_exceptions=True):
        if isinstance(outcome, Exception):
            log.error("background task ended with %s: %s", type(outcome).__name__, outcome)
    if services.runner is not None:
        await services.runner.stop(DRAIN_TIMEOUT)
    if services.kube is not None:
        await services.kube.close()
    await services.session.close()
    await services.store.close()
