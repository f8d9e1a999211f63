"""SIGKILL with 50 incidents in flight: every incident completes, none lost, no issue or comment twice.

The app runs as its own process (``python -m app serve``) against the shared fakes, on SQLite and on
PostgreSQL. Fifty Rollouts fail at once; when a third of their issues exist the process is killed with
SIGKILL (no drain, claimed jobs stay leased) and started again on the same store. Notifications that were
not acknowledged are sent again, as the next Argo notification would, and so are all the others (Argo
notifies more than once per abort). At the end each incident has one issue, Copilot assigned once, its
status comment once, and is with the agent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.faults.fleet import Fleet, duplicate_comments, duplicate_issues
from tests.figures import FigureRecorder
from tests.harness import base_env, wait_until
from tests.processes import AppProcess

INCIDENTS = 50
KILL_AT_ISSUES = INCIDENTS // 3
SETTLE_SECONDS = 240.0  # 50 incidents after a restart, with a lease to run out, on a loaded 2-core machine


@pytest.fixture
def fleet(fake_github: FakeGitHub, fake_kube: FakeKube, store_url: str) -> Fleet:
    return Fleet(fake_github, fake_kube, store_url, INCIDENTS)


def app_env(fleet: Fleet) -> dict[str, str]:
    return base_env(
        fleet.github,
        fleet.database_url,
        KUBECONFIG=str(fleet.kube.kubeconfig),
        FIXLOOP_LOG_LEVEL="INFO",
        FIXLOOP_JOB_LEASE_SECONDS="3",
    )


@pytest.mark.slow
async def test_sigkill_with_50_incidents_in_flight(
    fleet: Fleet, tmp_path: Path, figures: FigureRecorder
) -> None:
    env = app_env(fleet)
    await fleet.seed(env)
    app = await AppProcess(env, tmp_path / "app.log").start()
    try:
        first = await fleet.notify_all(app, list(range(INCIDENTS)))
        await wait_until(lambda: len(fleet.issues()) >= KILL_AT_ISSUES, 120, f"{KILL_AT_ISSUES} issues")
        in_flight = INCIDENTS - len(fleet.issues())
        app.kill()
        await app.start()
        again = await fleet.notify_all(app, list(range(INCIDENTS)))
        assert again == set(range(INCIDENTS)), "the restarted app acknowledges every notification"
        await wait_until(lambda: handed_off(fleet), SETTLE_SECONDS, "every incident with the agent")
    finally:
        await app.stop()
    await assert_each_incident_once(fleet, figures, acknowledged_before_kill=len(first), in_flight=in_flight)


async def handed_off(fleet: Fleet) -> bool:
    incidents = await fleet.incidents()
    done = len(incidents) == INCIDENTS and all(i.stage == "agent_working" for i in incidents)
    return done and await fleet.jobs_settled()


async def assert_each_incident_once(
    fleet: Fleet, figures: FigureRecorder, *, acknowledged_before_kill: int, in_flight: int
) -> None:
    issues = fleet.issues()
    incidents = await fleet.incidents()
    lost = INCIDENTS - len({i.namespace for i in incidents if i.issue_number is not None})
    twice = duplicate_issues(issues)
    comments_twice = sum(duplicate_comments(i) for i in issues)
    assigned_twice = sum(max(len(i.agent_assignments) - 1, 0) for i in issues)
    engine = "PostgreSQL" if fleet.database_url.startswith("postgres") else "SQLite"
    where = f"SIGKILL, {INCIDENTS} incidents ({engine})"
    figures.record("faults", f"{where}: in flight at the kill", in_flight)
    figures.record("faults", f"{where}: incidents lost", lost, goal="0")
    figures.record("faults", f"{where}: duplicate issues", twice, goal="0")
    figures.record("faults", f"{where}: duplicate comments", comments_twice, goal="0")
    figures.record("faults", f"{where}: duplicate Copilot assignments", assigned_twice, goal="0")
    assert acknowledged_before_kill > 0 and in_flight > 0, "the kill must land with incidents in flight"
    assert (lost, twice, comments_twice, assigned_twice) == (0, 0, 0, 0)
    assert len(issues) == INCIDENTS
    assert {i.issue_number for i in incidents} == {i.number for i in issues}
    for issue in issues:
        assert issue.assignees.count("Copilot") == 1, (issue.number, issue.assignees)
        assert any("<!-- fixloop:status -->" in c.body for c in issue.comments), issue.number
    fleet.github.assert_no_violations()
