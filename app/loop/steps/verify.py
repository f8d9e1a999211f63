"""The canary's verdict on the fix: completed with the fix → verified and closed; another revision
completed → superseded; progress events are recorded in the incident's audit trail."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from app.analysis.evidence import Evidence, Side, evidence_from_dict
from app.github import issues
from app.github.http import GitHubClient
from app.loop.incident.mapping import Mapping
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import TERMINAL, Stage
from app.loop.incident.state import IncidentState, move, rollout_incidents, save
from app.loop.origin.provenance import SideRevision, carries, resolve_side
from app.loop.render.comments import render_verified_comment
from app.loop.render.markers import VERIFIED_MARKER
from app.loop.steps import issue_ops
from app.loop.steps.analysis import collect_for
from app.loop.steps.deployments import set_deployment_state
from app.loop.steps.handoff import NEEDS_HUMAN_LABEL
from app.loop.steps.soak import start_watch
from app.loop.steps.status import refresh_status
from app.registry.reference import same_repository
from app.rollouts.model import RolloutView
from app.rollouts.notification import Notification
from app.store import Incident

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services

log = logging.getLogger(__name__)

LIVE = [s.value for s in Stage if s not in TERMINAL]


def carries_fix(view: RolloutView, state: IncidentState) -> bool:
    """Whether the Rollout's current revision is the one Fixloop sent through the canary for the fix."""
    sha = state.fix.sha
    if not sha:
        return False
    if state.fix.mode == "retry":
        return view.current_pod_hash == state.revision  # same revision, re-run after a config fix
    if view.fix_sha == sha and view.current_pod_hash != state.revision:
        return True
    return any(sha in image or sha[:12] in image for image in view.containers.values())


async def on_completed(
    services: Services, ctx: JobContext, notification: Notification, view: RolloutView, mapping: Mapping
) -> None:
    for incident in await rollout_incidents(services.store, view.namespace, view.name, LIVE):
        state = IncidentState.of(incident)
        gh = services.github.installation_client(mapping.installation_id)
        if incident.stage is Stage.REDEPLOYING and carries_fix(view, state):
            await verified(services, incident, view, notification)
        elif view.current_pod_hash != state.revision and incident.stage is not Stage.REDEPLOYING:
            superseded = await move(
                services,
                incident,
                Stage.SUPERSEDED,
                f"revision {view.current_pod_hash} completed without the fix",
            )
            config = (await issue_ops.read_repo_config(gh, superseded.repo)).config
            await refresh_status(services, gh, superseded, config)


async def verified(
    services: Services, incident: Incident, view: RolloutView, notification: Notification
) -> None:
    gh = services.github.installation_client(incident.installation_id or 0)
    new_evidence = await collect_for(services, view, notification)
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    if await not_the_fix(
        services, gh, incident, config, view=view, evidence=new_evidence, outcome="completed"
    ):
        return
    incident = await set_deployment_state(services, gh, incident, "success")
    state = IncidentState.of(incident)
    original = evidence_from_dict(state.evidence or {})
    sha = state.fix.sha
    fix_pr = state.fix.pr
    number = incident.issue_number
    if number is not None:
        body = render_verified_comment(original, new_evidence, fix_pr=fix_pr, sha=sha)
        incident = await _comment_once(services, gh, incident, state, body=body, sha=sha)
        await issues.update_issue(gh, incident.repo, number, state="closed", state_reason="completed")
    state.reach("verified")
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    # First: a crash after the move would leave it unwatched.
    await start_watch(services.store, incident, config)
    incident = await move(
        services, incident, Stage.VERIFIED, f"canary {view.current_pod_hash} completed", state
    )
    await refresh_status(services, gh, incident, config)


async def fix_revision(
    services: Services, view: RolloutView, evidence: Evidence, template: str, state: IncidentState
) -> SideRevision:
    """The commit the canary that completed was built from, by the same sources as the incident's."""
    containers = dict(view.containers)
    image = containers.get(state.fix.container, "")
    if not image and containers:
        probe = template.replace("{sha}", "0" * 7)
        image = next((i for i in containers.values() if template and same_repository(probe, i)), "")
        image = image or next(iter(containers.values()))
    return await resolve_side(services.registry, evidence, Side.CANARY, image, template)


async def not_the_fix(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    *,
    view: RolloutView,
    evidence: Evidence,
    outcome: str,
) -> Incident | None:
    """A canary that ``outcome`` (completed, failed) on a build of another commit than the merge's says
    nothing about the fix: a human takes over, the issue says why. None: it is the fix's build (or its
    commit is unknown, or ``retry`` re-ran the same build after a config-only fix)."""
    state = IncidentState.of(incident)
    sha = state.fix.sha
    if state.fix.mode == "retry":
        return None
    built_from = await fix_revision(services, view, evidence, config.image or view.image_template, state)
    if not built_from.known or carries(built_from.revision, sha):
        return None
    why = (
        f"the canary that {outcome} runs {built_from.image or 'an image'} built from "
        f"{built_from.revision[:12]} ({built_from.source}), not the merge commit {sha[:12]}: "
        "the fix is not verified on a revision that does not carry it"
    )
    log.warning("incident %s: %s", incident.id, why)
    if incident.issue_number is not None:
        await issue_ops.ensure_labels(gh, incident.repo, [NEEDS_HUMAN_LABEL])
        await issues.add_labels(gh, incident.repo, incident.issue_number, [NEEDS_HUMAN_LABEL])
    incident = await move(services, incident, Stage.NEEDS_HUMAN, why)
    return await refresh_status(services, gh, incident, config, why)


async def _comment_once(
    services: Services, gh: GitHubClient, incident: Incident, state: IncidentState, *, body: str, sha: str
) -> Incident:
    """The verified comment, once per fix. The SHA is stored before the POST: a retry after a crash or an
    unanswered POST looks for the comment GitHub may already hold instead of posting a second one."""
    number = incident.issue_number
    assert number is not None
    if state.fix.verified_requested == sha:
        slug = await services.github.slug()
        if await issue_ops.find_own_comment(
            gh, incident.repo, number, VERIFIED_MARKER, slug, containing=sha[:12]
        ):
            return incident
    state.fix = dataclasses.replace(state.fix, verified_requested=sha)
    incident = await save(services.store, incident, state)
    await issues.post_comment(gh, incident.repo, number, body)
    return incident


async def on_progress(
    services: Services, ctx: JobContext, notification: Notification, view: RolloutView, mapping: Mapping
) -> None:
    """Updates, steps and pauses change no stage; they are kept in the audit trail of live incidents."""
    for incident in await rollout_incidents(services.store, view.namespace, view.name, LIVE):
        detail = {"event": notification.event.value, "revision": view.current_pod_hash, "phase": view.phase}
        await services.store.add_audit(incident.id, "rollout", detail)
