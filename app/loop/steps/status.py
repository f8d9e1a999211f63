"""The incident's single status comment, rebuilt from the store and edited in place."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.github.http import GitHubClient
from app.github.oauth import start_url
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import Stage, Transition
from app.loop.incident.state import IncidentState, save
from app.loop.render.markers import STATUS_MARKER
from app.loop.render.status import DeploymentView, LinkedPR, PrState, StatusView, render_status_comment
from app.loop.steps.issue_ops import upsert_marked_comment
from app.loop.steps.soak import soak_line
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services


async def status_view(
    services: Services, incident: Incident, config: RepoConfig, problem: str = ""
) -> StatusView:
    state = IncidentState.of(incident)
    stored = await services.store.list_transitions(incident.id)
    transitions = [
        Transition(
            src=Stage(t.from_stage) if t.from_stage else Stage.DETECTED,
            dst=Stage(t.to_stage),
            cause=t.cause,
            at=datetime.fromtimestamp(t.at, UTC),
            attempt=incident.attempt,
        )
        for t in stored
    ]
    prs = [
        LinkedPR(
            number=int(number),
            url=pr.url,
            state=PrState(pr.state),
            title=pr.title,
            author=pr.author,
            checks=pr.checks,
        )
        for number, pr in sorted(state.prs.items())
    ]
    deployment = None
    if state.fix.deployment_id:
        deployment = DeploymentView(
            environment=state.fix.environment,
            state=state.fix.deployment_state or "in_progress",
            sha=state.fix.sha,
        )
    needs_token = state.handoff.outcome == "no_user_token"
    return StatusView(
        incident_id=incident.id,
        stage=incident.stage,
        attempt=incident.attempt,
        max_attempts=config.max_attempts,
        transitions=transitions,
        prs=prs,
        deployment=deployment,
        problem=problem or state.handoff.problem,
        oauth_url=start_url(services.settings) if needs_token else "",
        resumed_by=state.handoff.resumed_by,
        agent=state.handoff.agent,
        infra=state.handoff.outcome == "infra",
        soak=await soak_line(services.store, incident),
        cluster=state.cluster if services.settings.clusters_file else "",
    )


async def refresh_status(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    problem: str = "",
) -> Incident:
    """Edit (or create once) the status comment; remember its id so later edits need no lookup.

    Before the first post its time is stored: only a try after that one can have lost a posted comment,
    so only then are the issue's comments searched for it (a new issue's first status costs one call).
    """
    number = incident.issue_number
    if number is None:
        return incident
    body = render_status_comment(await status_view(services, incident, config, problem))
    state = IncidentState.of(incident)
    look_up = bool(state.status_requested_at)
    if state.status_comment_id is None:
        state.status_requested_at = time.time()
        incident = await save(services.store, incident, state)
    comment_id = await upsert_marked_comment(
        gh,
        incident.repo,
        number,
        body,
        marker=STATUS_MARKER,
        app_slug=await services.github.slug(),
        known_id=state.status_comment_id,
        look_up=look_up,
    )
    if comment_id == state.status_comment_id:
        return incident
    state.status_comment_id = comment_id
    return await save(services.store, incident, state)
