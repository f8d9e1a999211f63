"""``POST /github/webhook``: verify, store as a job, acknowledge. No other work happens here."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from app.errors import TransientError
from app.metrics import Metrics
from app.store import JSONText
from app.web import JobSink, json_error, matching_candidate, not_stored, read_limited

log = logging.getLogger(__name__)

MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
JOB_KIND = "github"
SIGNATURE_PREFIX = "sha256="
CACHE_LIMIT = 1024  # entries of each per-(event, ...) cache


def job_payload(event: str, delivery: str, body: bytes) -> JSONText:
    """The job ``{"delivery", "event", "payload"}`` with the body as received, not parsed and encoded
    again: the body is a JSON object (checked before), so it is already the payload's JSON text."""
    head = orjson.dumps({"delivery": delivery, "event": event})[:-1]
    return JSONText((head + b',"payload":' + body + b"}").decode())


class Parsed(NamedTuple):
    problem: str  # why the body is not a JSON object; "" when it is
    hook_id: object = None  # pings carry one
    action: str | None = None


def _parse(body: bytes) -> Parsed:
    """Whether the body is a JSON object, and the two fields the intake reads: ``hook_id``, ``action``.

    Parsed only to check it: the objects are dropped at once, not held while the job is stored (50
    deliveries waiting on a commit held thousands of objects, and the cyclic GC walked them over and over).
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Parsed(f"body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return Parsed("body must be a JSON object")
    action = payload.get("action")
    return Parsed("", payload.get("hook_id"), action if isinstance(action, str) else None)


def _ignored(event: str, action: str | None) -> web.Response:
    what = f"{event}.{action}" if action else event
    body = orjson.dumps({"outcome": "ignored", "reason": f"Fixloop does not act on {what}: not stored"})
    return web.Response(body=body, status=202, content_type="application/json")


def _accepted(job_id: int, outcome: str) -> web.Response:
    # orjson and a plain Response: json_response's json.dumps showed in the saturated intake's profile.
    body = orjson.dumps({"job": job_id, "outcome": outcome})
    return web.Response(body=body, status=202, content_type="application/json")


class WebhookIntake:
    def __init__(
        self,
        secrets: str | Sequence[str],
        sink: JobSink,
        metrics: Metrics,
        handled: Callable[[str, str | None], bool] = lambda event, action: True,
    ) -> None:
        # Several during a rotation: the current secret and the previous one, both accepted.
        self._secrets = tuple(s.encode() for s in ([secrets] if isinstance(secrets, str) else secrets) if s)
        self._sink = sink
        self._metrics = metrics
        self._handled = handled  # whether any handler reads this event and action
        # Per (event, action) and (event, outcome): the router's answer and the counter's child, looked
        # up once (both showed in the saturated intake's profile). Keys come from verified deliveries
        # only; GitHub has a few dozen events and actions, and the cap bounds a secret-holder's fancy.
        self._handled_cache: dict[tuple[str, str | None], bool] = {}
        self._counters: dict[tuple[str, str], Any] = {}

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
        parsed = _parse(body)
        if parsed.problem:
            return self._refuse(400, event, parsed.problem)
        if event == "ping":
            self._count(event, "pong")
            return web.json_response({"msg": "pong", "hook_id": parsed.hook_id})
        if not self._is_handled(event, parsed.action):
            self._count(event, "ignored")
            return _ignored(event, parsed.action)
        try:
            job_id, created = await self._sink.submit(JOB_KIND, delivery, job_payload(event, delivery, body))
        except TransientError as exc:  # the store is down or full: no 202 for what is not stored
            log.warning("delivery %s not stored: %s", delivery, exc, extra={"fields": {"event": event}})
            self._count(event, "unstored")
            return json_error(503, not_stored(exc))
        outcome = "queued" if created else "duplicate"
        self._count(event, outcome)
        return _accepted(job_id, outcome)

    def _is_handled(self, event: str, action: str | None) -> bool:
        key = (event, action)
        known = self._handled_cache.get(key)
        if known is None:
            known = self._handled(event, action)
            if len(self._handled_cache) < CACHE_LIMIT:
                self._handled_cache[key] = known
        return known

    def _count(self, event: str, outcome: str) -> None:
        """Count a verified delivery (its event header is authenticated by then)."""
        counter = self._counters.get((event, outcome))
        if counter is None:
            counter = self._metrics.deliveries.labels("github", event, outcome)
            if len(self._counters) < CACHE_LIMIT:
                self._counters[(event, outcome)] = counter
        counter.inc()

    def _signature_problem(self, signature: str | None, body: bytes) -> str:
        if not self._secrets:
            return "webhook secret not configured: deliveries cannot be verified"
        if not signature:
            return "missing X-Hub-Signature-256 header"
        if not signature.startswith(SIGNATURE_PREFIX):
            return "X-Hub-Signature-256 must start with sha256="
        # hmac.digest: OpenSSL's one-shot HMAC (an hmac.HMAC object per delivery showed in the saturated
        # intake's profile). Every secret is compared in constant time, without an early exit.
        expected = [SIGNATURE_PREFIX + hmac.digest(secret, body, "sha256").hex() for secret in self._secrets]
        if matching_candidate(signature.strip().lower(), expected) < 0:
            return "signature does not match the payload"
        return ""

    def _refuse(self, status: int, event: str, reason: str) -> web.Response:
        log.warning("webhook refused (%s): %s", status, reason, extra={"fields": {"event": event}})
        # The event header is unauthenticated here: never use it as a metric label (cardinality).
        self._metrics.deliveries.labels("github", "unverified", f"refused_{status}").inc()
        return json_error(status, reason)
