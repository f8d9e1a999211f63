"""Slash commands that act on the incident's Rollout: retry, abort, promote, redeploy, analyze.

Each one re-reads the Rollout first and acts only if it still carries ``fixloop.dev/repo`` equal to the
incident's repository (``mapped_rollout``); without cluster access each says so and does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.github import issues
from app.loop.commands.base import Invocation, Outcome, Refused, Runner, mapped_rollout, no_args
from app.loop.commands.grammar import Command
from app.loop.commands.replies import render_analysis
from app.loop.incident.repo_config import CONFIG_PATH, RedeployMode
from app.loop.incident.stages import Stage
from app.loop.incident.state import move, save
from app.loop.render.text import code_span
from app.loop.steps.analysis import analyse_evidence, collect_for
from app.loop.steps.deployments import set_deployment_state
from app.loop.steps.redeploy import send_image
from app.loop.steps.status import refresh_status
from app.loop.steps.verify import carries_fix
from app.rollouts.model import (
    ANNOTATION_FIX_PR,
    ANNOTATION_FIX_SHA,
    ANNOTATION_IMAGE,
    ANNOTATION_INCIDENT,
    parse_rollout,
)
from app.rollouts.notification import Notification, NotificationEvent

REDEPLOYABLE = frozenset({Stage.MERGED, Stage.REDEPLOYING, Stage.NEEDS_HUMAN})


async def retry(inv: Invocation, command: Command) -> Outcome:
    no_args(command)
    await mapped_rollout(inv)
    await inv.kube.retry(inv.incident.namespace, inv.incident.rollout)
    return Outcome(True, f"cleared the abort of the Rollout {inv.rollout_ref}: the canary runs again.")


async def abort(inv: Invocation, command: Command) -> Outcome:
    no_args(command)
    await mapped_rollout(inv)
    await inv.kube.abort(inv.incident.namespace, inv.incident.rollout)
    return Outcome(True, f"aborted the Rollout {inv.rollout_ref}: traffic goes back to the stable revision.")


async def promote(inv: Invocation, command: Command) -> Outcome:
    if command.args not in ((), ("--full",)):
        raise Refused("usage: `/fixloop promote` (one step) or `/fixloop promote --full`.")
    full = command.args == ("--full",)
    await mapped_rollout(inv)
    await inv.kube.promote(inv.incident.namespace, inv.incident.rollout, full=full)
    how = "fully promoted" if full else "promoted"
    return Outcome(True, f"{how} the Rollout {inv.rollout_ref}, as `kubectl argo rollouts promote` does.")


async def redeploy(inv: Invocation, command: Command) -> Outcome:
    """The merged fix through the canary again: its image set, or the abort cleared if it is already there."""
    no_args(command)
    sha = _merged_fix(inv)
    config = await inv.config()
    if config.redeploy is RedeployMode.GITOPS:
        raise Refused("this repository deploys through GitOps (`redeploy: gitops`): sync it there.")
    view = parse_rollout(await mapped_rollout(inv))
    kube, ns, name = inv.kube, inv.incident.namespace, inv.incident.rollout
    fix_pr = "" if inv.state.fix.pr is None else str(inv.state.fix.pr)
    marks = {ANNOTATION_INCIDENT: str(inv.incident.id), ANNOTATION_FIX_PR: fix_pr, ANNOTATION_FIX_SHA: sha}
    await kube.annotate_rollout(ns, name, marks)
    inv.incident = await set_deployment_state(inv.services, inv.gh, inv.incident, "in_progress")
    if config.redeploy is RedeployMode.IMAGE and not carries_fix(view, inv.state):
        if not (config.image or view.image_template):
            raise Refused(
                f"no image template: set `image` in {code_span(CONFIG_PATH)} or `{ANNOTATION_IMAGE}`."
            )
        inv.incident = await send_image(inv.services, inv.gh, inv.incident, config)
        if inv.incident.stage is not Stage.REDEPLOYING:  # send_image gave up; the issue says why
            raise Refused("the image was not set: the status comment says why.")
        image = code_span(inv.state.fix.image)
        return Outcome(True, f"set the image of {inv.rollout_ref} to {image}: the fix enters the canary.")
    await kube.retry(ns, name)
    inv.incident = await move(
        inv.services, inv.incident, Stage.REDEPLOYING, f"/fixloop redeploy by {inv.actor}"
    )
    inv.incident = await refresh_status(inv.services, inv.gh, inv.incident, config)
    fix = code_span(sha[:12])
    return Outcome(True, f"cleared the abort of {inv.rollout_ref}: the fix {fix} runs in the canary again.")


def _merged_fix(inv: Invocation) -> str:
    sha = inv.state.fix.sha
    stage = inv.incident.stage
    if not sha:
        raise Refused("there is no merged fix for this incident yet: nothing to redeploy.")
    if stage not in REDEPLOYABLE:
        raise Refused(f"the incident is {stage.label}: only a merged fix not yet verified can be redeployed.")
    return sha


async def analyze(inv: Invocation, command: Command) -> Outcome:
    """Fresh evidence and a new analysis, posted on the issue. The incident keeps its original evidence:
    verification compares the fixed canary against it."""
    no_args(command)
    number = inv.incident.issue_number
    if number is None:
        raise Refused("the incident has no issue to post an analysis on.")
    rollout = await mapped_rollout(inv)
    view = parse_rollout(rollout)
    event = NotificationEvent.ROLLOUT_ABORTED if view.aborted else NotificationEvent.ROLLOUT_UPDATED
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    evidence = await collect_for(
        inv.services, view, Notification(event, view.namespace, view.name, rollout, stamp)
    )
    state = inv.state
    verdict = await analyse_evidence(inv.services, evidence, await inv.config(), state)
    detail = {**verdict.audit, "source": verdict.source, "by": inv.actor}
    await inv.services.store.add_audit(inv.incident.id, "analysis", detail)
    inv.incident = await save(inv.services.store, inv.incident, state)  # keeps the LLM tokens it used
    await issues.post_comment(
        inv.gh, inv.incident.repo, number, render_analysis(evidence, verdict, inv.actor)
    )
    return Outcome(True, f"posted a fresh analysis of {inv.rollout_ref} on #{number}.")


KUBE_COMMANDS: dict[str, Runner] = {
    "retry": retry,
    "abort": abort,
    "promote": promote,
    "redeploy": redeploy,
    "analyze": analyze,
}
