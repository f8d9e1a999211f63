"""What handing an issue to an agent means, per agent, as data: whom to assign, which label, which
comment; the GitHub calls are made in steps.handoff. The agent's words come from render.task."""

from __future__ import annotations

from dataclasses import dataclass

from app.loop.incident.repo_config import AgentName
from app.loop.render.markers import HANDOFF_MARKER
from app.loop.render.task import TaskFacts, build_agent_task, build_custom_instructions

COPILOT_ASSIGNEE = "copilot-swe-agent[bot]"
JULES_LABEL = "jules"  # must be added with a user token: Jules ignores labels added by an installation
OPENHANDS_LABEL = "fix-me"
MENTIONS = {AgentName.CLAUDE: "@claude", AgentName.CODEX: "@codex"}
TRIGGER_TEMPLATE = (
    "{mention} please fix the failed canary described in this issue, following the task below, "
    "and open a pull request that links this issue.\n\n{task}\n\n{marker}"
)


@dataclass(frozen=True)
class Handoff:
    """What handing an issue to an agent means, as data; the GitHub calls are made elsewhere.

    ``user_token``: the step needs a user-to-server token (Copilot assignment, the Jules label).
    """

    agent: AgentName
    assignees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    comment: str | None = None
    custom_instructions: str | None = None
    user_token: bool = False


def trigger_comment(agent: AgentName, facts: TaskFacts) -> str:
    """The ``@claude`` / ``@codex`` comment: the mention, then the fixed task."""
    mention = MENTIONS[agent]
    return TRIGGER_TEMPLATE.format(mention=mention, task=build_agent_task(facts), marker=HANDOFF_MARKER)


def plan_handoff(agent: AgentName, facts: TaskFacts, *, humans: tuple[str, ...] = ()) -> Handoff:
    if agent is AgentName.COPILOT:
        instructions = build_custom_instructions(facts)
        return Handoff(agent, (COPILOT_ASSIGNEE,), custom_instructions=instructions, user_token=True)
    if agent is AgentName.JULES:
        return Handoff(agent, labels=(JULES_LABEL,), user_token=True)
    if agent is AgentName.OPENHANDS:
        return Handoff(agent, labels=(OPENHANDS_LABEL,))
    if agent in MENTIONS:
        return Handoff(agent, comment=trigger_comment(agent, facts))
    return Handoff(AgentName.NONE, assignees=humans)
