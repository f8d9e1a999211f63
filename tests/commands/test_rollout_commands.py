"""retry, abort, promote, redeploy and analyze: Rollout patches (CRD-validated by the fake), refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from app.loop.incident.stages import Stage
from tests.commands.helpers import CANARY, NAMESPACE, ROLLOUT, Seeded, demo_state, seed
from tests.fakes.kube_objects import new_revision
from tests.harness import AppHarness

MERGE = "application/merge-patch+json"
FIX_SHA = "3f2a9c1e" * 5


def patches(s: Seeded) -> list[tuple[str, object]]:
    assert all(p.content_type == MERGE and p.status == 200 for p in s.kube.patches), s.kube.patches
    assert all((p.namespace, p.name) == (NAMESPACE, ROLLOUT) for p in s.kube.patches)
    return [(p.resource, p.body) for p in s.kube.patches]


def rollout(s: Seeded) -> Any:
    return s.kube.get("Rollout", NAMESPACE, ROLLOUT)


def change_rollout(s: Seeded, change: Callable[[Any], None]) -> None:
    """Change the demo Rollout in the fake cluster, as its controller or its owners would."""
    obj = rollout(s)
    change(obj)
    s.kube.add(obj)


@contextmanager
def no_cluster(app: AppHarness) -> Iterator[None]:
    kube, app.services.kube = app.services.kube, None
    try:
        yield
    finally:
        app.services.kube = kube


async def test_retry_clears_the_abort(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop retry")
    await s.post(payload)
    assert patches(s) == [("rollouts/status", {"status": {"abort": False}})]
    assert rollout(s)["status"]["abort"] is False
    assert "cleared the abort of the Rollout `demo/rollouts-demo`" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "+1"]
    (entry,) = await s.audit()
    assert entry.detail["command"] == "retry" and entry.detail["ok"] is True


async def test_abort_aborts(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    change_rollout(s, lambda r: r["status"].update(abort=False))
    comment, payload = s.comment("/fixloop abort")
    await s.post(payload)
    assert patches(s) == [("rollouts/status", {"status": {"abort": True}})]
    assert rollout(s)["status"]["abort"] is True
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_promote_moves_the_canary_one_step(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop promote")
    await s.post(payload)
    assert patches(s) == [("rollouts/status", {"status": {"pauseConditions": None, "currentStepIndex": 1}})]
    assert rollout(s)["status"]["currentStepIndex"] == 1
    assert "promoted the Rollout `demo/rollouts-demo`" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_promote_full(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop promote --full")
    await s.post(payload)
    assert patches(s) == [("rollouts/status", {"status": {"promoteFull": True}})]
    assert "fully promoted" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "+1"]


@pytest.mark.parametrize("line", ["/fixloop promote --force", "/fixloop abort now", "/fixloop retry 3"])
async def test_unexpected_arguments_change_nothing(app_harness: AppHarness, line: str) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment(line)
    await s.post(payload)
    assert s.kube.patches == []
    assert s.reactions(comment) == ["eyes", "-1"]
    assert "usage" in s.replies()[-1].body or "takes no arguments" in s.replies()[-1].body


@pytest.mark.parametrize("line", ["/fixloop retry", "/fixloop abort", "/fixloop promote", "/fixloop analyze"])
async def test_without_the_cluster_the_reply_says_so(app_harness: AppHarness, line: str) -> None:
    s = await seed(app_harness)
    with no_cluster(app_harness):
        comment, payload = s.comment(line)
        await s.post(payload)
    assert s.kube.patches == [] and s.kube.requests == []
    assert "Kubernetes cluster is not reachable" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_a_rollout_mapped_to_another_repository_is_left_alone(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    change_rollout(s, lambda r: r["metadata"]["annotations"].update({"fixloop.dev/repo": "evil/elsewhere"}))
    comment, payload = s.comment("/fixloop abort")
    await s.post(payload)
    assert s.kube.patches == []
    reply = s.replies()[-1].body
    assert "not mapped to this repository" in reply and "`evil/elsewhere`" in reply
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_a_forbidden_patch_is_reported(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    s.kube.forbid("rollouts/status", verbs=["patch"])
    comment, payload = s.comment("/fixloop retry")
    await s.post(payload)
    assert s.kube.patches == []  # refused by the API server before any change
    assert "failed:" in s.replies()[-1].body and "403" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_redeploy_sets_the_fix_image(app_harness: AppHarness) -> None:
    state = demo_state(fix={"pr": 12, "sha": FIX_SHA, "mode": "image"})
    s = await seed(app_harness, stage=Stage.NEEDS_HUMAN, state=state)
    comment, payload = s.comment("/fixloop redeploy")
    await s.post(payload)
    image = f"ghcr.io/acme/rollouts-demo:{FIX_SHA}"
    (annotate, set_image) = patches(s)
    assert annotate == (
        "rollouts",
        {
            "metadata": {
                "annotations": {
                    "fixloop.dev/incident": str(s.incident.id),
                    "fixloop.dev/fix-pr": "12",
                    "fixloop.dev/fix-sha": FIX_SHA,
                }
            }
        },
    )
    assert set_image[0] == "rollouts"
    containers = rollout(s)["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == image
    incident = await s.current()
    assert incident.stage == Stage.REDEPLOYING.value
    assert f"set the image of `demo/rollouts-demo` to `{image}`" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_redeploy_over_another_writers_change_is_refused_with_the_reason(
    app_harness: AppHarness,
) -> None:
    state = demo_state(fix={"pr": 12, "sha": FIX_SHA, "mode": "image"})
    s = await seed(app_harness, stage=Stage.NEEDS_HUMAN, state=state)
    theirs = "ghcr.io/acme/rollouts-demo:by-hand"
    s.kube.race("Rollout", "demo", "rollouts-demo", new_revision("rollouts-demo", theirs, "4d4d4d4d4d"))
    comment, payload = s.comment("/fixloop redeploy")
    await s.post(payload)
    assert rollout(s)["spec"]["template"]["spec"]["containers"][0]["image"] == theirs
    assert (await s.current()).stage == Stage.NEEDS_HUMAN.value
    assert "the image was not set" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_redeploy_of_a_fix_already_in_the_rollout_retries_it(app_harness: AppHarness) -> None:
    state = demo_state(fix={"pr": 12, "sha": FIX_SHA, "mode": "image"})
    s = await seed(app_harness, stage=Stage.REDEPLOYING, state=state)
    image = f"ghcr.io/acme/rollouts-demo:{FIX_SHA}"
    change_rollout(s, lambda r: r["spec"]["template"]["spec"]["containers"][0].update(image=image))
    comment, payload = s.comment("/fixloop redeploy")
    await s.post(payload)
    assert [resource for resource, _ in patches(s)] == ["rollouts", "rollouts/status"]
    assert patches(s)[1] == ("rollouts/status", {"status": {"abort": False}})
    assert (await s.current()).stage == Stage.REDEPLOYING.value
    assert "runs in the canary again" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "+1"]


async def test_redeploy_without_a_merged_fix_is_refused(app_harness: AppHarness) -> None:
    s = await seed(app_harness)
    comment, payload = s.comment("/fixloop redeploy")
    await s.post(payload)
    assert s.kube.patches == []
    assert "no merged fix" in s.replies()[-1].body
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_redeploy_in_gitops_mode_changes_nothing(app_harness: AppHarness) -> None:
    state = demo_state(fix={"pr": 12, "sha": FIX_SHA, "mode": "gitops"})
    s = await seed(app_harness, stage=Stage.MERGED, state=state, config="redeploy: gitops\n")
    comment, payload = s.comment("/fixloop redeploy")
    await s.post(payload)
    assert s.kube.patches == [] and "GitOps" in s.replies()[-1].body
    assert (await s.current()).stage == Stage.MERGED.value
    assert s.reactions(comment) == ["eyes", "-1"]


async def test_analyze_posts_a_fresh_analysis_and_keeps_the_original_evidence(
    app_harness: AppHarness,
) -> None:
    s = await seed(app_harness)
    before = (await s.current()).data["evidence"]
    comment, payload = s.comment("/fixloop analyze")
    await s.post(payload)
    analysis, reply = s.replies()
    assert "### Fresh analysis, asked by `alice`" in analysis.body
    assert f"canary revision `{CANARY}`" in analysis.body and "index out of range" in analysis.body
    assert "posted a fresh analysis" in reply.body
    assert s.kube.patches == []
    assert (await s.current()).data["evidence"] == before
    assert [a.detail["by"] for a in await s.audit("analysis")] == ["alice"]
    assert s.reactions(comment) == ["eyes", "+1"]
