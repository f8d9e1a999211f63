"""The redeploy's image patch meets the Argo controller writing the same Rollout (409 Conflict)."""

from __future__ import annotations

from app.rollouts.kube import CONFLICT_ATTEMPTS
from tests.fakes.kube_objects import controller_status_write, new_revision
from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import Loop

NS, NAME = "demo", "rollouts-demo"


def image_in(loop: Loop) -> str:
    return str(loop.kube.get("Rollout", NS, NAME)["spec"]["template"]["spec"]["containers"][0]["image"])


def image_patches(loop: Loop) -> list[int]:
    """Statuses of the guarded (image) patches of the Rollout, in order."""
    return [
        p.status
        for p in loop.kube.patches
        if p.resource == "rollouts" and "resourceVersion" in (p.body.get("metadata") or {})
    ]


async def test_a_409_on_the_image_patch_is_retried_and_the_image_lands(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    loop.kube.race("Rollout", NS, NAME, controller_status_write, controller_status_write)
    await loop.workflow_succeeded(sha)
    assert image_patches(loop) == [409, 409, 200]
    assert image_in(loop) == f"ghcr.io/acme/rollouts-demo:{sha}"
    incident = await loop.incident()
    assert incident.stage == "redeploying"
    assert incident.data["fix"]["image"] == f"ghcr.io/acme/rollouts-demo:{sha}"
    metrics = await (await app_harness.client.get("/metrics")).text()
    assert 'fixloop_kube_calls_total{outcome="conflict",verb="patch_rollout"} 2.0' in metrics


async def test_a_conflict_whose_precondition_no_longer_holds_gives_up_with_a_reason(
    app_harness: AppHarness,
) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    theirs = "ghcr.io/acme/rollouts-demo:hotfix-by-hand"
    loop.kube.race("Rollout", NS, NAME, new_revision("rollouts-demo", theirs, "4d4d4d4d4d"))
    await loop.workflow_succeeded(sha)
    assert image_patches(loop) == [409], "re-read once, and not applied over another writer's change"
    assert image_in(loop) == theirs
    incident = await loop.incident()
    assert incident.stage == "needs_human"
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert f"the image ghcr.io/acme/rollouts-demo:{sha} could not be set on the Rollout" in status
    assert f"the image of rollouts-demo changed to {theirs} meanwhile" in status
    assert "Fixloop did not overwrite it" in status


async def test_conflicts_that_go_on_give_up_after_bounded_attempts(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await loop.seed()
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    loop.kube.race("Rollout", NS, NAME, *[controller_status_write] * (CONFLICT_ATTEMPTS + 2))
    await loop.workflow_succeeded(sha)
    assert image_patches(loop) == [409] * CONFLICT_ATTEMPTS
    assert image_in(loop) != f"ghcr.io/acme/rollouts-demo:{sha}"
    assert (await loop.incident()).stage == "needs_human"
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert f"still modified after {CONFLICT_ATTEMPTS} attempts" in status
    assert "the object has been modified" in status
