"""Slash commands about the incident itself: help, status, assign, ignore, close."""

from __future__ import annotations

import time

from app.analysis.evidence import evidence_from_dict
from app.analysis.verdict import verdict_from_dict
from app.errors import FixloopError
from app.github import issues
from app.github.collaborators import may_write
from app.loop.commands.base import Invocation, Outcome, Refused, Runner, mapped_rollout, no_args
from app.loop.commands.grammar import Command, login_argument
from app.loop.commands.replies import render_status_text, rollout_state
from app.loop.incident.records import HandoffRecord
from app.loop.incident.repo_config import AgentName
from app.loop.incident.stages import TERMINAL, Stage, can_move
from app.loop.incident.state import move, save
from app.loop.render.text import code_span, safe_inline
from app.loop.steps.handoff import hand_off
from app.loop.steps.handoff_gate import infra_problem, infra_reason
from app.loop.steps.status import refresh_status
from app.rollouts.model import RolloutView, parse_rollout

AGENTS = " | ".join(agent.value for agent in AgentName)
NO_HANDOFF = frozenset({Stage.MERGED, Stage.REDEPLOYING, *TERMINAL})


async def show_help(inv: Invocation, command: Command) -> Outcome:
    return Outcome(True, "the commands are listed below.")


async def status(inv: Invocation, command: Command) -> Outcome:
    no_args(command)
    try:
        rollout = rollout_state(parse_rollout(await mapped_rollout(inv)))
    except Refused as exc:
        rollout = f"{inv.rollout_ref}: {exc.text}"
    except FixloopError as exc:
        rollout = f"{inv.rollout_ref}: could not be read ({safe_inline(str(exc), 300)})"
    config = await inv.config()
    return Outcome(True, render_status_text(inv.incident, max_attempts=config.max_attempts, rollout=rollout))


async def assign(inv: Invocation, command: Command) -> Outcome:
    if len(command.args) != 1:
        raise Refused(f"usage: `/fixloop assign <{AGENTS} | @user>`.")
    stage = inv.incident.stage
    if stage in NO_HANDOFF:
        raise Refused(f"the incident is {code_span(stage.label)}: there is nothing left to hand off.")
    login = login_argument(command.args[0])
    if login is not None:
        return await _assign_person(inv, login)
    try:
        agent = AgentName(command.args[0])
    except ValueError:
        raise Refused(
            f"unknown agent {code_span(command.args[0], 60)}: use one of {AGENTS}, or @user."
        ) from None
    target = Stage.ISSUE_OPEN if agent is AgentName.NONE else Stage.AGENT_WORKING
    if stage is not target and not can_move(stage, target):
        raise Refused(f"the incident is {code_span(stage.label)}: use `@user` to hand it to a person.")
    state = inv.state
    infra = infra_reason(evidence_from_dict(state.evidence or {}), verdict_from_dict(state.verdict or {}))
    if infra and agent is not AgentName.NONE:
        raise Refused(f"not handed to {agent.value}: {infra_problem(infra)}")
    config = await inv.config()
    inv.incident = await hand_off(
        inv.services, inv.gh, inv.incident, config, view=await _view(inv), agent=agent
    )
    handoff = inv.state.handoff
    if handoff.outcome != "ok":
        raise Refused(f"the hand-off to {agent.value} failed: {safe_inline(handoff.problem, 500)}")
    return Outcome(True, f"handed the issue to {code_span(agent.value)}.")


async def _assign_person(inv: Invocation, login: str) -> Outcome:
    """A person takes over: assigned on the issue; an agent's work stops being awaited (needs human)."""
    if inv.incident.issue_number is None:
        raise Refused("the incident has no issue to assign.")
    if not await may_write(inv.gh, inv.incident.repo, login):
        raise Refused(f"{code_span(login)} cannot be assigned: they need write access to this repository.")
    answer = await issues.add_assignees(inv.gh, inv.incident.repo, inv.incident.issue_number, [login])
    assigned = {name.lower() for name in answer}
    if login.lower() not in assigned:
        raise Refused(f"GitHub did not assign {code_span(login)}.")
    state = inv.state
    state.handoff = HandoffRecord(agent=AgentName.NONE.value, outcome="ok", human=login, at=time.time())
    await inv.services.store.add_audit(inv.incident.id, "handoff", state.handoff.to_dict())
    cause = f"assigned to {login} by {inv.actor}"
    if inv.incident.stage is Stage.AGENT_WORKING:
        inv.incident = await move(inv.services, inv.incident, Stage.NEEDS_HUMAN, cause, state)
    else:
        inv.incident = await save(inv.services.store, inv.incident, state)
    inv.incident = await refresh_status(inv.services, inv.gh, inv.incident, await inv.config())
    return Outcome(True, f"assigned the issue to {code_span(login)}.")


async def _view(inv: Invocation) -> RolloutView | None:
    """The Rollout (for its base branch) when it can be read; a hand-off does not need it."""
    try:
        return parse_rollout(await mapped_rollout(inv))
    except (Refused, FixloopError):
        return None


async def ignore(inv: Invocation, command: Command) -> Outcome:
    no_args(command)
    await inv.services.store.mute(inv.incident.fingerprint, inv.actor)
    text = f"muted this failure ({code_span(inv.incident.fingerprint)}): Fixloop opens no new issue for it"
    if inv.incident.stage in TERMINAL:
        return Outcome(True, f"{text}.")
    cause = f"/fixloop ignore by {inv.actor}"
    inv.incident = await move(inv.services, inv.incident, Stage.IGNORED, cause)
    inv.incident = await refresh_status(inv.services, inv.gh, inv.incident, await inv.config())
    return Outcome(True, f"{text}, and the incident is ignored. `/fixloop close` closes the issue.")


async def close(inv: Invocation, command: Command) -> Outcome:
    no_args(command)
    number = inv.incident.issue_number
    if number is None:
        raise Refused("the incident has no issue to close.")
    stage = inv.incident.stage
    moved = ""
    if stage not in TERMINAL:
        target = await _closing_stage(inv)
        inv.incident = await move(inv.services, inv.incident, target, f"/fixloop close by {inv.actor}")
        moved = f"; the incident is {code_span(target.label)}"
    await issues.update_issue(inv.gh, inv.incident.repo, number, state="closed", state_reason="not_planned")
    inv.incident = await refresh_status(inv.services, inv.gh, inv.incident, await inv.config())
    return Outcome(True, f"closed #{number}{moved}.")


async def _closing_stage(inv: Invocation) -> Stage:
    """Superseded when the Rollout has moved on to another revision, ignored otherwise."""
    view = await _view(inv)
    revision = inv.state.revision
    if view and view.current_pod_hash and revision and view.current_pod_hash != revision:
        return Stage.SUPERSEDED
    return Stage.IGNORED


INCIDENT_COMMANDS: dict[str, Runner] = {
    "help": show_help,
    "status": status,
    "assign": assign,
    "ignore": ignore,
    "close": close,
}
