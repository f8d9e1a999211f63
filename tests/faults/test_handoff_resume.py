"""A hand-off cut short by GitHub 5xx is resumed by the retried job (regression for 0d9b5e2).

GitHub answers the Copilot assignment (``POST .../issues/{n}/assignees``) with a 502 as many times as
the client retries inline (``MAX_ATTEMPTS``), so the job's attempt fails after the issue was opened but
before anyone was put on it. The retried job must resume the hand-off: in the end the incident is at
agent_working, with one issue, Copilot assigned once and one status comment. Before the fix the retried
job took the issue for an open one and only refreshed its status: the incident stayed at issue_open with
nobody on it. On both store engines (tests/faults/conftest.py).
"""

from __future__ import annotations

from app.github.http import MAX_ATTEMPTS
from app.loop.render.markers import STATUS_MARKER
from tests.fakes.github_state import Issue
from tests.faults.test_github_faults import settled, work_jobs
from tests.figures import FigureRecorder
from tests.harness import AppHarness, wait_until
from tests.loop_e2e.loop_driver import Loop
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification

ASSIGNEES = "/repos/{owner}/{repo}/issues/{issue_number}/assignees"


async def fail_and_settle(loop: Loop) -> None:
    """The failed canary's notification in; every job done, the failed attempt's retry included."""
    answer = await loop.app.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    await wait_until(lambda: settled(loop.app), 60, "every job to finish, delayed retries included")
    jobs = await work_jobs(loop.app)
    assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.last_error) for j in jobs]
    assert any("HTTP 502" in (j.last_error or "") for j in jobs), "the attempt failed on the 502s"


def status_comments(issue: Issue) -> int:
    return sum(STATUS_MARKER in c.body for c in issue.comments)


async def test_a_handoff_cut_short_by_server_errors_is_resumed(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    loop.github.fail_next("POST", ASSIGNEES, 502, times=MAX_ATTEMPTS)
    await fail_and_settle(loop)
    stage = (await loop.incident()).stage
    assert len(loop.github.issues(REPO)) == 1, "one issue, none opened again by the retried job"
    issue = loop.issue()
    record(figures, resumed=stage == "agent_working", sessions=len(issue.agent_assignments))
    assert stage == "agent_working", f"the retried job left the incident at {stage}, nobody on it"
    sent = [r.status for r in loop.github.requests_to("POST", ASSIGNEES)]
    assert sent == [502] * MAX_ATTEMPTS + [201], "the retried job assigned Copilot, once"
    assert len(issue.agent_assignments) == 1 and issue.assignees.count("Copilot") == 1
    assert status_comments(issue) == 1, [c.body[:60] for c in issue.comments]


def record(figures: FigureRecorder, *, resumed: bool, sessions: int) -> None:
    """Recorded before the assertions, so a failing run shows what it measured too."""
    what = "hand-off cut short by GitHub 5xx"
    figures.record("faults", f"{what}: resumed", int(resumed), goal="1")
    figures.record("faults", f"{what}: Copilot sessions started", sessions, goal="1")
