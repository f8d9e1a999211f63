"""collect_evidence on the demo cluster, healthy and degraded (API down, 403, slow)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime

import pytest

from app.analysis.evidence import Evidence, Side
from app.rollouts.evidence import collect_evidence
from app.rollouts.kube import KubeClient, KubeUnavailable
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import demo_notification

NS, NAME = "demo", "rollouts-demo"
PANIC = "panic: runtime error: index out of range [0] with length 0"
OUT_OF_RANGE = "runtime error: index out of range [0] with length 0"
NOW = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


async def collect(kube: KubeClient, *, pods: int = 5, fallback: bool = False) -> Evidence:
    copy_ = copy.deepcopy(demo_notification()["rollout"]) if fallback else None
    return await collect_evidence(
        kube, NS, NAME, max_pods_per_side=pods, tail_lines=200, fallback_rollout=copy_, now=NOW
    )


def text(evidence: Evidence, side: Side, *, previous: bool | None = None) -> str:
    return "\n".join(
        line
        for chunk in evidence.logs_on(side)
        if previous is None or chunk.previous is previous
        for line in chunk.lines
    )


async def test_demo_evidence(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube)
    assert evidence.gaps == []
    assert (evidence.canary_hash, evidence.stable_hash) == ("7b6cd8d9f4", "687d76d795")
    assert evidence.aborted and evidence.phase == "Degraded"
    assert len(evidence.pods_on(Side.CANARY)) == 3 and len(evidence.pods_on(Side.STABLE)) == 3
    assert {p.pod_hash for p in evidence.pods_on(Side.CANARY)} == {"7b6cd8d9f4"}
    assert evidence.collected_at == "2026-03-02T10:05:00Z"


async def test_panic_only_in_canary_logs_and_previous_logs_read(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube)
    assert PANIC in text(evidence, Side.CANARY, previous=True)
    assert "goroutine 23 [running]:" in text(evidence, Side.CANARY)
    assert OUT_OF_RANGE not in text(evidence, Side.STABLE)
    assert '"blue"' in text(evidence, Side.STABLE)
    previous = [c for c in evidence.logs if c.previous]
    assert {c.pod[-5:] for c in previous} == {"9dk2x", "hq5lw", "zp8rc"}
    assert {c.container for c in previous} == {"rollouts-demo"}
    sent = [r.query for r in demo.requests if r.path.endswith("/log")]
    assert sum(q.get("previous") == "true" for q in sent) == 3
    # the CrashLoopBackOff container (waiting) is read once, as previous: the kubelet serves the same log
    crashloop = [q for r in demo.requests if r.path.endswith("9dk2x/log") for q in [r.query]]
    assert [q.get("previous") for q in crashloop if q["container"] == "rollouts-demo"] == ["true"]


async def test_containers_sidecars_and_termination(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube)
    pod = next(p for p in evidence.pods if p.name.endswith("9dk2x"))
    by_name = {c.name: c for c in pod.containers}
    assert set(by_name) == {"istio-init", "rollouts-demo", "istio-proxy"}  # init containers included
    assert by_name["istio-proxy"].is_sidecar and by_name["istio-init"].is_sidecar
    app = by_name["rollouts-demo"]
    assert not app.is_sidecar
    assert (app.state, app.reason, app.restart_count) == ("waiting", "CrashLoopBackOff", 4)
    assert (app.last_termination_reason, app.last_exit_code) == ("Error", 2)
    assert any(c.container == "istio-proxy" and c.side is Side.CANARY for c in evidence.logs)


async def test_analysis_metric_events_and_images(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube)
    (metric,) = evidence.metrics
    assert (metric.name, metric.phase, metric.provider) == ("success-rate", "Failed", "prometheus")
    assert metric.values == ("[0.71]", "[0.68]", "[0.74]")
    assert metric.success_condition == "result[0] >= 0.95"
    assert "rollouts-demo-canary.demo.svc.cluster.local" in metric.query  # {{args.service-name}} filled
    assert metric.failed == 3
    assert [(i.container, i.stable, i.canary) for i in evidence.images] == [
        ("rollouts-demo", "argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:bad-red")
    ]
    reasons = {(e.kind, e.reason) for e in evidence.events}
    assert {("Pod", "BackOff"), ("Pod", "Unhealthy"), ("Rollout", "RolloutAborted")} <= reasons
    assert ("ReplicaSet", "SuccessfulCreate") in reasons


async def test_both_sides_are_read_over_one_window(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube)
    assert evidence.window_start == "2026-03-02T10:00:02Z"  # the oldest canary pod's creation
    reads = [r for r in demo.requests if r.path.endswith("/log")]
    # stable: from the window, 10 minutes earlier for a node clock behind the API server's; canary: whole
    since = {r.path.split("/")[-2][:-6]: r.query.get("sinceTime") for r in reads}
    assert since == {"rollouts-demo-687d76d795": "2026-03-02T09:50:02Z", "rollouts-demo-7b6cd8d9f4": None}
    assert {r.query.get("timestamps") for r in reads} == {"true"}
    stable = next(c for c in evidence.logs_on(Side.STABLE) if c.container == "istio-proxy")
    assert not any("Envoy proxy is ready" in line for line in stable.lines)  # logged the day before


async def test_pods_are_capped_per_side(demo: FakeKube, kube: KubeClient) -> None:
    evidence = await collect(kube, pods=1)
    assert len(evidence.pods_on(Side.CANARY)) == 1 and len(evidence.pods_on(Side.STABLE)) == 1
    assert evidence.pods_on(Side.CANARY)[0].name.endswith("9dk2x")  # the least healthy kept
    assert any("3 found, 1 read" in gap for gap in evidence.gaps)


async def test_403_on_logs_is_a_gap(demo: FakeKube, kube: KubeClient) -> None:
    demo.forbid("pods/log")
    evidence = await collect(kube)
    assert evidence.logs == [] and len(evidence.pods) == 6
    (gap,) = evidence.gaps
    assert gap.startswith("pods/log forbidden (403) for ") and gap.endswith(": logs missing")
    # told in the order asked (the least healthy canary pod first), not in the order the 403s came back
    assert "for 14 reads: demo/rollouts-demo-7b6cd8d9f4-9dk2x/" in gap


async def test_403_on_everything_but_the_rollout(demo: FakeKube, kube: KubeClient) -> None:
    demo.forbid("pods", "pods/log", "events", "replicasets", "analysisruns")
    evidence = await collect(kube)
    assert (evidence.pods, evidence.logs, evidence.events, evidence.metrics) == ([], [], [], [])
    assert evidence.canary_hash == "7b6cd8d9f4" and evidence.aborted
    joined = "\n".join(evidence.gaps)
    for resource in ("pods", "events", "replicasets", "analysisruns"):
        assert f"{resource} forbidden (403)" in joined


async def test_api_down_uses_the_notification_copy(demo: FakeKube, kube: KubeClient) -> None:
    await demo.unplug()
    evidence = await collect(kube, fallback=True)
    assert evidence.canary_hash == "7b6cd8d9f4" and evidence.message.startswith("RolloutAborted")
    assert evidence.gaps[0].startswith("rollouts unreachable (API server down?) for demo/rollouts-demo")
    assert "notification's copy was used" in evidence.gaps[0]
    assert evidence.pods == [] and len(evidence.gaps) >= 4


async def test_api_503_without_a_copy_raises(demo: FakeKube, kube: KubeClient) -> None:
    demo.down = True
    with pytest.raises(KubeUnavailable):
        await collect(kube)


async def test_slow_api_degrades_within_bounds(demo: FakeKube, kube: KubeClient) -> None:
    demo.delay = 5
    started = time.monotonic()
    evidence = await collect(kube, fallback=True)
    assert time.monotonic() - started < 5  # timeouts of 0.5 s, reads in parallel
    assert evidence.gaps and all("timed out" in gap for gap in evidence.gaps if "copy" not in gap)
    assert evidence.canary_hash == "7b6cd8d9f4"


async def test_no_canary_pods_left_is_said(demo: FakeKube, kube: KubeClient) -> None:
    for key in [k for k in demo.store.objects if k[0] == "pods" and "7b6cd8d9f4" in k[2]]:
        del demo.store.objects[key]
    evidence = await collect(kube)
    assert any(gap.startswith("no canary pods found") for gap in evidence.gaps)
    assert evidence.window_start == "2026-03-02T10:00:00Z"  # falls back to the canary ReplicaSet


async def test_workload_ref_takes_canary_images_from_the_replica_set(
    demo: FakeKube, kube: KubeClient
) -> None:
    rollout = demo.store.objects[("rollouts", NS, NAME)]
    del rollout["spec"]["template"]
    rollout["spec"]["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "rollouts-demo"}
    evidence = await collect(kube)
    assert [(i.stable, i.canary) for i in evidence.images] == [
        ("argoproj/rollouts-demo:blue", "argoproj/rollouts-demo:bad-red")
    ]
