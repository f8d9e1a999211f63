"""A hand-off whose request GitHub carried out but never answered starts one agent, not two.

Assigning Copilot, or posting the ``@claude`` trigger, starts an agent session. When that POST outlives
FIXLOOP_GITHUB_TIMEOUT, GitHub has still done it; the job is retried (a POST is never retried blindly)
and the resumed hand-off reads the issue's timeline since its stored request time instead of sending it
again. On both store engines (tests/faults/conftest.py).
"""

from __future__ import annotations

from tests.faults.conftest import GITHUB_TIMEOUT
from tests.faults.test_github_faults import settled, work_jobs
from tests.figures import FigureRecorder
from tests.harness import AppHarness, wait_until
from tests.loop_e2e.loop_driver import Loop
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification

ASSIGNEES = "/repos/{owner}/{repo}/issues/{issue_number}/assignees"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
CLAUDE_CONFIG = "agent: claude\nredeploy: image\nimage: ghcr.io/acme/rollouts-demo:{sha}\n"


async def fail_and_settle(loop: Loop) -> None:
    answer = await loop.app.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    await wait_until(lambda: settled(loop.app), 60, "every job to finish, delayed retries included")
    jobs = await work_jobs(loop.app)
    assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.last_error) for j in jobs]
    assert any("TimeoutError" in (j.last_error or "") for j in jobs), (
        "the unanswered POST was retried as a job"
    )


async def test_copilot_is_assigned_once_when_the_answer_is_lost(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    loop.github.slow_next("POST", ASSIGNEES, GITHUB_TIMEOUT * 2)
    await fail_and_settle(loop)
    issue = loop.issue()
    assert len(loop.github.requests_to("POST", ASSIGNEES)) == 1, "the assignment was not sent again"
    assert len(issue.agent_assignments) == 1 and issue.assignees.count("Copilot") == 1
    assert (await loop.incident()).stage == "agent_working"
    sessions = len(issue.agent_assignments)
    figures.record("faults", "slow POST Copilot assignment: Copilot sessions started", sessions, goal="1")


async def test_the_claude_trigger_is_posted_once_when_the_answer_is_lost(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    loop.github.put_file(REPO, ".github/fixloop.yml", CLAUDE_CONFIG)
    loop.github.slow_next("POST", COMMENTS, GITHUB_TIMEOUT * 2)
    await fail_and_settle(loop)
    triggers = [c for c in loop.issue().comments if c.body.startswith("@claude")]
    assert len(triggers) == 1, [c.body[:40] for c in loop.issue().comments]
    assert (await loop.incident()).stage == "agent_working"
    figures.record("faults", "slow POST @claude trigger: trigger comments", len(triggers), goal="1")
