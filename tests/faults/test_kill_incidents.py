"""SIGKILL with 50 incidents in flight, at each step of the loop: every incident completes, none is lost,
no issue, comment, agent session or deployment happens twice.

The app runs as its own process (``python -m app serve``) against the shared fakes, on SQLite and on
PostgreSQL. Fifty Rollouts fail at once and go round the whole loop together: issue and hand-off to
Copilot, Copilot's PR opened and merged (a GitHub Deployment), the image built (the Rollout updated), the
canary healthy (issue closed, verified). While the failures, the merges, the builds and the completions
are being handled, the process is killed with SIGKILL once a third of them show their effect (no drain;
claimed jobs stay leased), started again on the same store, and everything of that step is sent again:
notifications as Argo's next one would, deliveries with their X-GitHub-Delivery as GitHub's redelivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.faults.fleet import REPO, Fleet, duplicate_comments, duplicate_issues
from tests.figures import FigureRecorder
from tests.harness import base_env, wait_until
from tests.processes import AppProcess, Request, post_all

INCIDENTS = 50
SETTLE_SECONDS = 240.0  # 50 incidents after a restart, leases to run out, on a loaded 2-core machine


@pytest.fixture
def fleet(fake_github: FakeGitHub, fake_kube: FakeKube, store_url: str) -> Fleet:
    return Fleet(fake_github, fake_kube, store_url, INCIDENTS)


@pytest.mark.slow
async def test_sigkill_at_each_step_of_50_incidents(
    fleet: Fleet, tmp_path: Path, figures: FigureRecorder
) -> None:
    env = base_env(
        fleet.github,
        fleet.database_url,
        KUBECONFIG=str(fleet.kube.kubeconfig),
        FIXLOOP_LOG_LEVEL="INFO",
        FIXLOOP_JOB_LEASE_SECONDS="3",
    )
    await fleet.seed(env)
    app = await AppProcess(env, tmp_path / "app.log").start()
    in_flight: dict[str, int] = {}
    try:
        in_flight["failures"] = await kill_midway(app, fleet.failures(), lambda: len(fleet.issues()))
        await fleet.settle_at("agent_working", SETTLE_SECONDS)
        numbers = {i.namespace: i.issue_number or 0 for i in await fleet.incidents()}
        assert await post_all([app.url], fleet.pulls_opened(numbers)) == {
            f"opened-{i}" for i in range(INCIDENTS)
        }
        await fleet.settle_at("pr_open", SETTLE_SECONDS)
        in_flight["merges"] = await kill_midway(
            app, fleet.pulls_merged(), lambda: len(fleet.github.deployments(REPO))
        )
        await fleet.settle_at("merged", SETTLE_SECONDS)
        in_flight["builds"] = await kill_midway(app, fleet.images_built(), fleet.rollouts_with_fix)
        await fleet.settle_at("redeploying", SETTLE_SECONDS)
        in_flight["completions"] = await kill_midway(app, fleet.completions(), closed_issues(fleet))
        await fleet.settle_at("verified", SETTLE_SECONDS)
    finally:
        await app.stop()
    await assert_each_incident_once(fleet, figures, in_flight)


async def kill_midway(app: AppProcess, requests: list[Request], effects: Callable[[], int]) -> int:
    """Send the step's requests; SIGKILL once a third have shown their effect; restart; send them all
    again (each must be acknowledged). Returns how many had not shown their effect at the kill."""
    sending = asyncio.create_task(post_all([app.url], requests))
    await wait_until(lambda: effects() >= INCIDENTS // 3, 120, "a third of the step's effects")
    in_flight = INCIDENTS - effects()
    app.kill()
    await sending
    await app.start()
    again = await post_all([app.url], requests)
    assert again == {r.key for r in requests}, "the restarted app acknowledges every request"
    return in_flight


def closed_issues(fleet: Fleet) -> Callable[[], int]:
    return lambda: sum(1 for i in fleet.issues() if i.state == "closed")


async def assert_each_incident_once(fleet: Fleet, figures: FigureRecorder, in_flight: dict[str, int]) -> None:
    issues, incidents = fleet.issues(), await fleet.incidents()
    deployments = fleet.github.deployments(REPO)
    counts = {
        "incidents lost": INCIDENTS - sum(1 for i in incidents if i.stage == "verified"),
        "duplicate issues": duplicate_issues(issues),
        "duplicate comments": sum(sum(duplicate_comments(i).values()) for i in issues),
        "duplicate Copilot assignments": sum(max(len(i.agent_assignments) - 1, 0) for i in issues),
        "duplicate deployments": len(deployments) - len({d.environment for d in deployments}),
    }
    engine = "PostgreSQL" if fleet.database_url.startswith("postgres") else "SQLite"
    where = f"SIGKILL x4, {INCIDENTS} incidents ({engine})"
    figures.record(
        "faults", f"{where}: in flight at the kills", " / ".join(f"{k} {n}" for k, n in in_flight.items())
    )
    for what, count in counts.items():
        figures.record("faults", f"{where}: {what}", count, goal="0")
    assert all(n > 0 for n in in_flight.values()), f"each kill must land with work in flight: {in_flight}"
    twice = {i.number: duplicate_comments(i) for i in issues if duplicate_comments(i)}
    assert set(counts.values()) == {0}, f"{counts} {twice}"
    assert len(issues) == INCIDENTS and {i.issue_number for i in incidents} == {i.number for i in issues}
    assert len(deployments) == INCIDENTS
    for issue in issues:
        assert issue.state == "closed" and issue.state_reason == "completed", issue.number
        assert issue.assignees.count("Copilot") == 1, (issue.number, issue.assignees)
    assert {d.statuses[-1].state for d in deployments} == {"success"}
    assert fleet.rollouts_with_fix() == INCIDENTS
    fleet.github.assert_no_violations()
