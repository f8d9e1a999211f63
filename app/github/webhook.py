"""``POST /github/webhook``: verify, store as a job, acknowledge. No other work happens here."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence

import orjson
from aiohttp import web

from app.metrics import Metrics
from app.web import JobSink, json_error, matching_candidate, read_limited

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
JOB_KIND = "github"
SIGNATURE_PREFIX = "sha256="


class WebhookIntake:
    def __init__(self, secrets: str | Sequence[str], sink: JobSink, metrics: Metrics) -> None:
        # Several during a rotation: the current secret and the previous one, both accepted.
        self._secrets = tuple(s for s in ([secrets] if isinstance(secrets, str) else secrets) if s)
        self._sink = sink
        self._metrics = metrics

    async def handle(self, request: web.Request) -> web.Response:
        event = request.headers.get("X-GitHub-Event", "")
        try:
            body = await read_limited(request, MAX_BODY)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(413, event, "payload larger than GitHub's 25 MB limit")
        problem = self._signature_problem(request.headers.get("X-Hub-Signature-256"), body)
        if problem:
            return self._refuse(401, event, problem)
        delivery = request.headers.get("X-GitHub-Delivery", "")
        if not event or not delivery:
            return self._refuse(400, event, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return self._refuse(400, event, f"body is not JSON: {exc}")
        if not isinstance(payload, dict):
            return self._refuse(400, event, "body must be a JSON object")
        if event == "ping":
            self._metrics.deliveries.labels("github", event, "pong").inc()
            return web.json_response({"msg": "pong", "hook_id": payload.get("hook_id")})
        job_id, created = await self._sink.submit(
            JOB_KIND, delivery, {"event": event, "delivery": delivery, "payload": payload}
        )
        outcome = "queued" if created else "duplicate"
        self._metrics.deliveries.labels("github", event, outcome).inc()
        return web.json_response({"job": job_id, "outcome": outcome}, status=202)

    def _signature_problem(self, signature: str | None, body: bytes) -> str:
        if not self._secrets:
            return "webhook secret not configured: deliveries cannot be verified"
        if not signature:
            return "missing X-Hub-Signature-256 header"
        if not signature.startswith(SIGNATURE_PREFIX):
            return "X-Hub-Signature-256 must start with sha256="
        expected = [
            SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            for secret in self._secrets
        ]
        if matching_candidate(signature.strip().lower(), expected) < 0:  # every secret compared
            return "signature does not match the payload"
        return ""

    def _refuse(self, status: int, event: str, reason: str) -> web.Response:
        log.warning("webhook refused (%s): %s", status, reason, extra={"fields": {"event": event}})
        # The event header is unauthenticated here: never use it as a metric label (cardinality).
        self._metrics.deliveries.labels("github", "unverified", f"refused_{status}").inc()
        return json_error(status, reason)
