"""The demo extended with revisions: the issue names the commit that touched the panicking file first,
and links the top stack frame at the canary's commit; what cannot be known is said instead."""

from __future__ import annotations

import pytest

from tests.fakes.github_commits import add_demo_history
from tests.fakes.kube_demo import DEMO_CANARY_SHA, DEMO_STABLE_SHA, load_demo_without_revisions
from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed

COMPARE = "/repos/{owner}/{repo}/compare/{basehead}"


def _suspects_part(body: str) -> str:
    start = body.index("### Suspect commits")
    return body[start : body.index("\n### ", start + 5) if "\n### " in body[start + 5 :] else None]


async def _issue_body(app_harness: AppHarness) -> str:
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    assert app_harness.github is not None
    body = app_harness.github.issues(REPO)[0].body
    assert body is not None
    return body


async def test_the_commit_that_touched_the_trace_file_ranks_first(app_harness: AppHarness) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    shas = add_demo_history(app_harness.github, REPO, DEMO_STABLE_SHA, DEMO_CANARY_SHA)
    body = await _issue_body(app_harness)
    part = _suspects_part(body)
    rows = [line for line in part.splitlines() if line.startswith("| `")]
    assert len(rows) == 3, part
    assert rows[0].startswith(f"| `{shas['cache'][:12]}` | `bob` |") and "`main.go`" in rows[0]
    assert "Pick colours from a cache" in rows[0]
    assert rows[1].startswith(f"| `{shas['canary'][:12]}` | – |"), "no account: no login, never a mention"
    assert rows[2].startswith(f"| `{shas['docs'][:12]}` | `alice` |")
    permalink = f"{app_harness.github.web_url}/{REPO}/blob/{DEMO_CANARY_SHA}/main.go#L214"
    assert permalink in part
    assert f"canary `{DEMO_CANARY_SHA[:12]}` (annotation fixloop.dev/revision of ReplicaSet" in part
    task = body[body.index("## Task for the agent") :]
    assert "### Where to look first" in task and shas["cache"][:12] in task and permalink in task
    assert task.index(shas["cache"][:12]) < task.index(shas["canary"][:12])
    calls = app_harness.github.requests_to("GET", COMPARE)
    assert [c.path.rsplit("/", 1)[-1] for c in calls] == [f"{DEMO_STABLE_SHA}...{DEMO_CANARY_SHA}"]
    assert len(app_harness.github.requests_to("GET", "/repos/{owner}/{repo}/commits")) == 1


async def test_a_revision_github_does_not_know_is_said_and_nothing_else_changes(
    app_harness: AppHarness,
) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    body = await _issue_body(app_harness)  # no history: the compare is a 404 (a force-push looks so)
    part = _suspects_part(body)
    assert "HTTP 404" in part and "force-pushed" in part
    assert "| commit |" not in part
    assert f"/blob/{DEMO_CANARY_SHA}/main.go#L214" in part, "the frame is still linked at the canary"
    assert "## Task for the agent" in body and app_harness.github.issues(REPO)[0].assignees == []


@pytest.fixture
def harness_env() -> dict[str, str]:
    # The demo's images are on Docker Hub: the tests here never ask it (tests/provenance uses a real
    # registry on loopback).
    return {"FIXLOOP_REGISTRY_READ": "false"}


async def test_no_revision_on_either_side_makes_no_comparison(app_harness: AppHarness) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    load_demo_without_revisions(app_harness.kube)
    body = await _issue_body(app_harness)
    part = _suspects_part(body)
    assert "canary revision unknown" in part and "stable revision unknown" in part
    assert "no fixloop.dev/revision annotation or label" in part and "the registry is not read" in part
    assert app_harness.github.requests_to("GET", COMPARE) == []


async def test_copilot_is_told_the_same_suspect_and_frame(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    shas = add_demo_history(loop.github, REPO, DEMO_STABLE_SHA, DEMO_CANARY_SHA)
    await loop.fail()
    instructions = loop.issue().agent_assignments[0]["agent_assignment"]["custom_instructions"]
    assert f"Suspect commit {shas['cache'][:12]}: Pick colours from a cache" in instructions
    assert "(touched main.go)" in instructions
    assert f"main.go:214 {loop.github.web_url}/{REPO}/blob/{DEMO_CANARY_SHA}/main.go#L214" in instructions
