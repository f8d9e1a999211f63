"""Send a merged fix back through the canary, by the repository's ``redeploy`` mode.

``image``: once the image for the merge SHA exists (a successful workflow_run/check_suite on it), set the
Rollout's container image from the template, as ``kubectl argo rollouts set image`` does. ``gitops``:
change nothing; the Rollout's revision moves when the GitOps tool deploys an image built from the SHA.
The image is set with a resourceVersion-guarded patch: a 409 is re-read, re-checked and re-applied a few
times (``KubeClient.set_image``); when the Rollout moved on meanwhile, or the conflicts go on, the
incident goes to ``needs_human`` with the reason on the issue.
``retry``: clear the abort, for config-only fixes. In every mode the Rollout is annotated with the
incident, the PR and the SHA.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from app.github.http import GitHubClient
from app.loop.incident.consent import note_refusal, source_consented
from app.loop.incident.repo_config import RedeployMode, RepoConfig
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, cluster_of, move, save
from app.loop.steps.deployments import create_deployment
from app.loop.steps.status import refresh_status
from app.rollouts.kube import KubeClient
from app.rollouts.kube_errors import KubeConflict, RolloutMoved
from app.rollouts.model import ANNOTATION_FIX_PR, ANNOTATION_FIX_SHA, ANNOTATION_INCIDENT, parse_rollout
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

COMMIT_OK = "commit-ok"  # kv namespace: commits whose CI succeeded (the image exists)
COMMIT_OK_TTL = 3 * 24 * 3600.0
NO_CLUSTER = "the Kubernetes API is not reachable from Fixloop, so the fix cannot be sent through the canary"


async def on_merged(
    services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig, *, pr: int, sha: str
) -> Incident:
    state = IncidentState.of(incident)
    state.fix = dataclasses.replace(state.fix, pr=pr, sha=sha, mode=config.redeploy.value)
    state.reach("merge")
    incident = await move(services, incident, Stage.MERGED, f"#{pr} merged as {sha[:12]}", state)
    environment = config.environment_for(incident.namespace, incident.rollout)
    incident = await create_deployment(services, gh, incident, sha=sha, environment=environment)
    kube, refused = _cluster_client(services, incident, config, "redeploy")
    if kube is None:
        return await _stuck(services, gh, incident, config, refused)
    await kube.annotate_rollout(
        incident.namespace,
        incident.rollout,
        {ANNOTATION_INCIDENT: str(incident.id), ANNOTATION_FIX_PR: str(pr), ANNOTATION_FIX_SHA: sha},
    )
    if config.redeploy is RedeployMode.IMAGE:
        if await services.store.kv_get(COMMIT_OK, f"{incident.repo}@{sha}") is None:
            return await refresh_status(services, gh, incident, config)  # wait for CI to build the image
        return await send_image(services, gh, incident, config)
    if config.redeploy is RedeployMode.RETRY:
        await kube.retry(incident.namespace, incident.rollout)
    return await _redeploying(services, gh, incident, config, f"redeploy mode {config.redeploy.value}")


async def send_image(
    services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig
) -> Incident:
    """Set the Rollout's image to the one built from the merge SHA (CI has succeeded on it)."""
    state = IncidentState.of(incident)
    sha = state.fix.sha
    kube, refused = _cluster_client(services, incident, config, "image patch")
    if kube is None:
        return await _stuck(services, gh, incident, config, refused)
    view = parse_rollout(await kube.get_rollout(incident.namespace, incident.rollout))
    template = config.image or view.image_template
    if not template:
        return await _stuck(
            services,
            gh,
            incident,
            config,
            "no image template: set `image` in .github/fixloop.yml or fixloop.dev/image",
        )
    image = template.replace("{sha}", sha)
    container = _container_for(view.containers, image)
    try:
        await kube.set_image(incident.namespace, incident.rollout, container, image)
    except (RolloutMoved, KubeConflict) as exc:  # set_image re-read and re-tried the 409s already
        why = f"the image {image} could not be set on the Rollout: {exc}"
        return await _stuck(services, gh, incident, config, why)
    state.fix = dataclasses.replace(state.fix, image=image, container=container)
    incident = await save(services.store, incident, state)
    return await _redeploying(services, gh, incident, config, f"image {image} set on {container}")


def _cluster_client(
    services: Services, incident: Incident, config: RepoConfig, what: str
) -> tuple[KubeClient | None, str]:
    """The client of the incident's cluster, or None and why: unreachable, or the repository no longer
    consents to that cluster/namespace (its ``sources:``). Never another cluster's client."""
    cluster = cluster_of(incident)
    if not source_consented(services, config, cluster, incident.namespace):
        return None, note_refusal(services, incident.repo, cluster, incident.namespace, what)
    kube = services.kube_for(cluster)
    return kube, "" if kube is not None else NO_CLUSTER


def _container_for(containers: Mapping[str, str], image: str) -> str:
    """The container running the same image repository as the new image, else the first one."""
    repository = image.rsplit(":", 1)[0].split("@", 1)[0]
    for name, current in containers.items():
        if current.rsplit(":", 1)[0].split("@", 1)[0] == repository:
            return str(name)
    return str(next(iter(containers)))


async def _redeploying(
    services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig, cause: str
) -> Incident:
    incident = await move(services, incident, Stage.REDEPLOYING, cause)
    return await refresh_status(services, gh, incident, config)


async def _stuck(
    services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig, why: str
) -> Incident:
    log.warning("incident %s cannot be redeployed: %s", incident.id, why)
    incident = await move(services, incident, Stage.NEEDS_HUMAN, why)
    return await refresh_status(services, gh, incident, config, why)
