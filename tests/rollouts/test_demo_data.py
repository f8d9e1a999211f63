"""The demo cluster in app/examples/ is valid data: CRD-valid objects, a notification of the documented
shape, logs that tell the story the tests rely on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.fakes import crd
from tests.fakes.kube_demo import LOGS, demo_notification, demo_objects

PANIC = "panic: runtime error: index out of range [0] with length 0"


def test_argo_objects_pass_the_crd_schemas() -> None:
    argo = [obj for obj in demo_objects() if obj["apiVersion"].startswith("argoproj.io/")]
    assert sorted(obj["kind"] for obj in argo) == ["AnalysisRun", "AnalysisTemplate", "Rollout"]
    for obj in argo:
        crd.validate(obj)


def test_notification_is_the_documented_body_around_the_demo_rollout() -> None:
    notification = demo_notification()
    assert list(notification) == ["event", "rollout", "time"]
    assert notification["event"] == "rollout-aborted"
    datetime.fromisoformat(notification["time"])  # RFC3339
    crd.validate_rollout(notification["rollout"])
    (rollout,) = [obj for obj in demo_objects() if obj["kind"] == "Rollout"]
    assert notification["rollout"] == rollout


def test_the_story_the_logs_tell() -> None:
    canary = list(LOGS.glob("demo/rollouts-demo-7b6cd8d9f4-*/*.log"))
    stable = list(LOGS.glob("demo/rollouts-demo-687d76d795-*/*.log"))
    assert len({p.parent for p in canary}) == 3 and len({p.parent for p in stable}) == 3
    assert all(PANIC not in p.read_text(encoding="utf-8") for p in stable)
    previous = [p for p in canary if p.name == "rollouts-demo.previous.log"]
    assert len(previous) == 3 and all(PANIC in p.read_text(encoding="utf-8") for p in previous)
    assert all("goroutine" in p.read_text(encoding="utf-8") for p in previous)
    assert len(answers(canary)) > 3  # bad-red answers random colours
    assert answers(stable) == {"blue"}


def answers(paths: list[Path]) -> set[str]:
    """The colours the app answered, from its request lines: ``GET /color ... -> 200 "blue" (0.8ms)``."""
    lines = [
        line for p in paths if "istio" not in p.name for line in p.read_text(encoding="utf-8").splitlines()
    ]
    return {line.rsplit('"', 2)[1] for line in lines if "-> 200" in line}


def test_missing_crd_schemas_fail_with_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(crd, "CRD_DIR", tmp_path / "argo-rollouts")
    with pytest.raises(
        FileNotFoundError, match=r"argo-rollouts/rollout-crd\.yaml.*\.\./shared/data/argo-rollouts"
    ):
        crd.crd_path("Rollout")
