"""A canary failed: one incident per fingerprint, evidence, analysis, one issue, a hand-off.

Argo sends several notifications per failure (aborted, analysis-run-failed, retries). The first job to
claim the incident does the work; later ones only refresh the status comment, or add a comment when the
evidence shows something new.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.analysis.evidence import Evidence
from app.analysis.verdict import Verdict
from app.clusters import CURRENT_CLUSTER
from app.github import issues
from app.github.http import GitHubClient
from app.logs import log_context
from app.loop.incident.consent import note_refusal, source_consented
from app.loop.incident.mapping import Mapping
from app.loop.incident.repo_config import ConfigResult, RepoConfig
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, move, save
from app.loop.incident.work import claim_incident, release_incident
from app.loop.render.comments import LearnedSummary, diff_learned, render_recurrence_comment
from app.loop.steps import issue_ops
from app.loop.steps.analysis import analyse_evidence, collect_for, trace_origin
from app.loop.steps.attempts import fix_failed, incident_of_fix
from app.loop.steps.failure_issue import open_issue, report_config_problems
from app.loop.steps.handoff import hand_off
from app.loop.steps.reopen import reopen, verified_incident_for
from app.loop.steps.soak import current_incident
from app.loop.steps.status import refresh_status
from app.rollouts.model import RolloutView, fingerprint
from app.rollouts.notification import Notification
from app.store import Incident, Store

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services

log = logging.getLogger(__name__)

RECOLLECT_AFTER = 600.0  # seconds: a repeated notification re-reads the evidence at most this often
OPEN_STAGES = frozenset({Stage.ISSUE_OPEN, Stage.AGENT_WORKING, Stage.PR_OPEN, Stage.NEEDS_HUMAN})


async def on_failure(
    services: Services, ctx: JobContext, notification: Notification, view: RolloutView, mapping: Mapping
) -> None:
    cluster = CURRENT_CLUSTER.get()
    config_result = await _consented(services, ctx, view, mapping, cluster)
    if config_result is None:
        return
    key = fingerprint(view, cluster)
    if await services.store.is_muted(key) or await services.store.is_muted(str(view.ref)):
        log.info("failure of %s muted (/fixloop ignore): no incident", view.ref)
        return
    fixed = await incident_of_fix(services, view, key)
    if fixed is not None and fixed.stage is not Stage.VERIFIED:
        await _with_claim(services, ctx, fixed, lambda i, gh: fix_failed(services, gh, i, notification, view))
        return
    # A verified fix failing in its soak window reopens its incident; out of the window it is a new one.
    existing = fixed or await services.store.get_incident_by_fingerprint(key)
    key, existing = await current_incident(services, key, existing)
    back, collected = await verified_incident_for(services, view, notification, existing)
    if back is not None and collected is not None:
        verified, signatures = back
        evidence = collected

        async def reopen_it(i: Incident, gh: GitHubClient) -> Incident:
            if i.stage is not Stage.VERIFIED:
                return i  # another job reopened it meanwhile
            return await reopen(services, gh, i, key=key, evidence=evidence, signatures=signatures, view=view)

        await _with_claim(services, ctx, verified, reopen_it)
        return
    incident, created = await services.store.get_or_create_incident(
        key,
        namespace=view.namespace,
        rollout=view.name,
        repo=mapping.repo,
        installation_id=mapping.installation_id,
        stage=Stage.DETECTED.value,
        data=_initial_state(view, cluster).to_dict(),
    )
    if created:
        await services.store.record_transition(incident.id, None, Stage.DETECTED.value, notification.event)
    await _with_claim(
        services,
        ctx,
        incident,
        lambda i, gh: advance(
            services, gh, i, notification, view, evidence=collected, config_result=config_result
        ),
    )


async def _with_claim(
    services: Services,
    ctx: JobContext,
    incident: Incident,
    work: Callable[[Incident, GitHubClient], Awaitable[Incident]],
) -> None:
    """Run ``work`` holding the incident's claim; another job holding it means: nothing to do here."""
    ctx.bind(incident=incident.id)
    with log_context(incident=incident.id):
        claimed = await claim_incident(services.store, incident, ctx.job.id)
        if claimed is None:
            log.info("incident %s is being handled by another job", incident.id)
            return
        gh = services.github.installation_client(incident.installation_id or 0)
        incident = await work(claimed, gh)
        await release_incident(services.store, incident, ctx.job.id)


