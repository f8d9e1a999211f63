"""A failed canary, end to end over the app's HTTP surface: notification -> incident -> one issue."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from app.github.user_tokens import Grant
from tests.harness import AppHarness

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/rollouts-demo"
TRIGGERS = (
    "rollout-aborted",
    "analysis-run-failed",
    "rollout-aborted",
    "analysis-run-failed",
    "rollout-aborted",
)


def demo_notification(event: str = "rollout-aborted", time: str = "2026-11-28T10:00:00Z") -> dict[str, Any]:
    body: dict[str, Any] = json.loads((ROOT / "app/examples/demo-notification.json").read_text())
    body["event"] = event
    body["time"] = time
    return body


def seed(app_harness: AppHarness) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    app_harness.kube.load_demo()


async def test_demo_failure_opens_exactly_one_issue(app_harness: AppHarness) -> None:
    seed(app_harness)
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    await app_harness.drain()
    assert app_harness.github is not None
    issues = app_harness.github.issues(REPO)
    assert len(issues) == 1
    issue = issues[0]
    assert "index out of range" in issue.title
    assert issue.body is not None and "<!-- fixloop:incident=1 -->" in issue.body
    assert "## Task for the agent" in issue.body
    assert "argoproj/rollouts-demo:blue" in issue.body and "bad-red" in issue.body
    assert {"fixloop", "rollout-failure"} <= set(issue.labels)
    incidents = await app_harness.services.store.list_incidents()
    assert len(incidents) == 1 and incidents[0].issue_number == issue.number


async def test_repeated_notifications_in_any_order_keep_one_incident(app_harness: AppHarness) -> None:
    seed(app_harness)
    events = list(TRIGGERS)
    random.Random(7).shuffle(events)
    for index, event in enumerate(events):
        answer = await app_harness.notify(demo_notification(event, f"2026-11-28T10:00:0{index}Z"))
        assert answer.status == 202
    await app_harness.drain()
    assert app_harness.github is not None
    issues = app_harness.github.issues(REPO)
    assert len(issues) == 1
    assert len(await app_harness.services.store.list_incidents()) == 1
    own = [c for c in issues[0].comments if "fixloop:status" in c.body]
    assert len(own) == 1, "one status comment, edited in place"
    assert len(issues[0].comments) == 1, "repeats change nothing but the status comment"


async def test_copilot_without_user_token_needs_a_human(app_harness: AppHarness) -> None:
    seed(app_harness)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    assert app_harness.github is not None
    issue = app_harness.github.issues(REPO)[0]
    assert "needs-human" in issue.labels
    status = next(c.body for c in issue.comments if "fixloop:status" in c.body)
    assert "/github/oauth/start" in status
    incident = (await app_harness.services.store.list_incidents())[0]
    assert incident.stage == "needs_human"


async def test_unmapped_rollout_is_202_with_the_reason(app_harness: AppHarness) -> None:
    seed(app_harness)
    body = demo_notification()
    del body["rollout"]["metadata"]["annotations"]["fixloop.dev/repo"]
    answer = await app_harness.notify(body)
    assert answer.status == 202
    assert "no fixloop.dev/repo annotation" in (await answer.json())["reason"]
    assert [j for j in await app_harness.services.store.list_jobs() if j.kind != "sweep"] == []


async def test_app_not_installed_is_202_with_the_reason(app_harness: AppHarness) -> None:
    assert app_harness.kube is not None
    app_harness.kube.load_demo()
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202
    assert "not installed on acme/rollouts-demo" in (await answer.json())["reason"]


async def test_kubernetes_down_still_opens_the_issue_with_gaps(app_harness: AppHarness) -> None:
    seed(app_harness)
    assert app_harness.kube is not None
    await app_harness.kube.unplug()
    await app_harness.notify(demo_notification())
    await app_harness.drain(timeout=60)
    assert app_harness.github is not None
    issues = app_harness.github.issues(REPO)
    assert len(issues) == 1
    incident = (await app_harness.services.store.list_incidents())[0]
    assert incident.data["gaps"], "the missing evidence is stated"


async def test_a_stranger_who_authorised_cannot_start_the_agent(app_harness: AppHarness) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    installation_id = await app_harness.services.github.installation_for_repo(REPO)
    mallory = app_harness.github.add_user("mallory", copilot_seat=True)  # a seat, but no access to the repo
    grant = Grant(app_harness.github.user_token("mallory"), "", None, None)
    await app_harness.services.user_tokens.save(mallory.id, "mallory", grant, installation_id)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    issue = app_harness.github.issues(REPO)[0]
    assert "Copilot" not in issue.assignees and "needs-human" in issue.labels


async def test_broken_repo_config_is_reported_on_the_issue_with_its_line(app_harness: AppHarness) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    app_harness.github.put_file(
        REPO, ".github/fixloop.yml", "agent: copilot\nmax_attempts: many\ncolour: red\n"
    )
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    issue = app_harness.github.issues(REPO)[0]
    report = [c.body for c in issue.comments if "fixloop:config-problems" in c.body]
    assert len(report) == 1
    assert "line 2" in report[0] and "line 3" in report[0] and "colour" in report[0]
    assert (await app_harness.services.store.list_incidents())[0].issue_number == issue.number
