"""``POST /rollouts/notify``: the Argo Rollouts notifications webhook. Verify, check, store, acknowledge."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from app.clusters import DEFAULT_CLUSTER, ClusterRegistry
from app.errors import TransientError
from app.metrics import Metrics
from app.rollouts.notification import BadNotification, Notification, parse_notification
from app.web import JobSink, bearer_token, json_error, not_stored, read_limited

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
JOB_KIND = "rollout"

# Answers why a notification cannot lead to an incident (no mapping, App not installed), or None.
MappingCheck = Callable[[Notification], Awaitable[str | None]]


class NotifyIntake:
    def __init__(
        self, clusters: ClusterRegistry, sink: JobSink, metrics: Metrics, mapping_problem: MappingCheck
    ) -> None:
        # The token names the cluster; each has a current and, during a rotation, a previous token.
        self._clusters = clusters
        self._sink = sink
        self._metrics = metrics
        self._mapping_problem = mapping_problem

    async def handle(self, request: web.Request) -> web.Response:
        if not any(c.tokens for c in self._clusters.clusters):
            return self._refuse(401, "FIXLOOP_NOTIFY_TOKEN is not configured: notifications are refused")
        cluster = self._clusters.identify(bearer_token(request))
        if cluster is None:
            return self._refuse(401, "missing or wrong 'Authorization: Bearer' token")
        name = cluster.name
        try:
            body = await read_limited(request, MAX_BODY)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, "notification body larger than 5 MB")
        try:
            # orjson, as the store: what it parses it can store (json.loads takes NaN and integers
            # beyond 64 bits, which the store then refuses with a 500)
            parsed = orjson.loads(body)
            notification = parse_notification(parsed)
        except orjson.JSONDecodeError as exc:
            return self._refuse(400, f"body is not JSON: {exc}")
        except BadNotification as exc:
            return self._refuse(422, str(exc))
        problem = await self._mapping_problem(notification)
        if problem:
            log.info("notification ignored: %s", problem, extra={"fields": _fields(notification, name)})
            self._metrics.notifications.labels(notification.event.value, "ignored", name).inc()
            return web.json_response({"outcome": "ignored", "reason": problem}, status=202)
        # The repository's consent (`sources:` in its .github/fixloop.yml) is checked by the job: it
        # needs the repository's config from GitHub, which is no work for this request.
        try:
            job_id, created = await self._sink.submit(
                JOB_KIND, _job_key(body, name), {"body": parsed, "cluster": name}
            )
        except TransientError as exc:  # the store is down or full: no 202 for what is not stored
            log.warning("notification not stored: %s", exc, extra={"fields": _fields(notification, name)})
            self._metrics.notifications.labels(notification.event.value, "unstored", name).inc()
            return json_error(503, not_stored(exc))
        outcome = "queued" if created else "duplicate"
        self._metrics.notifications.labels(notification.event.value, outcome, name).inc()
        return web.json_response({"outcome": outcome, "job": job_id}, status=202)

    def _refuse(self, status: int, reason: str) -> web.Response:
        log.warning("notification refused (%s): %s", status, reason)
        self._metrics.notifications.labels("unverified", f"refused_{status}", "unverified").inc()
        return json_error(status, reason)


def _job_key(body: bytes, cluster: str) -> str:
    """Argo retries a failed delivery with the same body: the same bytes from one cluster are one job
    (the same bytes from two clusters are two; ``default`` keeps today's keys)."""
    digest = hashlib.sha256(body).hexdigest()
    return digest if cluster == DEFAULT_CLUSTER else f"{cluster}:{digest}"


def _fields(notification: Notification, cluster: str) -> dict[str, str]:
    rollout = f"{notification.namespace}/{notification.name}"
    return {"event": notification.event.value, "rollout": rollout, "cluster": cluster}
