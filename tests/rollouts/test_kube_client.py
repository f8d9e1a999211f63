"""KubeClient against the fake API: merge patches, Rollout actions, timeouts, retries and error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.errors import ConfigError, PermanentError, TransientError
from app.metrics import Metrics
from app.rollouts.kube import (
    CONFLICT_ATTEMPTS,
    KubeClient,
    KubeConflict,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
    RolloutMoved,
)
from tests.fakes.kube import FakeKube
from tests.fakes.kube_objects import controller_status_write, new_revision

NS, NAME = "demo", "rollouts-demo"
MERGE = "application/merge-patch+json"


@pytest.fixture
async def kube(fake_kube: FakeKube, metrics: Metrics) -> AsyncIterator[KubeClient]:
    """These tests count requests: a 2 s timeout, not the package's 0.5 s, so that a loaded CI machine
    does not time a plain request out and add a retry to the count (seen once: 4 patches for 3)."""
    client = await KubeClient.create(str(fake_kube.kubeconfig), 2.0, metrics, retries=2, backoff=0.01)
    try:
        yield client
    finally:
        await client.close()


def calls(metrics: Metrics, verb: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value("fixloop_kube_calls_total", {"verb": verb, "outcome": outcome})
    return value or 0.0


async def test_reads_return_the_api_json(demo: FakeKube, kube: KubeClient, metrics: Metrics) -> None:
    rollout = await kube.get_rollout(NS, NAME)
    assert rollout["status"]["currentPodHash"] == "7b6cd8d9f4"
    pods = await kube.list_pods(NS, "rollouts-pod-template-hash=687d76d795")
    assert len(pods) == 3 and pods[0]["status"]["containerStatuses"][0]["restartCount"] == 0
    assert len(await kube.list_replica_sets(NS, "app=rollouts-demo")) == 2
    runs = await kube.list_analysis_runs(NS, "rollouts-pod-template-hash=7b6cd8d9f4")
    assert runs[0]["status"]["metricResults"][0]["measurements"][0]["value"] == "[0.71]"
    events = await kube.list_events(NS, "involvedObject.name=rollouts-demo")
    assert any(e["reason"] == "RolloutAborted" for e in events)
    assert calls(metrics, "get_rollout", "ok") == 1


async def test_read_log_sends_since_time_tail_and_previous(demo: FakeKube, kube: KubeClient) -> None:
    pod = "rollouts-demo-687d76d795-4bxkq"
    since = datetime(2026, 3, 2, 10, 0, 2, tzinfo=UTC)
    text = await kube.read_log(NS, pod, "rollouts-demo", tail_lines=5, since_time=since)
    assert len(text.splitlines()) == 5
    sent = demo.requests[-1].query
    assert sent == {"container": "rollouts-demo", "tailLines": "5", "sinceTime": "2026-03-02T10:00:02Z"}
    previous = await kube.read_log(
        NS, "rollouts-demo-7b6cd8d9f4-hq5lw", "rollouts-demo", tail_lines=50, previous=True
    )
    assert "panic: runtime error" in previous


async def test_patches_are_sent_as_merge_patches(demo: FakeKube, kube: KubeClient) -> None:
    await kube.annotate_rollout(NS, NAME, {"fixloop.dev/incident": "12"})
    await kube.patch_rollout_status(NS, NAME, {"status": {"abort": False}})
    assert [p.content_type for p in demo.patches] == [MERGE, MERGE]
    assert [p.resource for p in demo.patches] == ["rollouts", "rollouts/status"]
    assert all(p.status == 200 for p in demo.patches)
    rollout = demo.get("Rollout", NS, NAME)
    assert rollout["metadata"]["annotations"]["fixloop.dev/incident"] == "12"
    assert rollout["status"]["abort"] is False


async def test_abort_and_retry_go_through_the_status_subresource(demo: FakeKube, kube: KubeClient) -> None:
    assert (await kube.retry(NS, NAME))["status"]["abort"] is False
    assert (await kube.abort(NS, NAME))["status"]["abort"] is True
    assert [(p.resource, p.body) for p in demo.patches] == [
        ("rollouts/status", {"status": {"abort": False}}),
        ("rollouts/status", {"status": {"abort": True}}),
    ]


async def test_promote_moves_to_the_next_step_and_unpauses(demo: FakeKube, kube: KubeClient) -> None:
    await kube.patch_rollout(NS, NAME, {"spec": {"paused": True}})
    rollout = await kube.promote(NS, NAME)
    assert rollout["spec"].get("paused") is False
    assert demo.get("Rollout", NS, NAME)["status"]["currentStepIndex"] == 1
    assert [p.body for p in demo.patches[1:]] == [
        {"status": {"pauseConditions": None, "currentStepIndex": 1}},
        {"spec": {"paused": False}},
    ]


async def test_full_promote(demo: FakeKube, kube: KubeClient) -> None:
    rollout = await kube.promote(NS, NAME, full=True)
    assert rollout["status"]["promoteFull"] is True
    assert demo.patches[-1].resource == "rollouts/status"


async def test_restart_and_set_image(demo: FakeKube, kube: KubeClient) -> None:
    at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert (await kube.restart(NS, NAME, at=at))["spec"]["restartAt"] == "2026-03-02T11:00:00Z"
    rollout = await kube.set_image(NS, NAME, "rollouts-demo", "ghcr.io/acme/rollouts-demo:abc123")
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/rollouts-demo:abc123"
    assert container["readinessProbe"]["httpGet"]["path"] == "/color"  # the rest of the container kept
    assert rollout["metadata"]["generation"] == 4
    with pytest.raises(PermanentError, match="no container named"):
        await kube.set_image(NS, NAME, "nope", "x:1")


IMAGE = "ghcr.io/acme/rollouts-demo:abc123"


def image_in(fake: FakeKube) -> str:
    return str(fake.get("Rollout", NS, NAME)["spec"]["template"]["spec"]["containers"][0]["image"])


async def test_set_image_rereads_and_reapplies_after_a_409(
    demo: FakeKube, kube: KubeClient, metrics: Metrics
) -> None:
    demo.race("Rollout", NS, NAME, controller_status_write, controller_status_write)
    rollout = await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE == image_in(demo)
    assert [p.status for p in demo.patches] == [409, 409, 200]
    versions = [p.body["metadata"]["resourceVersion"] for p in demo.patches]
    assert len(set(versions)) == 3, "each attempt carries the version it re-read"
    assert calls(metrics, "patch_rollout", "conflict") == 2 and calls(metrics, "get_rollout", "ok") == 3


async def test_set_image_does_not_overwrite_another_writers_revision(
    demo: FakeKube, kube: KubeClient
) -> None:
    other = "ghcr.io/acme/rollouts-demo:someone-else"
    demo.race("Rollout", NS, NAME, new_revision("rollouts-demo", other, "9c9c9c9c9c"))
    with pytest.raises(RolloutMoved, match=r"changed to ghcr\.io/acme/rollouts-demo:someone-else") as moved:
        await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)
    assert isinstance(moved.value, PermanentError)
    assert image_in(demo) == other and [p.status for p in demo.patches] == [409]


async def test_set_image_stops_when_the_revision_moved(demo: FakeKube, kube: KubeClient) -> None:
    def rolled_back(rollout: dict[str, Any]) -> None:
        rollout["status"]["currentPodHash"] = rollout["status"]["stableRS"]

    demo.race("Rollout", NS, NAME, rolled_back)
    with pytest.raises(RolloutMoved, match="moved from revision 7b6cd8d9f4 to 687d76d795"):
        await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)


async def test_set_image_gives_up_after_bounded_conflicts(demo: FakeKube, kube: KubeClient) -> None:
    demo.race("Rollout", NS, NAME, *[controller_status_write] * (CONFLICT_ATTEMPTS + 1))
    with pytest.raises(KubeConflict, match=f"still modified after {CONFLICT_ATTEMPTS} attempts"):
        await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)
    assert [p.status for p in demo.patches] == [409] * CONFLICT_ATTEMPTS
    assert image_in(demo) != IMAGE


async def test_set_image_already_applied_sends_no_patch(demo: FakeKube, kube: KubeClient) -> None:
    await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)
    demo.patches.clear()
    rollout = await kube.set_image(NS, NAME, "rollouts-demo", IMAGE)
    assert image_in(demo) == IMAGE == rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    assert demo.patches == []


async def test_error_mapping(demo: FakeKube, kube: KubeClient, metrics: Metrics) -> None:
    with pytest.raises(KubeNotFound):
        await kube.get_rollout(NS, "missing")
    demo.forbid("rollouts")
    with pytest.raises(KubeForbidden, match="403") as forbidden:
        await kube.get_rollout(NS, NAME)
    assert isinstance(forbidden.value, PermanentError)
    demo.allow_all()
    with pytest.raises(KubeInvalid, match="422"):
        await kube.patch_rollout(NS, NAME, {"spec": {"replicas": "many"}})
    with pytest.raises(KubeConflict) as conflict:
        await kube.patch_rollout(NS, NAME, {"metadata": {"resourceVersion": "1"}, "spec": {"paused": True}})
    assert isinstance(conflict.value, TransientError)
    assert calls(metrics, "get_rollout", "forbidden") == 1
    assert calls(metrics, "get_rollout", "not_found") == 1


async def test_a_wrong_token_is_forbidden(demo: FakeKube, tmp_path: Path) -> None:
    import yaml  # noqa: PLC0415

    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(demo.kubeconfig_dict(token="stolen")), encoding="utf-8")
    async with await KubeClient.create(str(path), 1.0) as kube:
        with pytest.raises(KubeForbidden, match="401"):
            await kube.get_rollout(NS, NAME)


async def test_5xx_is_retried_then_transient(demo: FakeKube, kube: KubeClient, metrics: Metrics) -> None:
    demo.down = True
    before = len(demo.requests)
    with pytest.raises(KubeUnavailable, match="503"):
        await kube.get_rollout(NS, NAME)
    assert len(demo.requests) - before == 2  # retries=2 in the fixture
    assert calls(metrics, "get_rollout", "retry") == 1
    assert calls(metrics, "get_rollout", "unavailable") == 1


async def test_a_slow_api_times_out(demo: FakeKube, kube: KubeClient, metrics: Metrics) -> None:
    demo.delay = 5
    with pytest.raises(KubeUnavailable, match="timed out"):
        await kube.get_rollout(NS, NAME)
    assert calls(metrics, "get_rollout", "timeout") == 1


async def test_connection_refused_is_transient(demo: FakeKube, kube: KubeClient) -> None:
    await demo.unplug()
    with pytest.raises(KubeUnavailable, match="cannot reach"):
        await kube.list_pods(NS, "app=rollouts-demo")


async def test_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KUBECONFIG"):
        await KubeClient.create(str(tmp_path / "absent"), 1.0)
