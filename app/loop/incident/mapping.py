"""Which repository a Rollout belongs to, and whether Fixloop may act there.

No ``fixloop.dev/repo`` annotation, or the App not installed on that repository: no incident. The
notification is still answered 202 (Argo must not retry it), with the reason, a log line and a metric.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import PermanentError, TransientError
from app.rollouts.model import ANNOTATION_REPO, RolloutView, parse_rollout
from app.rollouts.notification import Notification

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

INTAKE_LOOKUP_TIMEOUT = 3.0  # the intake answers fast; a slow lookup is left to the job


@dataclass(frozen=True)
class Mapping:
    repo: str
    installation_id: int


class Unmapped(PermanentError):
    """No action for this Rollout; ``reason`` is the metric label, the message the human reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def resolve_mapping(view: RolloutView, services: Services) -> Mapping:
    """The repository and installation of a Rollout, or ``Unmapped`` saying why not."""
    if view.repo is None:
        raw = view.annotations.get(ANNOTATION_REPO)
        detail = f"invalid {ANNOTATION_REPO} {raw[:100]!r}" if raw else f"no {ANNOTATION_REPO} annotation"
        raise Unmapped("no_mapping", f"Rollout {view.ref} has {detail}: no mapping, no action")
    if not services.settings.github_enabled:
        reason = "GITHUB_APP_ID/GITHUB_PRIVATE_KEY not set: cannot open issues"
        raise Unmapped("github_not_configured", reason)
    installation = await services.github.installation_for_repo(view.repo)
    if installation is None:
        raise Unmapped("not_installed", f"the Fixloop App is not installed on {view.repo}")
    return Mapping(repo=view.repo, installation_id=installation)


def unmapped(services: Services, exc: Unmapped) -> str:
    services.metrics.unmapped.labels(exc.reason).inc()
    log.info("no action: %s", exc)
    return str(exc)


async def intake_mapping_problem(notification: Notification, services: Services) -> str | None:
    """The intake's quick check on the notification's own copy; anything uncertain is left to the job."""
    if notification.rollout is None:
        return None  # only names were sent: the job reads the Rollout, then checks
    try:
        view = parse_rollout(notification.rollout)
        async with asyncio.timeout(INTAKE_LOOKUP_TIMEOUT):
            await resolve_mapping(view, services)
    except Unmapped as exc:
        return unmapped(services, exc)
    except PermanentError as exc:
        return f"rollout object unreadable: {exc}"
    except (TransientError, TimeoutError):
        return None  # GitHub slow or down: accept now, the job checks again with retries
    return None
