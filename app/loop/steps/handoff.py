"""Hand the issue to the chosen agent, by the agent's documented trigger, and say plainly when it fails.

Copilot is assigned through the REST assignees endpoint with ``agent_assignment``, and Jules reacts to a
``jules`` label: both only when done with a user-to-server token (an installation's request is refused
or ignored). A refused hand-off is explained in the status comment, the issue gets ``needs-human``, and
nothing is retried blindly.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.analysis.evidence import evidence_from_dict
from app.analysis.verdict import verdict_from_dict
from app.errors import PermanentError
from app.github import issues
from app.github.collaborators import may_write
from app.github.errors import GitHubRefused
from app.github.http import GitHubClient
from app.github.issues import AgentAssignment
from app.github.user_tokens import UserTokenRevoked
from app.loop.incident.records import HandoffRecord
from app.loop.incident.repo_config import AgentName, RepoConfig, resolve_agent
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, move, save
from app.loop.origin.suspects import Origin
from app.loop.render.task import task_facts
from app.loop.steps import issue_ops
from app.loop.steps.handoff_gate import INFRA_LABEL, infra_problem, infra_reason
from app.loop.steps.handoff_plan import Handoff, plan_handoff
from app.loop.steps.handoff_resume import AlreadyDone, already_done
from app.loop.steps.status import refresh_status
from app.rollouts.model import RolloutView
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

NEEDS_HUMAN_LABEL = "needs-human"
NO_USER_TOKEN = "no_user_token"  # noqa: S105 (the outcome of a hand-off that needs a user, not a secret)


class HandoffRefused(PermanentError):
    def __init__(self, outcome: str, problem: str) -> None:
        super().__init__(problem)
        self.outcome = outcome
        self.problem = problem


async def hand_off(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    *,
    view: RolloutView | None,
    agent: AgentName | None = None,
    resumed_by: str = "",
) -> Incident:
    """``resumed_by``: the login whose sign-in resumed a hand-off that waited for a user token."""
    agent = agent or resolve_agent(config, view.agent if view else None)
    state = IncidentState.of(incident)
    evidence, verdict = evidence_from_dict(state.evidence or {}), verdict_from_dict(state.verdict or {})
    facts = task_facts(
        evidence, verdict, config, attempt=incident.attempt, origin=Origin.from_dict(state.origin)
    )
    plan = plan_handoff(agent, facts, humans=config.assign_humans)
    base_branch = (view.base_branch if view else "") or state.base_branch
    try:
        infra = infra_reason(evidence, verdict) if agent is not AgentName.NONE else ""
        if infra:
            raise HandoffRefused("infra", infra_problem(infra))
        incident, resume_from = await _note_request(services, incident, state)
        await _execute(services, gh, incident, plan, base_branch, resume_from=resume_from)
    except HandoffRefused as exc:
        return await _refused(services, gh, incident, config, agent=agent, exc=exc)
    services.metrics.handoffs.labels(agent.value, "ok").inc()
    state.handoff = HandoffRecord(agent=agent.value, outcome="ok", at=time.time(), resumed_by=resumed_by)
    cause = f"handed to {agent.value}"
    if resumed_by:
        cause += f" after {resumed_by} signed in"
    await services.store.add_audit(incident.id, "handoff", state.handoff.to_dict())
    target = Stage.ISSUE_OPEN if agent is AgentName.NONE else Stage.AGENT_WORKING
    incident = await move(services, incident, target, cause, state)
    return await refresh_status(services, gh, incident, config)


async def _refused(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    *,
    agent: AgentName,
    exc: HandoffRefused,
) -> Incident:
    log.warning("hand-off to %s refused: %s", agent.value, exc.problem)
    services.metrics.handoffs.labels(agent.value, exc.outcome).inc()
    state = IncidentState.of(incident)
    state.handoff = HandoffRecord(agent=agent.value, outcome=exc.outcome, problem=exc.problem, at=time.time())
    await services.store.add_audit(incident.id, "handoff", state.handoff.to_dict())
    if incident.issue_number is not None:
        labels = [NEEDS_HUMAN_LABEL] + ([INFRA_LABEL] if exc.outcome == "infra" else [])
        await issue_ops.ensure_labels(gh, incident.repo, labels)
        await issues.add_labels(gh, incident.repo, incident.issue_number, labels)
    incident = await move(
        services, incident, Stage.NEEDS_HUMAN, f"hand-off to {agent.value}: {exc.outcome}", state
    )
    return await refresh_status(services, gh, incident, config, exc.problem)


async def _note_request(
    services: Services, incident: Incident, state: IncidentState
) -> tuple[Incident, float | None]:
    """Store when this hand-off starts asking GitHub, before it does. A stored time later than the last
    finished hand-off means an earlier try was cut short: that time is returned, to resume from."""
    if state.handoff_requested_at > state.handoff.at:
        return incident, state.handoff_requested_at
    state.handoff_requested_at = time.time()
    return await save(services.store, incident, state), None


async def _execute(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    plan: Handoff,
    base: str,
    *,
    resume_from: float | None,
) -> None:
    assert incident.issue_number is not None
    number = incident.issue_number
    done = AlreadyDone()
    if resume_from is not None and (plan.agent is AgentName.COPILOT or plan.comment):
        slug = await services.github.slug()
        done = await already_done(gh, incident.repo, number, requested_at=resume_from, app_slug=slug)
        log.info("incident %s: resuming its hand-off; GitHub already shows %s", incident.id, done)
    client = gh
    if plan.user_token:
        token = await writer_token(services, gh, incident)
        if token is None:
            raise HandoffRefused(
                NO_USER_TOKEN,
                f"{plan.agent.value} only accepts work from a user: no user with write access has "
                "authorised Fixloop yet. One (with a Copilot seat, for Copilot) signs in once with GitHub.",
            )
        client = services.github.client(token)
    try:
        if plan.assignees and not (plan.agent is AgentName.COPILOT and done.copilot_assigned):
            await _assign(client, incident.repo, number, plan, base)
        if plan.labels:
            await issues.add_labels(client, incident.repo, number, list(plan.labels))
        if plan.comment and not done.trigger_posted:
            await issues.post_comment(client, incident.repo, number, plan.comment)
    except GitHubRefused as exc:
        raise HandoffRefused(f"http_{exc.status}", f"GitHub refused the hand-off: {exc}") from exc


async def writer_token(services: Services, gh: GitHubClient, incident: Incident) -> str | None:
    """The token of a user who authorised Fixloop for this installation AND may write to the repository.

    Anyone can authorise Fixloop; only a writer's token may start an agent here, so a stranger who
    signed in cannot make the bot act in their name on someone else's repository.
    """
    for login in await services.user_tokens.linked_logins(incident.installation_id or 0):
        if not await may_write(gh, incident.repo, login):
            continue
        try:
            token = await services.user_tokens.token_for(login)
        except UserTokenRevoked:
            continue
        if token:
            return token
    return None


async def _assign(client: GitHubClient, repo: str, number: int, plan: Handoff, base: str) -> None:
    assignment: AgentAssignment | None = None
    if plan.agent is AgentName.COPILOT:
        assignment = {"target_repo": repo}
        if base:
            assignment["base_branch"] = base
        if plan.custom_instructions:
            assignment["custom_instructions"] = plan.custom_instructions
    await issues.add_assignees(client, repo, number, plan.assignees, agent_assignment=assignment)
