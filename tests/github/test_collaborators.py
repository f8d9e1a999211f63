"""One write check for commands, hand-offs and assignments: a custom role built on write may write."""

from __future__ import annotations

import pytest

from app.github.collaborators import RepoPermission, may_write, repo_permission
from app.github.http import GitHubClient
from app.loop.incident.stages import Stage
from tests.commands.helpers import REPO as DEMO_REPO
from tests.commands.helpers import seed
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Permission
from tests.github.conftest import REPO
from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop

PERMISSION = "/repos/{owner}/{repo}/collaborators/{username}/permission"


@pytest.mark.parametrize(
    ("base", "custom_role", "writes"),
    [
        ("admin", "", True),
        ("maintain", "", True),
        ("write", "", True),
        ("write", "deployer", True),
        ("maintain", "release-manager", True),
        ("triage", "", False),
        ("read", "", False),
        ("read", "auditor", False),
        ("triage", "labeler", False),
    ],
)
async def test_write_is_the_base_level_whatever_the_role_is_called(
    fake_github: FakeGitHub, gh: GitHubClient, base: Permission, custom_role: str, writes: bool
) -> None:
    fake_github.add_collaborator(REPO, "dana", base, custom_role=custom_role)
    assert await may_write(gh, REPO, "dana") is writes


async def test_a_custom_role_is_named_as_github_names_it(fake_github: FakeGitHub, gh: GitHubClient) -> None:
    fake_github.add_collaborator(REPO, "dana", "write", custom_role="deployer")
    assert await repo_permission(gh, REPO, "dana") == RepoPermission("dana", "deployer", "write")


async def test_strangers_and_unknown_logins_may_not_write(fake_github: FakeGitHub, gh: GitHubClient) -> None:
    fake_github.add_user("stranger")
    assert await repo_permission(gh, REPO, "stranger") == RepoPermission("stranger", "none", "none")
    assert await repo_permission(gh, REPO, "no-such-login") == RepoPermission("no-such-login")
    assert [r.status for r in fake_github.requests_to("GET", PERMISSION)] == [200, 404]


async def test_a_deployer_runs_slash_commands(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    s.github.add_collaborator(DEMO_REPO, "dana", "write", custom_role="deployer")
    comment, payload = s.comment("/fixloop status", login="dana")
    await s.post(payload)
    (reply,) = s.replies()
    assert "only people with write" not in reply.body
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_a_deployer_can_be_assigned_the_issue(app_harness: AppHarness) -> None:
    s = await seed(app_harness, stage=Stage.AGENT_WORKING)
    s.github.add_collaborator(DEMO_REPO, "dana", "write", custom_role="deployer")
    comment, payload = s.comment("/fixloop assign @dana")
    await s.post(payload)
    assert s.github.issue(DEMO_REPO, s.issue.number).assignees == ["dana"]
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_a_deployers_sign_in_hands_the_issue_to_copilot(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(authorised=False)
    loop.github.add_user("dana", copilot_seat=True)
    loop.github.add_collaborator(DEMO_REPO, "dana", "write", custom_role="deployer")
    await loop.fail()
    assert (await loop.incident()).data["handoff"]["outcome"] == "no_user_token"
    await loop.sign_in("dana")
    issue = loop.issue()
    assert "Copilot" in issue.assignees
    assert issue.agent_assignments[0]["by"] == "dana", "assigned with the deployer's token"
    assert (await loop.incident()).stage == "agent_working"
