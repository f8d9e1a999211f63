"""The job behind ``POST /rollouts/notify``: re-read the Rollout, check the mapping, route the event."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.clusters import CURRENT_CLUSTER, DEFAULT_CLUSTER
from app.errors import PermanentError
from app.logs import log_context
from app.loop.incident.mapping import Unmapped, resolve_mapping, unmapped
from app.loop.steps import failures, verify
from app.rollouts.kube_errors import KubeForbidden, KubeNotFound
from app.rollouts.model import RolloutView, parse_rollout
from app.rollouts.notification import BadNotification, Notification, NotificationEvent, parse_notification

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services
    from app.store import Job

log = logging.getLogger(__name__)


async def handle_notification_job(job: Job, ctx: JobContext, services: Services) -> None:
    try:
        notification = parse_notification(job.payload.get("body"))
    except BadNotification as exc:
        raise PermanentError(f"stored notification unreadable: {exc}") from exc
    cluster = str(job.payload.get("cluster") or DEFAULT_CLUSTER)  # jobs stored before clusters: default
    if cluster not in services.clusters.names:
        raise PermanentError(f"cluster {cluster} is no longer in the cluster registry")
    bound = CURRENT_CLUSTER.set(cluster)  # services.kube is that cluster's client, for this job only
    try:
        with log_context(rollout=f"{notification.namespace}/{notification.name}", cluster=cluster):
            await _route(services, ctx, notification)
    finally:
        CURRENT_CLUSTER.reset(bound)


async def _route(services: Services, ctx: JobContext, notification: Notification) -> None:
    view = await current_rollout(services, notification)
    try:
        mapping = await resolve_mapping(view, services)
    except Unmapped as exc:
        unmapped(services, exc)
        return
    with log_context(repo=mapping.repo, installation=mapping.installation_id):
        if notification.is_failure:
            await failures.on_failure(services, ctx, notification, view, mapping)
        elif notification.event is NotificationEvent.ROLLOUT_COMPLETED:
            await verify.on_completed(services, ctx, notification, view, mapping)
        else:
            await verify.on_progress(services, ctx, notification, view, mapping)


async def current_rollout(services: Services, notification: Notification) -> RolloutView:
    """The Rollout as the API has it now; the notification's copy only when the API cannot answer."""
    if services.kube is not None:
        try:
            return parse_rollout(await services.kube.get_rollout(notification.namespace, notification.name))
        except KubeNotFound as exc:
            raise PermanentError(
                f"Rollout {notification.namespace}/{notification.name} no longer exists"
            ) from exc
        except KubeForbidden as exc:
            if notification.rollout is None:
                raise PermanentError(f"cannot read the Rollout: {exc}") from exc
            log.warning("reading the Rollout was refused (%s); using the notification's copy", exc)
        except Exception as exc:
            if notification.rollout is None:
                raise
            log.warning("Kubernetes unavailable (%s); using the notification's copy", type(exc).__name__)
    if notification.rollout is None:
        raise PermanentError("no Kubernetes access and the notification carries no Rollout object")
    return parse_rollout(notification.rollout)
