"""Who and what may run a command: readers, bots, quotes, code, redeliveries, edits, foreign issues."""

from __future__ import annotations

import pytest

from app.loop.incident.stages import Stage
from tests.commands.helpers import BOT, COMMENTS, REACTIONS, REPO, Seeded, demo_state, seed
from tests.harness import AppHarness, wait_until


def writes(s: Seeded) -> list[str]:
    """Every GitHub request that changes something, and every Rollout patch."""
    github = [f"{r.method} {r.template}" for r in s.github.requests if r.method != "GET" and r.template]
    github = [w for w in github if "access_tokens" not in w]
    return github + [f"PATCH {p.resource}" for p in s.kube.patches]


async def test_a_reader_is_refused_with_a_reason(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop abort", login="rita")
    await s.post(payload)
    assert s.kube.patches == []
    assert s.reactions(comment) == ["-1"]
    (reply,) = s.replies()
    assert "write, maintain or admin" in reply.body and "`rita` has `read`" in reply.body
    permission = s.github.requests_to("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
    assert [r.path.rsplit("/", 2)[-2] for r in permission] == ["rita"]
    (entry,) = await s.audit()
    assert entry.detail["command"] == "abort" and entry.detail["ok"] is False and entry.detail["by"] == "rita"


async def test_a_stranger_without_any_access_is_refused(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop retry", login="mallory")
    await s.post(payload)
    assert s.kube.patches == [] and s.reactions(comment) == ["-1"]
    assert "`mallory` has `none`" in s.replies()[0].body


@pytest.mark.parametrize(("login", "user_type"), [("ci-helper[bot]", "Bot"), (BOT, "Bot"), ("robot", "Bot")])
async def test_bots_are_ignored_silently(app_harness: AppHarness, login: str, user_type: str) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop abort", login=login, user_type=user_type)
    await s.post(payload)
    assert writes(s) == [] and s.reactions(comment) == []
    assert await s.audit() == []


@pytest.mark.parametrize(
    "body",
    [
        "> /fixloop abort\n\nI would not do that.",
        "Do not run:\n\n```\n/fixloop abort\n```",
        "Do not run `/fixloop abort` yet.",
        "    /fixloop abort",
    ],
)
async def test_quoted_and_code_commands_do_nothing(app_harness: AppHarness, body: str) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment(body)
    await s.post(payload)
    assert writes(s) == [] and s.reactions(comment) == [] and s.replies() == []


async def test_a_redelivered_webhook_acts_once(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop abort")
    await s.post(payload, delivery="d7a1e0b2-0000-4000-8000-000000000001")
    await s.post(payload, delivery="d7a1e0b2-0000-4000-8000-000000000001")  # GitHub's redelivery
    await s.post(payload)  # the same comment under a new delivery id (a replay)
    assert [p.body for p in s.kube.patches] == [{"status": {"abort": True}}]
    assert len(s.replies()) == 1 and s.reactions(comment) == ["eyes", "+1"]
    assert len(await s.audit()) == 1


async def test_an_edit_runs_only_the_commands_it_added(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop abort")
    await s.post(payload)
    await s.post(s.edited(comment, "/fixloop abort\n\n(typo fixed)"))
    assert len(s.replies()) == 1
    await s.post(s.edited(comment, "/fixloop ABORT\n/fixloop status"))
    assert [p.body for p in s.kube.patches] == [{"status": {"abort": True}}]
    replies = s.replies()
    assert len(replies) == 2 and "`status`" in replies[1].body and "`abort`" not in replies[1].body
    assert [a.detail["command"] for a in await s.audit()] == ["abort", "status"]
    assert [a.detail["action"] for a in await s.audit()] == ["created", "edited"]


async def test_an_issue_fixloop_did_not_open_is_ignored(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    body = s.issue.body
    copy = s.github.add_issue(REPO, "Looks like Fixloop's", body, user="octocat")  # marker pasted by a human
    comment, payload = s.comment("/fixloop abort", number=None)
    payload["issue"]["number"] = copy.number
    comment.issue_number = copy.number
    await s.post(payload)
    assert writes(s) == [] and s.reactions(comment) == []


async def test_a_marker_the_store_does_not_know_is_ignored(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    stray = s.github.add_issue(REPO, "Old", "x\n<!-- fixloop:incident=99 -->\n", user=BOT)
    comment = s.github.add_comment(REPO, stray.number, "/fixloop abort", user="alice")
    _, payload = s.comment("placeholder")
    payload["issue"].update(number=stray.number, body=stray.body)
    payload["comment"].update(id=comment.id, body=comment.body)
    await s.post(payload)
    assert s.kube.patches == [] and s.reactions(comment) == []


async def test_a_comment_on_a_linked_pull_request_is_answered_there(app_harness: AppHarness) -> None:
    s = await seed(app_harness, stage=Stage.PR_OPEN)
    pr = s.github.add_pull(REPO, title="Fix the panic", user="Copilot")
    other = s.github.add_pull(REPO, title="Unrelated", user="octocat")
    state = demo_state(prs={str(pr.number): {"state": "open", "title": "Fix the panic"}})
    incident = await s.current()
    await app_harness.services.store.update_incident(
        incident.id, expected_version=incident.version, data=state.to_dict()
    )
    linked, payload = s.comment("/fixloop status", number=pr.number)
    await s.post(payload)
    unlinked, payload = s.comment("/fixloop status", number=other.number)
    await s.post(payload)
    (reply,) = s.replies(pr.number)
    assert f"#{pr.number} (`open`)" in reply.body
    assert s.reactions(linked) == ["eyes", "+1"] and s.reactions(unlinked) == []
    assert s.replies(other.number) == []


async def test_at_most_three_commands_per_comment(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop help\n/fixloop status\n/fixloop frobnicate\n/fixloop abort")
    await s.post(payload)
    assert s.kube.patches == []
    (reply,) = s.replies()
    assert "1 more command(s) not run" in reply.body
    assert s.reactions(comment) == ["eyes", "-1"]  # frobnicate is unknown
    assert len(s.github.requests_to("POST", COMMENTS)) == 1
    assert len(s.github.requests_to("POST", REACTIONS)) == 2


async def test_a_refusal_is_not_repeated_for_a_replayed_delivery(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop abort", login="rita")
    await s.post(payload)
    await s.post(payload)  # a new delivery id: the intake cannot tell, the command key can
    assert len(s.replies()) == 1 and len(await s.audit()) == 1 and s.reactions(comment) == ["-1"]


async def test_a_reply_lost_to_github_errors_is_posted_by_the_retry_without_acting_twice(
    app_harness: AppHarness,
) -> None:
    s = await seed(app_harness)
    s.github.fail_next("POST", COMMENTS, 502, times=4)  # every inline attempt of the reply fails
    comment, payload = s.comment("/fixloop abort")
    await s.post(payload)
    await wait_until(lambda: len(s.replies()) == 1, 30, "the reply from the retried job")
    await app_harness.drain()
    assert [p.body for p in s.kube.patches] == [{"status": {"abort": True}}]
    assert "aborted the Rollout" in s.replies()[0].body
    assert s.reactions(comment) == ["eyes", "+1"]
    assert [a.detail["ok"] for a in await s.audit()] == [True]
