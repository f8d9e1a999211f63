"""The single status comment of an incident (edited in place) and its Mermaid picture of the loop."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.loop.incident.stages import Stage, Transition
from app.loop.render.markers import STATUS_MARKER
from app.loop.render.text import cell, code_span, safe_inline, truncate

MAX_TIMELINE = 30
MAX_COMMENT = 60_000  # GitHub refuses bodies over 65,536 characters; keep a margin


class PrState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # ready for review
    CLOSED = "closed"  # closed without merge
    MERGED = "merged"


@dataclass(frozen=True)
class LinkedPR:
    number: int
    url: str
    state: PrState
    title: str = ""
    author: str = ""
    checks: str = ""  # e.g. success | failure | pending


@dataclass(frozen=True)
class DeploymentView:
    environment: str
    state: str  # in_progress | success | failure | ...
    sha: str
    url: str = ""


@dataclass(frozen=True)
class StatusView:
    """Everything the status comment shows; built by the caller from the stored incident."""

    incident_id: int
    stage: Stage
    attempt: int
    max_attempts: int
    transitions: Sequence[Transition] = ()
    prs: Sequence[LinkedPR] = ()
    deployment: DeploymentView | None = None
    problem: str = ""  # why the loop stopped, e.g. a failed hand-off (shown neutralised)
    oauth_url: str = ""  # set only when a user token is missing: where a user authorises Fixloop
    resumed_by: str = ""  # the user whose sign-in resumed a hand-off that waited for a token
    agent: str = ""  # the agent of the latest hand-off
    infra: bool = False  # the hand-off was refused as an infrastructure failure: no agent would help
    soak: str = ""  # a verified fix: its soak watch (app.loop.steps.soak), Fixloop's own words
    cluster: str = ""  # the incident's cluster, shown once a cluster registry is in use
    visited: frozenset[Stage] = field(default_factory=frozenset)


NEXT_STEPS: dict[Stage, str] = {
    Stage.DETECTED: "Nothing yet: Fixloop is collecting the evidence.",
    Stage.ANALYSED: "Nothing yet: Fixloop is opening the issue.",
    Stage.ISSUE_OPEN: "Hand it to an agent with `/fixloop assign <agent>` "
    "(copilot, jules, claude, codex, openhands), or open a fix yourself and link this issue.",
    Stage.AGENT_WORKING: "Waiting for the agent's pull request. `/fixloop abort` stops the loop.",
    Stage.PR_OPEN: "Review and merge the pull request; Fixloop then sends the merge through the canary.",
    Stage.MERGED: "Waiting for the image of the merge commit; `/fixloop redeploy` sends it now.",
    Stage.REDEPLOYING: "The fix is in the canary; Fixloop closes this issue when the canary completes.",
    Stage.VERIFIED: "Nothing: the fix was verified in the canary. If the same failure comes back within "
    "the soak window (`soak_hours`), Fixloop reopens this issue.",
    Stage.FAILED_AGAIN: "Nothing yet: Fixloop analyses the new failure for the next attempt.",
    Stage.NEEDS_HUMAN: "Take it from here: fix it by hand, `/fixloop assign <agent>`, `/fixloop retry`, "
    "or `/fixloop ignore`.",
    Stage.SUPERSEDED: "Nothing: a newer revision replaced the failing one.",
    Stage.IGNORED: "Nothing: this incident is ignored.",
}
INFRA_STEP = (
    "Take it from here on the cluster side (image, registry access, scheduling, quota, node, metric "
    "provider), then `/fixloop retry`; or hand it to a person with `/fixloop assign @user`, "
    "or `/fixloop ignore`."
)
OAUTH_STEP = (
    "Authorise Fixloop to hand off in your name: [sign in with GitHub]({url}), then `/fixloop retry`."
)

_EDGES = (
    "detected --> analysed --> issue_open --> agent_working --> pr_open --> merged --> redeploying"
    "\n  redeploying --> verified",
    "redeploying -->|aborted| failed_again -->|attempt + 1| analysed",
    "pr_open -.->|closed| agent_working",
    "failed_again -.->|cap| needs_human",
    "verified -.->|same signature within soak_hours| failed_again",
    "redeploying -.->|newer revision| superseded",
    "issue_open -.->|ignore| ignored",
)
_CLASSES = (
    "classDef current fill:#fde047,stroke:#b45309,stroke-width:3px,color:#000",
    "classDef visited fill:#e0f2fe,stroke:#0369a1,color:#000",
)


def render_mermaid(current: Stage, visited: frozenset[Stage] = frozenset()) -> str:
    """A ```mermaid flowchart of the loop, with the current stage highlighted (class ``current``)."""
    nodes = [f'  {stage.value}["{stage.label}"]' for stage in Stage]
    lines = ["```mermaid", "flowchart LR", *nodes, *(f"  {edge}" for edge in _EDGES)]
    lines += [f"  {line}" for line in _CLASSES]
    done = sorted(stage.value for stage in visited - {current})
    if done:
        lines.append(f"  class {','.join(done)} visited")
    lines += [f"  class {current.value} current", "```"]
    return "\n".join(lines)


