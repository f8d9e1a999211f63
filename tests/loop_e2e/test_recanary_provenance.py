"""Provenance on re-canary: the canary that completes after a merge is verified only when it was built
from the merge commit; a build of another commit is said on the issue and handed to a human."""

from __future__ import annotations

import copy

import pytest

from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop

NEW_HASH = "6d5c4b3a21"
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"


def gitops_deploys(
    loop: Loop, revision: str, image: str = "ghcr.io/acme/rollouts-demo:v2.1", *, healthy: bool = True
) -> None:
    """A GitOps tool applies a new revision: the Rollout's image, and a ReplicaSet whose pod template
    says which commit it was built from (`fixloop.dev/revision`)."""
    rollout = loop.kube.get("Rollout", "demo", "rollouts-demo")
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
    loop.kube.add(rollout)
    rs = copy.deepcopy(loop.kube.get("ReplicaSet", "demo", "rollouts-demo-7b6cd8d9f4"))
    rs["metadata"]["name"] = f"rollouts-demo-{NEW_HASH}"
    for labels in (rs["metadata"]["labels"], rs["spec"]["selector"]["matchLabels"]):
        labels["rollouts-pod-template-hash"] = NEW_HASH
    template = rs["spec"]["template"]
    template["metadata"]["labels"]["rollouts-pod-template-hash"] = NEW_HASH
    template["metadata"]["annotations"]["fixloop.dev/revision"] = revision
    template["spec"]["containers"][0]["image"] = image
    for key in ("uid", "resourceVersion"):
        rs["metadata"].pop(key, None)
    loop.kube.add(rs)
    loop.canary_moves_to(NEW_HASH, healthy=healthy)


@pytest.mark.parametrize("built_from", ["merge", "other"])
async def test_only_a_build_of_the_merge_commit_verifies_the_fix(
    app_harness: AppHarness, built_from: str
) -> None:
    loop = Loop(app_harness)
    await loop.seed(mode="gitops")
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    assert (await loop.incident()).stage == "redeploying"
    gitops_deploys(loop, sha[:10] if built_from == "merge" else OTHER_SHA)
    await loop.completed()
    issue = loop.issue()
    incident = await loop.incident()
    if built_from == "merge":
        assert incident.stage == "verified" and issue.state == "closed"
        return
    assert incident.stage == "needs_human" and issue.state == "open"
    assert "needs-human" in issue.labels
    status = next(c.body for c in issue.comments if "fixloop:status" in c.body)
    assert OTHER_SHA[:12] in status and sha[:12] in status and "not verified" in status
    assert "fixloop.dev/revision" in status, "the source of the revision is named"
    assert not [c for c in issue.comments if "fixloop:verified" in c.body]


async def test_a_failing_build_of_another_commit_is_not_counted_against_the_fix(
    app_harness: AppHarness,
) -> None:
    loop = Loop(app_harness)
    await loop.seed(mode="gitops")
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    gitops_deploys(loop, OTHER_SHA, healthy=False)
    await loop.fail()
    incident = await loop.incident()
    assert (incident.stage, incident.attempt) == ("needs_human", 1), "no attempt spent on another build"
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert "the canary that failed runs" in status and OTHER_SHA[:12] in status and sha[:12] in status
