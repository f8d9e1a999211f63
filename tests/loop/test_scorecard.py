"""The scorecard replays transitions and audit entries: credit goes to the agent holding the attempt."""

from __future__ import annotations

from app.loop.incident.scorecard import OTHER, compute
from app.store import AuditEntry, Transition


def t(n: int, incident: int, src: str | None, dst: str, at: float) -> Transition:
    return Transition(n, incident, src, dst, "cause", at)


def handoff(n: int, incident: int, agent: str, at: float, outcome: str = "ok") -> AuditEntry:
    return AuditEntry(n, incident, "handoff", {"agent": agent, "outcome": outcome}, at)


def soak(n: int, incident: int, outcome: str, at: float) -> AuditEntry:
    return AuditEntry(n, incident, "soak", {"outcome": outcome}, at)


def test_a_second_agent_gets_the_fix_after_the_first_failed_in_the_canary() -> None:
    transitions = [
        t(1, 1, None, "detected", 0),
        t(2, 1, "detected", "analysed", 1),
        t(3, 1, "analysed", "issue_open", 10),
        t(4, 1, "issue_open", "agent_working", 11),
        t(5, 1, "agent_working", "pr_open", 20),
        t(6, 1, "pr_open", "merged", 30),
        t(7, 1, "merged", "redeploying", 31),
        t(8, 1, "redeploying", "failed_again", 40),
        t(9, 1, "failed_again", "analysed", 41),
        t(10, 1, "analysed", "issue_open", 42),
        t(11, 1, "issue_open", "agent_working", 43),
        t(12, 1, "agent_working", "pr_open", 50),
        t(13, 1, "pr_open", "merged", 60),
        t(14, 1, "merged", "redeploying", 61),
        t(15, 1, "redeploying", "verified", 110),
    ]
    audit = [handoff(1, 1, "copilot", 11), handoff(2, 1, "jules", 43), soak(3, 1, "held", 200)]
    card = compute({1: "acme/web"}, transitions, audit).by_agent()
    copilot, jules = card["copilot"], card["jules"]
    assert (copilot.handoffs, copilot.prs_opened, copilot.merged, copilot.verified) == (1, 1, 1, 0)
    assert copilot.failed_in_canary == 1 and copilot.held == 0
    assert (jules.handoffs, jules.prs_opened, jules.merged, jules.verified, jules.held) == (1, 1, 1, 1, 1)
    assert jules.to_verified == [100.0], "from the issue's opening"
    assert jules.attempts == [2] and jules.attempts_per_verified == 2.0


def test_labels_stay_bounded() -> None:
    repos = {i: f"org/repo-{i}" for i in range(1, 8)}
    audit = [handoff(i, i, "copilot" if i % 2 else "<not an agent>", float(i)) for i in repos]
    rows = compute(repos, [], audit).capped(max_repos=3)
    assert {agent for _, agent in rows} == {"copilot", "none"}
    assert len({repo for repo, _ in rows}) == 4 and any(repo == OTHER for repo, _ in rows)
    assert sum(tally.handoffs for tally in rows.values()) == 7
