"""help, status, assign, ignore, close and unknown commands, through the webhook endpoint."""

from __future__ import annotations

from app.loop.incident.stages import Stage
from tests.commands.helpers import BOT, CANARY, COMMENTS, REACTIONS, REPO, STABLE, demo_state, seed
from tests.harness import AppHarness

PERMISSION = "/repos/{owner}/{repo}/collaborators/{username}/permission"
ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"


async def test_help_lists_every_command(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop help")
    await s.post(payload)
    (reply,) = s.replies()
    for name in ("status", "analyze", "assign", "retry", "abort", "promote", "redeploy", "ignore", "close"):
        assert f"`/fixloop {name}" in reply.body
    assert s.reactions(comment) == ["eyes", "+1"]
    assert [r.body for r in s.github.requests_to("POST", REACTIONS)] == [
        {"content": "eyes"},
        {"content": "+1"},
    ]
    assert len(s.github.requests_to("GET", PERMISSION)) == 1
    (entry,) = await s.audit()
    assert entry.detail | {"comment": 0} == {
        "command": "help",
        "args": [],
        "by": "alice",
        "comment": 0,
        "action": "created",
        "ok": True,
        "outcome": "the commands are listed below.",
    }


async def test_an_unknown_command_gets_the_help(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop deploy-to-prod @everyone <b>now</b>")
    await s.post(payload)
    (reply,) = s.replies()
    assert "unknown command `deploy-to-prod`" in reply.body and "`/fixloop status`" in reply.body
    # the line is echoed only as inert code: no ping, no HTML
    assert "@everyone" not in reply.body and "- ❌ `deploy-to-prod @\u200deveryone <b>now</b>`:" in reply.body
    assert s.reactions(comment) == ["eyes", "-1"]
    assert (await s.audit())[0].detail["ok"] is False


async def test_status_tells_stage_attempts_prs_and_rollout(app_harness: AppHarness) -> None:
    state = demo_state(
        prs={"12": {"state": "merged"}, "9": {"state": "closed"}},
        fix={"pr": 12, "sha": "c0ffee" * 6 + "abcd"},
    )
    s = await seed(app_harness, stage=Stage.REDEPLOYING, state=state)
    comment, payload = s.comment("/fixloop status")
    await s.post(payload)
    (reply,) = s.replies()
    assert f"incident {s.incident.id} is `redeploying`, attempt 1 of 3" in reply.body
    assert "#9 (`closed`), #12 (`merged`)" in reply.body
    assert "#12 merged as `c0ffeec0ffee`" in reply.body
    assert (
        f"`demo/rollouts-demo`: phase `Degraded`, aborted, step 0 of 6; canary revision `{CANARY}`"
        in reply.body
    )
    assert f"stable `{STABLE}`" in reply.body
    assert s.reactions(comment) == ["eyes", "+1"] and s.kube.patches == []


async def test_status_without_the_cluster_still_answers(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    kube, app_harness.services.kube = app_harness.services.kube, None
    try:
        comment, payload = s.comment("/fixloop status")
        await s.post(payload)
    finally:
        app_harness.services.kube = kube
    (reply,) = s.replies()
    assert "is `issue open`" in reply.body and "not reachable" in reply.body
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_assign_claude_hands_the_issue_over(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop assign claude")
    await s.post(payload)
    trigger, status, reply = s.replies()
    assert trigger.body.startswith("@claude") and "fixloop:status" in status.body
    assert "handed the issue to `claude`" in reply.body
    assert (await s.current()).stage == Stage.AGENT_WORKING.value
    assert s.reactions(comment) == ["eyes", "+1"]
    assert [a.detail["outcome"] for a in await s.audit("handoff")] == ["ok"]


async def test_assign_copilot_without_a_user_token_says_why(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop assign copilot")
    await s.post(payload)
    reply = s.replies()[-1]
    assert "the hand-off to copilot failed" in reply.body and "authorised Fixloop" in reply.body
    assert (await s.current()).stage == Stage.NEEDS_HUMAN.value
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_assign_a_person_with_write_access(app_harness: AppHarness) -> None:
    s = await seed(app_harness, stage=Stage.AGENT_WORKING)
    s.github.add_collaborator(REPO, "bob", "maintain")
    comment, payload = s.comment("/fixloop assign @Bob")
    await s.post(payload)
    assert s.github.issue(REPO, s.issue.number).assignees == ["bob"]
    assert "assigned the issue to `bob`" in s.replies()[-1].body
    assert (await s.current()).stage == Stage.NEEDS_HUMAN.value  # no agent is working any more
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_assign_a_reader_or_a_bad_agent_is_refused(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop assign @rita\n/fixloop assign skynet\n/fixloop assign")
    await s.post(payload)
    assert s.github.issue(REPO, s.issue.number).assignees == []
    (reply,) = s.replies()
    assert "`rita` cannot be assigned" in reply.body
    assert "unknown agent `skynet`" in reply.body and "usage: `/fixloop assign" in reply.body
    assert s.reactions(comment) == ["eyes", "-1"]
    assert (await s.current()).stage == Stage.ISSUE_OPEN.value


async def test_assign_after_the_merge_is_refused(app_harness: AppHarness) -> None:
    s = await seed(app_harness, stage=Stage.MERGED)
    _comment, payload = s.comment("/fixloop assign jules")
    await s.post(payload)
    assert "nothing left to hand off" in s.replies()[-1].body
    assert s.github.issue(REPO, s.issue.number).labels == []


async def test_ignore_mutes_the_fingerprint(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop ignore")
    await s.post(payload)
    store = app_harness.services.store
    assert await store.is_muted(s.incident.fingerprint)
    assert (await s.current()).stage == Stage.IGNORED.value
    status, reply = s.replies()
    assert "fixloop:status" in status.body  # the status comment shows the new stage
    assert "muted this failure" in reply.body and "the incident is ignored" in reply.body
    assert s.github.issue(REPO, s.issue.number).state == "open"
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_close_closes_the_issue_as_ignored(app_harness: AppHarness) -> None:
    s = await seed(app_harness, stage=Stage.AGENT_WORKING)
    _comment, payload = s.comment("/fixloop close")
    await s.post(payload)
    issue = s.github.issue(REPO, s.issue.number)
    assert issue.state == "closed" and issue.state_reason == "not_planned"
    (patch,) = s.github.requests_to("PATCH", ISSUE)
    assert patch.body == {"state": "closed", "state_reason": "not_planned"}
    assert (await s.current()).stage == Stage.IGNORED.value
    assert f"closed #{s.issue.number}; the incident is `ignored`" in s.replies()[-1].body
    assert not await app_harness.services.store.is_muted(s.incident.fingerprint)


async def test_close_after_the_rollout_moved_on_is_superseded(app_harness: AppHarness) -> None:
    s = await seed(app_harness, state=demo_state(revision="5d4f3b2a1c"))
    _comment, payload = s.comment("/fixloop close")
    await s.post(payload)
    assert (await s.current()).stage == Stage.SUPERSEDED.value
    assert "the incident is `superseded`" in s.replies()[-1].body


async def test_replies_come_from_the_app(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    _, payload = s.comment("/fixloop help")
    await s.post(payload)
    (post,) = s.github.requests_to("POST", COMMENTS)
    assert post.caller.startswith("installation")
    assert s.github.comments(REPO, s.issue.number)[-1].user.login == BOT
