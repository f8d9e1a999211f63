"""Resuming a hand-off that an earlier try may already have carried out.

Assigning Copilot, or posting the ``@claude``/``@codex`` trigger, starts an agent session: doing it twice
starts two agents on one issue. A try that sent the request but died before recording the outcome (the
process killed, a POST that GitHub carried out but whose answer never came) leaves that in doubt. The
time of the request is stored before it is sent; on a resume, the issue's timeline from that time on
tells what GitHub already did, and only the rest is done. A first try reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.github import issues
from app.github.http import GitHubClient
from app.github.issues import TimelineEvent
from app.loop.payloads import AGENT_BOTS
from app.loop.render.markers import HANDOFF_MARKER, is_own_comment
from app.loop.steps import issue_ops

# An assignment stamped up to GITHUB_CLOCK_SKEW before our stored request time is still taken as ours (a
# previous attempt's hand-off lies hours back, behind a merge and a canary).


@dataclass(frozen=True)
class AlreadyDone:
    """What the issue's timeline shows since the hand-off was requested."""

    copilot_assigned: bool = False
    trigger_posted: bool = False


async def already_done(
    gh: GitHubClient, repo: str, number: int, *, requested_at: float, app_slug: str
) -> AlreadyDone:
    since = requested_at - issue_ops.GITHUB_CLOCK_SKEW
    copilot = trigger = False
    async for item in issues.timeline(gh, repo, number):
        if _stamp(item) < since:
            continue
        copilot = copilot or _assigns_copilot(item)
        trigger = trigger or _is_own_trigger(item, app_slug)
    return AlreadyDone(copilot_assigned=copilot, trigger_posted=trigger)


def _stamp(item: TimelineEvent) -> float:
    raw = item.get("created_at")
    if not isinstance(raw, str):
        return 0.0
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        return 0.0


def _assigns_copilot(item: TimelineEvent) -> bool:
    login = str(((item.get("assignee") or {}).get("login")) or "").lower()
    return item.get("event") == "assigned" and login in AGENT_BOTS["copilot"]


def _is_own_trigger(item: TimelineEvent, app_slug: str) -> bool:
    if item.get("event") != "commented":
        return False
    author = str((item.get("user") or item.get("actor") or {}).get("login") or "")
    return is_own_comment(item.get("body"), HANDOFF_MARKER, author_login=author, app_slug=app_slug)
