"""A POST that GitHub carried out but never answered is done once: one agent, one deployment, one comment.

When a POST outlives FIXLOOP_GITHUB_TIMEOUT, GitHub has still done it; the job is retried (a POST is never
retried blindly) and the retry first looks for what the lost answer would have said: the issue's timeline
for a hand-off (assigning Copilot or posting the ``@claude`` trigger starts an agent session), the
deployments of the merge SHA, the issue's comments for the verified comment. On both store engines
(tests/faults/conftest.py).
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
DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
FIX_HASH = "5f6c7d8e9a"
CLAUDE_CONFIG = "agent: claude\nredeploy: image\nimage: ghcr.io/acme/rollouts-demo:{sha}\n"


async def fail_and_settle(loop: Loop, *, slowed: bool = True) -> None:
    answer = await loop.app.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    await settle(loop, slowed=slowed)


async def settle(loop: Loop, *, slowed: bool = True) -> None:
    """Every job done, delayed retries included; with ``slowed``, one of them retried after the lost answer."""
    await wait_until(lambda: settled(loop.app), 60, "every job to finish, delayed retries included")
    jobs = await work_jobs(loop.app)
    assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.last_error) for j in jobs]
    retried = any(j.attempts > 1 for j in jobs)
    assert retried == slowed, "the unanswered POST (and only it) was retried as a job"


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


async def test_a_deployment_is_made_once_when_the_answer_is_lost(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await fail_and_settle(loop, slowed=False)
    loop.github.slow_next("POST", DEPLOYMENTS, GITHUB_TIMEOUT * 2)
    sha = await loop.agent_fixes(attempt=1)
    await settle(loop)
    deployments = loop.github.deployments(REPO)
    assert [d.sha for d in deployments] == [sha], "one Deployment for the merge"
    assert github_found_it(loop, DEPLOYMENTS), "the retry looked for the Deployment before making one"
    assert (await loop.incident()).stage == "merged"
    figures.record("faults", "slow POST deployment: deployments made", len(deployments), goal="1")


async def test_the_verified_comment_is_posted_once_when_the_answer_is_lost(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await fail_and_settle(loop, slowed=False)
    await loop.workflow_succeeded(await loop.agent_fixes(attempt=1))
    loop.canary_moves_to(FIX_HASH, healthy=True)
    loop.github.slow_next("POST", COMMENTS, GITHUB_TIMEOUT * 2)
    await loop.completed()
    await settle(loop)
    issue = loop.issue()
    verified = [c for c in issue.comments if "<!-- fixloop:verified -->" in c.body]
    assert len(verified) == 1 and issue.state == "closed"
    assert github_found_it(loop, COMMENTS), "the retry looked for the comment before posting one"
    assert (await loop.incident()).stage == "verified"
    figures.record("faults", "slow POST verified comment: verified comments", len(verified), goal="1")


def github_found_it(loop: Loop, template: str) -> bool:
    return any(r.status == 200 for r in loop.github.requests_to("GET", template))
