"""A person signs in as the README says (``/github/oauth/start``, no query) and the loop uses that grant."""

from __future__ import annotations

from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop
from tests.loop_e2e.test_failure_to_issue import REPO


def status_of(loop: Loop) -> str:
    return next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)


async def test_plain_sign_in_then_a_failure_assigns_copilot_with_that_users_token(
    app_harness: AppHarness,
) -> None:
    loop = Loop(app_harness)
    await loop.seed(authorised=False)
    page = await loop.sign_in("alice")
    assert "Fixloop can now act for @alice" in page
    reached = loop.github.requests_to("GET", "/user/installations")
    assert [r.caller for r in reached] == ["user:alice"], "listed with alice's token"
    await loop.fail()
    issue = loop.issue()
    assert "Copilot" in issue.assignees
    assert issue.agent_assignments[0]["by"] == "alice", "assigned with the token of the user who signed in"
    assert "needs-human" not in issue.labels
    assert (await loop.incident()).stage == "agent_working"
    grants = [j for j in await app_harness.services.store.list_jobs() if j.kind == "user-grant"]
    assert [j.status for j in grants] == ["done"], "nothing waited: the grant's job found nothing to do"


async def test_a_waiting_hand_off_resumes_after_the_sign_in_and_says_so(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(authorised=False)
    await loop.fail()
    incident = await loop.incident()
    assert incident.stage == "needs_human"
    assert incident.data["handoff"]["outcome"] == "no_user_token"
    assert "/github/oauth/start" in status_of(loop)
    assert "Copilot" not in loop.issue().assignees

    await loop.sign_in("alice")
    issue = loop.issue()
    assert "Copilot" in issue.assignees
    record = issue.agent_assignments[0]
    assert record["by"] == "alice" and record["agent_assignment"]["target_repo"] == REPO
    incident = await loop.incident()
    assert incident.stage == "agent_working"
    status = status_of(loop)
    assert "**Hand-off resumed:** `alice` signed in with GitHub" in status
    assert "handed to copilot after alice signed in" in status  # the timeline's cause
    assert "Fixloop status: agent working" in status
    assert "/github/oauth/start" not in status, "no sign-in asked for any more"

    await loop.sign_in("alice")  # signing in again hands nothing off twice
    assert len(loop.issue().agent_assignments) == 1


async def test_a_sign_in_without_write_access_leaves_the_incident_waiting(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(authorised=False)
    loop.github.add_user("rita", copilot_seat=True)
    loop.github.add_collaborator(REPO, "rita", "read")  # reaches the installation, may not write
    await loop.fail()
    before = status_of(loop)
    await loop.sign_in("rita")
    assert [r.caller for r in loop.github.requests_to("GET", "/user/installations")] == ["user:rita"]
    incident = await loop.incident()
    assert incident.stage == "needs_human" and incident.data["handoff"]["outcome"] == "no_user_token"
    assert "Copilot" not in loop.issue().assignees
    assert status_of(loop) == before, "still asks for a sign-in by someone who may write"
    assert not loop.github.requests_to("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees")


async def test_a_user_who_reaches_no_installation_changes_nothing(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(authorised=False)
    await loop.fail()
    loop.github.add_user("eve", copilot_seat=True)  # no access to any repository of the installation
    page = await loop.sign_in("eve")
    assert "Fixloop can now act for @eve" in page
    assert (await loop.incident()).stage == "needs_human"
    assert not [j for j in await app_harness.services.store.list_jobs() if j.kind == "user-grant"]
    assert await app_harness.services.user_tokens.linked_logins(loop.installation_id) == []
