"""The agent scorecard: per agent and repository, what came of the issues handed to it.

Computed from the store's history (transitions and the ``handoff`` and ``soak`` audit entries), so it
survives restarts and counts every process's work. Each event is credited to the agent of the attempt it
belongs to: the last successful hand-off before it (``none`` before any, or for a human).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.loop.incident.repo_config import AgentName
from app.loop.incident.stages import Stage
from app.loop.steps.soak import FAILED, HELD
from app.store import AuditEntry, Transition

if TYPE_CHECKING:
    from app.services import Services

CACHE_SECONDS = 30.0  # a scrape or a page view reuses a scorecard this recent
OTHER = "other"  # label of the repositories past the metrics' cap
NO_AGENT = AgentName.NONE.value


@dataclass
class Tally:
    handoffs: int = 0
    prs_opened: int = 0
    merged: int = 0
    verified: int = 0
    held: int = 0  # verified fixes that held through their soak window
    failed_in_soak: int = 0  # verified fixes whose signature came back within the window
    failed_in_canary: int = 0
    to_verified: list[float] = field(default_factory=list)  # seconds, issue (or reopening) -> verified
    attempts: list[int] = field(default_factory=list)  # the attempt each verified fix was

    def add(self, other: Tally) -> None:
        for name in ("handoffs", "prs_opened", "merged", "verified", "held", "failed_in_soak"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed_in_canary += other.failed_in_canary
        self.to_verified.extend(other.to_verified)
        self.attempts.extend(other.attempts)

    @property
    def median_to_verified(self) -> float | None:
        return statistics.median(self.to_verified) if self.to_verified else None

    @property
    def attempts_per_verified(self) -> float | None:
        return sum(self.attempts) / len(self.attempts) if self.attempts else None


@dataclass
class Scorecard:
    rows: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (repo, agent) -> tally
    at: float = 0.0

    def tally(self, repo: str, agent: str) -> Tally:
        return self.rows.setdefault((repo, agent), Tally())

    def only(self, repos: set[str]) -> Scorecard:
        """The rows of these repositories (compared case-insensitively)."""
        wanted = {r.lower() for r in repos}
        return Scorecard({k: v for k, v in self.rows.items() if k[0].lower() in wanted}, self.at)

    def by_agent(self) -> dict[str, Tally]:
        return _merge((agent, tally) for (_, agent), tally in self.rows.items())

    def by_repo(self) -> dict[str, Tally]:
        return _merge((repo, tally) for (repo, _), tally in self.rows.items())

    def capped(self, max_repos: int) -> dict[tuple[str, str], Tally]:
        """Rows for metrics labels: the ``max_repos`` busiest repositories, the rest as ``other``."""
        busiest = sorted(self.by_repo().items(), key=lambda item: (-item[1].handoffs, item[0]))
        kept = {repo for repo, _ in busiest[:max_repos]}
        merged: dict[tuple[str, str], Tally] = {}
        for (repo, agent), tally in self.rows.items():
            merged.setdefault((repo if repo in kept else OTHER, agent), Tally()).add(tally)
        return merged


def _merge(items: Iterable[tuple[str, Tally]]) -> dict[str, Tally]:
    merged: dict[str, Tally] = {}
    for key, tally in items:
        merged.setdefault(key, Tally()).add(tally)
    return dict(sorted(merged.items()))


@dataclass
class _Walk:
    """One incident's history replayed: who holds the attempt, and when its issue was (re)opened."""

    agent: str = NO_AGENT
    attempt: int = 1
    issue_at: float | None = None
    verified_agent: str = NO_AGENT


def compute(
    repos: dict[int, str],
    transitions: list[Transition],
    audit: list[AuditEntry],
    card: Scorecard | None = None,
) -> Scorecard:
    """Replay these incidents' histories into ``card`` (a new one by default); every incident's whole
    history must be in one call."""
    events: dict[int, list[tuple[float, int, Transition | AuditEntry]]] = defaultdict(list)
    for t in transitions:
        events[t.incident_id].append((t.at, t.id * 2, t))
    for a in audit:
        events[a.incident_id].append((a.at, a.id * 2 + 1, a))
    card = card if card is not None else Scorecard(at=time.time())
    for incident_id, happened in events.items():
        repo = repos.get(incident_id)
        if repo is None:
            continue
        walk = _Walk()
        for _, _, event in sorted(happened, key=lambda e: (e[0], e[1])):
            if isinstance(event, Transition):
                _on_transition(card, repo, walk, event)
            else:
                _on_audit(card, repo, walk, event)
    return card


def _on_transition(card: Scorecard, repo: str, walk: _Walk, t: Transition) -> None:
    tally = card.tally(repo, walk.agent)
    src, dst = t.from_stage, t.to_stage
    if dst == Stage.ISSUE_OPEN.value and walk.issue_at is None:
        walk.issue_at = t.at
    elif dst == Stage.PR_OPEN.value:
        tally.prs_opened += 1
    elif dst == Stage.MERGED.value:
        tally.merged += 1
    elif dst == Stage.VERIFIED.value:
        tally.verified += 1
        tally.attempts.append(walk.attempt)
        if walk.issue_at is not None:
            tally.to_verified.append(max(0.0, t.at - walk.issue_at))
        walk.verified_agent = walk.agent
    elif dst == Stage.FAILED_AGAIN.value and src == Stage.VERIFIED.value:
        walk.issue_at = t.at  # reopened: the next fix is timed from here
    elif dst == Stage.FAILED_AGAIN.value:
        tally.failed_in_canary += 1
    elif (src, dst) == (Stage.FAILED_AGAIN.value, Stage.ANALYSED.value):
        walk.attempt += 1


def _on_audit(card: Scorecard, repo: str, walk: _Walk, a: AuditEntry) -> None:
    if a.kind == "handoff" and a.detail.get("outcome") == "ok":
        walk.agent = _agent(a.detail.get("agent"))
        card.tally(repo, walk.agent).handoffs += 1
    elif a.kind == "soak" and a.detail.get("outcome") == HELD:
        card.tally(repo, walk.verified_agent).held += 1
    elif a.kind == "soak" and a.detail.get("outcome") == FAILED:
        card.tally(repo, walk.verified_agent).failed_in_soak += 1


def _agent(value: object) -> str:
    """A known agent name (the label set stays bounded whatever an old row holds)."""
    known = {agent.value for agent in AgentName}
    return value if isinstance(value, str) and value in known else NO_AGENT


async def scorecard(services: Services, *, fresh: bool = False) -> Scorecard:
    """The scorecard, recomputed at most every CACHE_SECONDS per process (``fresh``: now)."""
    cached = services.last_scorecard
    if not fresh and cached is not None and time.time() - cached.at < CACHE_SECONDS:
        return cached
    card = Scorecard(at=time.time())
    async for repos, transitions, audit in services.store.incident_history(("handoff", "soak")):
        compute(repos, transitions, audit, card)
    services.last_scorecard = card
    return card
