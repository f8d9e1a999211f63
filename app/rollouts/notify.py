"""``POST /rollouts/notify``: the Argo Rollouts notifications webhook. Verify, check, store, acknowledge."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import orjson
from aiohttp import web

from app.metrics import Metrics
from app.rollouts.notification import BadNotification, Notification, parse_notification
from app.web import JobSink, bearer_matches, json_error, read_limited

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
JOB_KIND = "rollout"

# Answers why a notification cannot lead to an incident (no mapping, App not installed), or None.
MappingCheck = Callable[[Notification], Awaitable[str | None]]


class NotifyIntake:
    def __init__(
        self, tokens: str | Sequence[str], sink: JobSink, metrics: Metrics, mapping_problem: MappingCheck
    ) -> None:
        # Several during a rotation: the current token and the previous one, both accepted.
        self._tokens = tuple(t for t in ([tokens] if isinstance(tokens, str) else tokens) if t)
        self._sink = sink
        self._metrics = metrics
        self._mapping_problem = mapping_problem

    async def handle(self, request: web.Request) -> web.Response:
        if not self._tokens:
            return self._refuse(401, "FIXLOOP_NOTIFY_TOKEN is not configured: notifications are refused")
        if not bearer_matches(request, self._tokens):
            return self._refuse(401, "missing or wrong 'Authorization: Bearer' token")
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
            log.info("notification ignored: %s", problem, extra={"fields": _fields(notification)})
            self._metrics.notifications.labels(notification.event.value, "ignored").inc()
            return web.json_response({"outcome": "ignored", "reason": problem}, status=202)
        job_id, created = await self._sink.submit(JOB_KIND, _job_key(body), {"body": parsed})
        outcome = "queued" if created else "duplicate"
        self._metrics.notifications.labels(notification.event.value, outcome).inc()
        return web.json_response({"outcome": outcome, "job": job_id}, status=202)

    def _refuse(self, status: int, reason: str) -> web.Response:
        log.warning("notification refused (%s): %s", status, reason)
        self._metrics.notifications.labels("unverified", f"refused_{status}").inc()
        return json_error(status, reason)


def _job_key(body: bytes) -> str:
    """Argo retries a failed delivery with the same body: the same bytes are one job."""
    return hashlib.sha256(body).hexdigest()


def _fields(notification: Notification) -> dict[str, str]:
    return {"event": notification.event.value, "rollout": f"{notification.namespace}/{notification.name}"}
