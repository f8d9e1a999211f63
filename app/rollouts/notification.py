"""The Argo Rollouts notification body, parsed once into a typed value (or a 4xx reason).

Accepted shapes (DESIGN.md): ``{"event", "rollout": <full Rollout>, "time"}`` or ``{"event", "namespace",
"name"}``. Everything in it is untrusted: names are checked against Kubernetes' own rules before they are
used in an API path, and the Rollout copy is only a hint (it is re-read from the API before acting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class NotificationEvent(StrEnum):
    ROLLOUT_ABORTED = "rollout-aborted"
    ANALYSIS_RUN_FAILED = "analysis-run-failed"
    ANALYSIS_RUN_ERROR = "analysis-run-error"
    ROLLOUT_COMPLETED = "rollout-completed"
    ROLLOUT_UPDATED = "rollout-updated"
    ROLLOUT_STEP_COMPLETED = "rollout-step-completed"
    ROLLOUT_PAUSED = "rollout-paused"


FAILURE_EVENTS = frozenset(
    {
        NotificationEvent.ROLLOUT_ABORTED,
        NotificationEvent.ANALYSIS_RUN_FAILED,
        NotificationEvent.ANALYSIS_RUN_ERROR,
    }
)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class BadNotification(ValueError):
    """The body cannot be accepted; the message is the reason sent back with the 4xx."""


@dataclass(frozen=True)
class Notification:
    event: NotificationEvent
    namespace: str
    name: str
    rollout: dict[str, Any] | None  # the notification's (possibly stale) copy, when sent
    time: str

    @property
    def is_failure(self) -> bool:
        return self.event in FAILURE_EVENTS


def parse_notification(body: Any) -> Notification:
    if not isinstance(body, dict):
        raise BadNotification("body must be a JSON object")
    event = _event(body.get("event"))
    rollout = body.get("rollout")
    if rollout is not None:
        namespace, name = _names_from_rollout(rollout)
    else:
        missing = [k for k in ("namespace", "name") if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            hint = "or send the full 'rollout' object"
            raise BadNotification(f"missing field(s): {', '.join(missing)} ({hint})")
        namespace, name = body["namespace"], body["name"]
    _check_name("namespace", namespace, _DNS_LABEL)
    _check_name("name", name, _DNS_SUBDOMAIN)
    sent_at = body.get("time", "")
    if not isinstance(sent_at, str):
        raise BadNotification("'time' must be an RFC3339 string")
    return Notification(event=event, namespace=namespace, name=name, rollout=rollout, time=sent_at)


def _event(raw: Any) -> NotificationEvent:
    if not isinstance(raw, str) or not raw:
        raise BadNotification("missing field: event")
    try:
        return NotificationEvent(raw)
    except ValueError:
        known = ", ".join(e.value for e in NotificationEvent)
        raise BadNotification(f"unknown event {raw[:60]!r}; expected one of: {known}") from None


def _names_from_rollout(rollout: Any) -> tuple[str, str]:
    if not isinstance(rollout, dict):
        raise BadNotification("'rollout' must be the Rollout object")
    if rollout.get("kind", "Rollout") != "Rollout":
        raise BadNotification(f"'rollout' has kind {str(rollout.get('kind'))[:40]!r}, expected Rollout")
    metadata = rollout.get("metadata")
    if not isinstance(metadata, dict):
        raise BadNotification("missing field: rollout.metadata")
    missing = [f"rollout.metadata.{k}" for k in ("namespace", "name") if not isinstance(metadata.get(k), str)]
    if missing:
        raise BadNotification(f"missing field(s): {', '.join(missing)}")
    return metadata["namespace"], metadata["name"]


def _check_name(field: str, value: str, rule: re.Pattern[str]) -> None:
    if not rule.match(value):
        raise BadNotification(f"{field} {value[:80]!r} is not a valid Kubernetes name")
