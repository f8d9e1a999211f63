"""``create_app(settings)``: routes, middlewares, and the lifecycle of the shared services.

Nothing runs at import time. The store, the HTTP session, the GitHub App, the Kubernetes client and the
job workers are created in the app's cleanup context and closed (workers drained) on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from app.errors import TransientError
from app.github.oauth_routes import OAuthEndpoints, oauth_routes
from app.github.webhook import WebhookIntake
from app.loop.gate import GateEndpoint
from app.loop.incident.mapping import intake_mapping_problem
from app.loop.jobs import handles
from app.metrics import Metrics
from app.openapi import openapi_endpoint
from app.rollouts.notification import Notification
from app.rollouts.notify import NotifyIntake
from app.services import SERVICES, Services, start_services, stop_services
from app.settings import Settings
from app.store.priority_lock import URGENT
from app.ui.routes import ui_routes
from app.web import json_error

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READY_TIMEOUT = 2.0


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes JSON with a reason: HTTP errors keep their status, bugs are logged."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_error(exc.status, exc.reason)
    except asyncio.CancelledError:
        raise
    except TransientError as exc:  # a dependency (store, GitHub) failing for now: try again later
        log.warning("%s %s: %s", request.method, request.path, exc)
        return json_error(503, f"temporarily unavailable: {exc}")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal error; the details are in Fixloop's log")


def create_app(settings: Settings, *, metrics: Metrics | None = None) -> web.Application:
    app = web.Application(middlewares=[errors_middleware])
    app[SETTINGS] = settings
    app[METRICS] = metrics or Metrics()
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/openapi.yaml", openapi_endpoint)
    app.router.add_post("/github/webhook", github_webhook)
    app.router.add_post("/rollouts/notify", rollouts_notify)
    app.router.add_routes(oauth_routes(_oauth))
    app.router.add_routes(ui_routes())
    app.router.add_route("GET", "/analysis/{namespace}/{rollout}", canary_gate)
    app.router.add_route("POST", "/analysis/{namespace}/{rollout}", canary_gate)
    return app


SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
WEBHOOK_INTAKE = web.AppKey("webhook_intake", WebhookIntake)  # built once: the hot path of the intake


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = await start_services(app[SETTINGS], app[METRICS])
    app[SERVICES] = services
    app[WEBHOOK_INTAKE] = WebhookIntake(
        services.settings.webhook_secrets, services, services.metrics, handled=handles
    )
    # What the start built (modules, classes, clients: ~150k objects) lives as long as the process: out of
    # the cyclic GC's reach, its full collections no longer walk them. Each delivery parses (and each job
    # reads) a 12 KB payload into hundreds of containers, which set those collections off every ~100
    # deliveries; they were a quarter of the saturated intake's CPU (bench.webhook --closed-loop).
    gc.freeze()
    try:
        yield
    finally:
        await stop_services(services)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await services.store.ping()
    except Exception as exc:  # any failure means "not ready"; the reason goes to the prober
        return json_error(503, f"store unreachable: {type(exc).__name__}")
    return web.json_response({"status": "ready"})


async def metrics_endpoint(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    await services.refresh_gauges()
    body = services.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def github_webhook(request: web.Request) -> web.Response:
    URGENT.set(True)  # this request's task only: its insert goes ahead of the workers' statements
    return await request.app[WEBHOOK_INTAKE].handle(request)


async def rollouts_notify(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    URGENT.set(True)  # this request's task only: its insert goes ahead of the workers' statements

    async def mapping_problem(notification: Notification) -> str | None:
        return await intake_mapping_problem(notification, services)

    intake = NotifyIntake(services.clusters, services, services.metrics, mapping_problem)
    return await intake.handle(request)


async def canary_gate(request: web.Request) -> web.Response:
    services: Services = request.app[SERVICES]
    if services.gate is None:
        services.gate = GateEndpoint(services)  # one per process: it holds the cache
    return await services.gate.handle(request)


def _oauth(request: web.Request) -> OAuthEndpoints:
    services: Services = request.app[SERVICES]
    return OAuthEndpoints(services.settings, services.store, services.github, services.user_tokens, services)
