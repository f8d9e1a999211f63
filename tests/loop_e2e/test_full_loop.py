"""The whole demo loop, end to end over the app's HTTP surface and the three fakes."""

from __future__ import annotations

import asyncio

from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop
from tests.loop_e2e.test_failure_to_issue import REPO

FIX_HASH = "5f6c7d8e9a"


async def test_failure_to_verified_fix_with_copilot(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await loop.fail()
    issue = loop.issue()
    assert "Copilot" in issue.assignees
    record = issue.agent_assignments[0]
    assert record["by"] == "alice", "assigned with the user's token, as GitHub requires"
    assert record["agent_assignment"]["target_repo"] == REPO
    assert "index out of range" in record["agent_assignment"]["custom_instructions"]
    assert (await loop.incident()).stage == "agent_working"

    sha = await loop.agent_fixes(attempt=1)
    incident = await loop.incident()
    assert incident.stage == "merged", "the image is not built yet"
    deployment = loop.github.deployments(REPO)[0]
    assert deployment.ref == sha and deployment.environment == "canary/demo/rollouts-demo"

    await loop.workflow_succeeded(sha)
    rollout = loop.kube.get("Rollout", "demo", "rollouts-demo")
    image = rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/acme/rollouts-demo:{sha}"
    annotations = rollout["metadata"]["annotations"]
    assert annotations["fixloop.dev/fix-sha"] == sha and annotations["fixloop.dev/incident"] == str(
        incident.id
    )
    assert (await loop.incident()).stage == "redeploying"

    loop.canary_moves_to(FIX_HASH, healthy=True)
    await loop.completed()
    issue = loop.issue()
    assert issue.state == "closed" and issue.state_reason == "completed"
    verified = [c.body for c in issue.comments if "fixloop:verified" in c.body]
    assert verified and "absent" in verified[0]
    assert (await loop.incident()).stage == "verified"
    assert [s.state for s in loop.github.deployments(REPO)[0].statuses] == ["in_progress", "success"]
    metrics = await (await app_harness.client.get("/metrics")).text()
    assert 'fixloop_incidents{stage="verified"} 1.0' in metrics
    assert 'fixloop_loop_duration_seconds_count{milestone="verified"} 1.0' in metrics
    assert 'fixloop_handoffs_total{agent="copilot",outcome="ok"} 1.0' in metrics


async def test_fix_failing_again_reaches_a_human_at_the_cap(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(cap=2)
    await loop.fail()
    for attempt, pod_hash in ((1, "1111111111"), (2, "2222222222")):
        sha = await loop.agent_fixes(attempt)
        await loop.workflow_succeeded(sha)
        assert (await loop.incident()).stage == "redeploying"
        loop.canary_moves_to(pod_hash, healthy=False)
        await loop.fail()
        await loop.fail("analysis-run-failed")  # repeats of the same failure change nothing more
    incident = await loop.incident()
    assert incident.stage == "needs_human" and incident.attempt == 2
    issue = loop.issue()
    assert "needs-human" in issue.labels and issue.state == "open"
    assert len([c for c in issue.comments if "fixloop:recurrence" in c.body]) == 1


async def test_gitops_mode_changes_nothing_in_the_cluster(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(mode="gitops")
    await loop.fail()
    before = loop.kube.get("Rollout", "demo", "rollouts-demo")["spec"]
    sha = await loop.agent_fixes(attempt=1)
    assert (await loop.incident()).stage == "redeploying"
    assert loop.kube.get("Rollout", "demo", "rollouts-demo")["spec"] == before
    rollout = loop.kube.get("Rollout", "demo", "rollouts-demo")
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = f"ghcr.io/acme/rollouts-demo:{sha}"
    loop.kube.add(rollout)  # the GitOps tool deploys the image built from the merge
    loop.canary_moves_to(FIX_HASH, healthy=True)
    await loop.completed()
    assert (await loop.incident()).stage == "verified"


async def test_retry_mode_clears_the_abort(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed(mode="retry")
    await loop.fail()
    await loop.agent_fixes(attempt=1)
    assert (await loop.incident()).stage == "redeploying"
    status_patches = [p for p in loop.kube.patches if p.resource == "rollouts/status"]
    assert status_patches and status_patches[-1].body == {"status": {"abort": False}}
    revision = (await loop.incident()).data["revision"]
    loop.canary_moves_to(revision, healthy=True)
    await loop.completed()
    assert (await loop.incident()).stage == "verified"


async def test_the_same_failure_after_verification_reopens_the_issue(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    await loop.workflow_succeeded(sha)
    loop.canary_moves_to(FIX_HASH, healthy=True)
    await loop.completed()
    assert loop.issue().state == "closed"

    loop.kube.load_demo()  # rolled back to the failing revision: it fails again, same signature
    await loop.fail()
    await loop.fail("analysis-run-failed")
    issue = loop.issue()
    assert issue.state == "open", "reopened, not a second issue"
    assert len([c for c in issue.comments if "fixloop:reopened" in c.body]) == 1
    incident = await loop.incident()
    assert incident.attempt == 2 and incident.stage == "agent_working"


async def test_an_agent_that_opens_no_pr_times_out_to_a_human(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    loop.github.put_file(REPO, ".github/fixloop.yml", "agent: copilot\nstage_timeouts:\n  agent_pr: 0.0001\n")
    await loop.fail()
    assert (await loop.incident()).stage == "agent_working"
    await asyncio.sleep(0.5)  # 0.0001 h = 0.36 s
    await app_harness.services.submit("sweep", "test-sweep", {})
    await app_harness.drain()
    incident = await loop.incident()
    assert incident.stage == "needs_human"
    assert "needs-human" in loop.issue().labels
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert "opened no pull request" in status