async def _consented(
    services: Services, ctx: JobContext, view: RolloutView, mapping: Mapping, cluster: str
) -> ConfigResult | None:
    """The repository's config when it accepts failures of this cluster/namespace, else None: the
    refusal is recorded on the job (step ``consent``), logged and counted: no incident, no issue, no
    hand-off, no patch."""
    gh = services.github.installation_client(mapping.installation_id)
    result = await issue_ops.read_repo_config(gh, mapping.repo)
    if source_consented(services, result.config, cluster, view.namespace):
        return result
    reason = note_refusal(services, mapping.repo, cluster, view.namespace, f"failure of {view.ref}")

    async def record() -> dict[str, object]:
        return {"refused": reason, "cluster": cluster, "namespace": view.namespace}

    await ctx.step("consent", record)
    return None


def _initial_state(view: RolloutView, cluster: str) -> IncidentState:
    state = IncidentState(
        revision=view.current_pod_hash,
        images=dict(view.containers),
        base_branch=view.base_branch,
        cluster=cluster,
    )
    state.reach("failure")
    return state


async def advance(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    notification: Notification,
    view: RolloutView,
    *,
    evidence: Evidence | None = None,
    config_result: ConfigResult | None = None,
) -> Incident:
    """``config_result``: the repository's config as just read for the consent check (one read)."""
    config_result = config_result or await issue_ops.read_repo_config(gh, incident.repo)
    config = config_result.config
    state = IncidentState.of(incident)
    state.note_event(notification.event.value)
    if incident.stage is Stage.DETECTED:
        evidence = evidence or await collect_for(services, view, notification)
        verdict = await analyse_evidence(services, evidence, config, state)
        template = config.image or view.image_template
        state.origin = await trace_origin(services, gh, incident.repo, evidence, template)
        incident = await record_analysis(services, incident, state, evidence, verdict)
    if incident.stage is Stage.ANALYSED:
        # The hand-off right after posts the status comment, once, with its outcome.
        incident = await open_issue(services, gh, incident, config, announce=False)
        await report_config_problems(services, gh, incident, config_result)
        return await hand_off(services, gh, incident, config, view=view)
    if await _handoff_pending(services.store, incident, state):
        return await hand_off(services, gh, incident, config, view=view)
    if incident.stage in OPEN_STAGES:
        incident = await note_recurrence(
            services, gh, incident, state, config=config, notification=notification, view=view
        )
        return await refresh_status(services, gh, incident, config)
    return await save(services.store, incident, state)


async def _handoff_pending(store: Store, incident: Incident, state: IncidentState) -> bool:
    """The issue is open but this attempt's hand-off never finished (GitHub failing past the client's
    retries, a crash): the retried job resumes it, or the incident would wait at issue_open, nobody on it."""
    if incident.stage is not Stage.ISSUE_OPEN:
        return False
    transitions = await store.list_transitions(incident.id)
    opened = max((t.at for t in transitions if t.to_stage == Stage.ISSUE_OPEN.value), default=0.0)
    return state.handoff.at < opened


async def record_analysis(
    services: Services, incident: Incident, state: IncidentState, evidence: Evidence, verdict: Verdict
) -> Incident:
    state.evidence = evidence.to_dict()
    state.verdict = verdict.to_dict()
    state.gaps = list(evidence.gaps)
    state.learned = LearnedSummary.from_evidence(evidence).to_dict()
    state.evidence_at = time.time()
    await services.store.add_audit(incident.id, "analysis", {"source": verdict.source, **verdict.audit})
    return await move(services, incident, Stage.ANALYSED, f"analysed ({verdict.source})", state)


async def note_recurrence(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    state: IncidentState,
    *,
    config: RepoConfig,
    notification: Notification,
    view: RolloutView,
) -> Incident:
    """Comment only when the evidence shows something new; otherwise just remember the event."""
    if time.time() - state.evidence_at < RECOLLECT_AFTER or incident.issue_number is None:
        return await save(services.store, incident, state)
    evidence = await collect_for(services, view, notification)
    previous = LearnedSummary.from_dict(state.learned) if state.learned else None
    learned = diff_learned(previous, evidence)
    state.evidence_at = time.time()
    if learned:
        body = render_recurrence_comment(learned, evidence, attempt=incident.attempt)
        await issues.post_comment(gh, incident.repo, incident.issue_number, body)
        state.learned = LearnedSummary.from_evidence(evidence).to_dict()
    return await save(services.store, incident, state)