def next_step(view: StatusView) -> str:
    if view.oauth_url.startswith(("https://", "http://")) and view.stage is Stage.NEEDS_HUMAN:
        return OAUTH_STEP.format(url=view.oauth_url)
    if view.infra and view.stage is Stage.NEEDS_HUMAN:
        return INFRA_STEP
    return NEXT_STEPS[view.stage]


def _timeline(transitions: Sequence[Transition]) -> str:
    if not transitions:
        return "_No transitions recorded yet._"
    shown = list(transitions)[-MAX_TIMELINE:]
    rows = ["| when (UTC) | stage | attempt | cause |", "|---|---|---|---|"]
    for t in shown:
        when = t.at.strftime("%Y-%m-%d %H:%M")
        rows.append(f"| {when} | {t.src.label} → **{t.dst.label}** | {t.attempt} | {cell(t.cause)} |")
    earlier = len(transitions) - len(shown)
    return "\n".join(rows) + (f"\n\n_{earlier} earlier transitions not shown._" if earlier else "")


def _pr_link(pr: LinkedPR) -> str:
    if re.fullmatch(r"https://[^\s()<>\"'`]{1,300}", pr.url):
        return f"[#{pr.number}]({pr.url})"
    return f"#{pr.number}"


def _prs(prs: Sequence[LinkedPR]) -> str:
    if not prs:
        return "_None linked yet._"
    rows = ["| pull request | state | checks | author | title |", "|---|---|---|---|---|"]
    rows += [
        f"| {_pr_link(pr)} | {pr.state.value} | {cell(pr.checks or '–')} | {cell(pr.author or '–')} "
        f"| {cell(pr.title or '–', 120)} |"
        for pr in prs
    ]
    return "\n".join(rows)


def _deployment(deployment: DeploymentView | None) -> str:
    if deployment is None:
        return "_None yet: created when the fix is merged._"
    return (
        f"{code_span(deployment.environment)}: **{cell(deployment.state)}** for commit "
        f"{code_span(deployment.sha[:12])}"
    )


def render_status_comment(view: StatusView) -> str:
    """The status comment: marker, stage, attempt, next step, PRs, deployment, timeline, Mermaid."""
    visited = view.visited | {t.src for t in view.transitions} | {t.dst for t in view.transitions}
    parts = [
        STATUS_MARKER,
        f"### Fixloop status: {view.stage.label}",
        f"**Stage** `{view.stage.value}` · **attempt** {view.attempt}/{view.max_attempts} · "
        f"incident {view.incident_id}"
        + (f" · **cluster** {code_span(view.cluster, 63)}" if view.cluster else ""),
        f"**Next step:** {next_step(view)}",
    ]
    if view.soak:
        parts.append(f"**Soak watch:** {view.soak}")
    if view.problem:
        parts.append(f"**Problem:** {safe_inline(view.problem, 1000)}")
    if view.resumed_by:
        parts.append(
            f"**Hand-off resumed:** {code_span(view.resumed_by, 60)} signed in with GitHub, so Fixloop "
            f"handed the issue to {code_span(view.agent or 'the agent', 60)} with their authorisation."
        )
    parts += [
        "#### Pull requests\n" + _prs(view.prs),
        "#### Deployment\n" + _deployment(view.deployment),
        render_mermaid(view.stage, frozenset(visited)),
        "<details>\n<summary>Timeline</summary>\n\n" + _timeline(view.transitions) + "\n\n</details>",
    ]
    return truncate("\n\n".join(parts), MAX_COMMENT)
