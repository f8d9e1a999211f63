"""The process's shared services, created once at start and injected everywhere (no globals)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from app.analysis.llm import LLMConfig
from app.clusters import CURRENT_CLUSTER, DEFAULT_CLUSTER, Cluster, ClusterRegistry, load_clusters
from app.github.app import GitHubApp
from app.github.user_tokens import UserTokens
from app.jobs import JobRunner
from app.loop.incident.scorecard import Scorecard, scorecard
from app.loop.incident.stages import Stage
from app.loop.jobs import job_handlers
from app.loop.steps.timeouts import run_sweeps
from app.metrics import Metrics
from app.metrics_scorecard import MAX_REPO_LABELS
from app.registry.client import RegistryClient
from app.rollouts.kube import KubeClient
from app.settings import Settings
from app.store import JSONText, Store, open_store

if TYPE_CHECKING:
    from app.loop.gate import GateEndpoint
    from app.mcp.server import McpServerTask
    from app.ui.routes import FleetUI

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
    registry: RegistryClient | None = None  # None: images' OCI labels are not read
    kubes: dict[str, KubeClient | None] = field(default_factory=dict)  # per cluster; None: unreachable
    clusters: ClusterRegistry = field(default_factory=lambda: ClusterRegistry((), ()))
    runner: JobRunner | None = None
    # One per process, made on first use where they are needed (the MCP server at start, when served):
    mcp: McpServerTask | None = None
    ui: FleetUI | None = None  # the fleet pages' sessions, access cache and token endpoint
    gate: GateEndpoint | None = None  # the canary gate's cache
    last_scorecard: Scorecard | None = None  # app.loop.incident.scorecard recomputes it every CACHE_SECONDS
    background: list[asyncio.Task[None]] = field(default_factory=list)  # awaited at stop, errors logged

    @property
    def kube(self) -> KubeClient | None:
        """The client of the cluster this task works for (``CURRENT_CLUSTER``); None: no access."""
        return self.kubes.get(CURRENT_CLUSTER.get())

    @kube.setter
    def kube(self, client: KubeClient | None) -> None:
        self.kubes[CURRENT_CLUSTER.get()] = client

    def kube_for(self, cluster: str) -> KubeClient | None:
        """The client of ``cluster`` only: never another cluster's, None when it is not reachable."""
        return self.kubes.get(cluster)

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
        card = await scorecard(self)
        self.metrics.scorecard.rows = card.capped(MAX_REPO_LABELS)


SERVICES = web.AppKey("services", Services)


def worker_prefix() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def start_services(settings: Settings, metrics: Metrics, *, serve_mcp: bool = True) -> Services:
    """Everything the process needs; the job workers only when ``settings.run_workers``; the MCP server
    when ``FIXLOOP_MCP_PORT`` is set and ``serve_mcp`` (a `worker` process mints tokens, `serve` serves)."""
    clusters = load_clusters(settings)
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
        registry=registry_client(settings, session) if settings.registry_read else None,
        kubes={c.name: await connect_kube(settings, metrics, c) for c in clusters.clusters},
        clusters=clusters,
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
    if settings.mcp_port is not None and serve_mcp:
        # The mcp SDK (starlette, uvicorn, pydantic models) costs ~1 s of imports: only a process that
        # serves MCP pays it, not every restart of every worker.
        from app.mcp.server import McpServerTask  # noqa: PLC0415

        services.mcp = McpServerTask(services, settings.mcp_port)
        await services.mcp.start()
    if settings.run_workers:
        services.runner.start()
        services.background.append(asyncio.create_task(run_sweeps(services), name="stage-timeout-sweeps"))
    log.info("fixloop started", extra={"fields": {"database": settings.database_url.split(":")[0]}})
    return services


def registry_client(settings: Settings, session: aiohttp.ClientSession) -> RegistryClient:
    return RegistryClient(
        session,
        credentials=dict(settings.registry_credentials),
        insecure=settings.registry_insecure,
        timeout=settings.registry_timeout_seconds,
    )


async def connect_kube(
    settings: Settings, metrics: Metrics, cluster: Cluster | None = None
) -> KubeClient | None:
    """The Kubernetes client of ``cluster`` (default: today's KUBECONFIG), or None (logged) when no
    configuration can be loaded: the app still runs, and its incidents state that evidence is missing."""
    kubeconfig = settings.kubeconfig if cluster is None else cluster.kubeconfig
    context = None if cluster is None else cluster.context or None
    try:
        return await KubeClient.create(
            kubeconfig or None, settings.kube_timeout_seconds, metrics, context=context
        )
    except Exception as exc:  # any failure to load a kubeconfig means "no cluster access"
        name = DEFAULT_CLUSTER if cluster is None else cluster.name
        log.warning("no Kubernetes access to cluster %s: %s: %s", name, type(exc).__name__, exc)
        return None


async def stop_services(services: Services) -> None:
    mcp, services.mcp = services.mcp, None
    if mcp is not None:
        await mcp.stop()
    for task in services.background:
        task.cancel()
    for outcome in await asyncio.gather(*services.background, return_exceptions=True):
        if isinstance(outcome, Exception):
            log.error("background task ended with %s: %s", type(outcome).__name__, outcome)
    if services.runner is not None:
        await services.runner.stop(DRAIN_TIMEOUT)
    for kube in services.kubes.values():
        if kube is not None:
            await kube.close()
    await services.session.close()
    await services.store.close()
