from __future__ import annotations

import copy
from typing import Any

import pytest

from app.errors import PermanentError
from app.rollouts import model
from app.rollouts.model import fingerprint, fingerprint_text, parse_rollout, valid_repo
from tests.fakes.kube_demo import demo_notification


@pytest.fixture
def rollout() -> dict[str, Any]:
    return copy.deepcopy(demo_notification()["rollout"])


def test_parses_the_demo_rollout(rollout: dict[str, Any]) -> None:
    view = parse_rollout(rollout)
    assert (view.namespace, view.name, str(view.ref)) == ("demo", "rollouts-demo", "demo/rollouts-demo")
    assert view.repo == "acme/rollouts-demo"
    assert view.agent == "copilot"
    assert view.base_branch == "main"
    assert view.image_template == "ghcr.io/acme/rollouts-demo:{sha}"
    assert view.aborted and view.phase == "Degraded" and "success-rate" in view.message
    assert (view.current_pod_hash, view.stable_rs) == ("7b6cd8d9f4", "687d76d795")
    assert view.containers == {"rollouts-demo": "argoproj/rollouts-demo:bad-red"}
    assert view.strategy == "canary" and view.step_count == 6 and view.step_index == 0
    assert view.current_step == {"setCanaryScale": {"replicas": 3}}
    assert view.step_analysis_run == "rollouts-demo-7b6cd8d9f4-2-3"
    assert view.selector == {"app": "rollouts-demo"}
    assert view.generation == 2 and view.uid
    assert view.workload_ref is None
    assert (view.incident, view.fix_pr, view.fix_sha, view.fix_pr_number) == ("", "", "", None)


def test_written_annotations(rollout: dict[str, Any]) -> None:
    rollout["metadata"]["annotations"] |= {
        model.ANNOTATION_INCIDENT: "42",
        model.ANNOTATION_FIX_PR: "17",
        model.ANNOTATION_FIX_SHA: "abc123",
    }
    view = parse_rollout(rollout)
    assert (view.incident, view.fix_pr_number, view.fix_sha) == ("42", 17, "abc123")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme/web", "acme/web"),
        (" acme/web.api ", "acme/web.api"),
        ("acme", None),
        ("acme/web/extra", None),
        ("-acme/web", None),
        ("acme/we b", None),
        ("", None),
        ("acme/..", None),
    ],
)
def test_repo_annotation_is_validated(value: str, expected: str | None) -> None:
    assert valid_repo(value) == expected


def test_an_invalid_repo_is_no_mapping(rollout: dict[str, Any]) -> None:
    rollout["metadata"]["annotations"][model.ANNOTATION_REPO] = "not a repo"
    assert parse_rollout(rollout).repo is None


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("status", "currentStepIndex"), "2", "status.currentStepIndex"),
        (("status", "abort"), "yes", "status.abort"),
        (("metadata", "generation"), True, "metadata.generation"),
        (("spec", "template", "spec", "containers"), {"a": 1}, "spec.template.spec.containers"),
        (("metadata", "annotations"), {"fixloop.dev/repo": 3}, "metadata.annotations.fixloop.dev/repo"),
        (("status",), [], "status: expected an object"),
    ],
)
def test_a_malformed_field_is_a_permanent_error_naming_it(
    rollout: dict[str, Any], path: tuple[str, ...], value: Any, field: str
) -> None:
    node = rollout
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PermanentError, match=field.replace(".", r"\.")):
        parse_rollout(rollout)


def test_name_and_namespace_are_required(rollout: dict[str, Any]) -> None:
    del rollout["metadata"]["namespace"]
    with pytest.raises(PermanentError, match=r"metadata\.namespace"):
        parse_rollout(rollout)


def test_workload_ref_is_noted(rollout: dict[str, Any]) -> None:
    del rollout["spec"]["template"]
    rollout["spec"]["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    view = parse_rollout(rollout)
    assert view.workload_ref == model.WorkloadRef("apps/v1", "Deployment", "web")
    assert view.containers == {}


def test_fingerprint_is_stable_short_and_readable(rollout: dict[str, Any]) -> None:
    view = parse_rollout(rollout)
    assert (
        fingerprint_text(view) == "demo/rollouts-demo@7b6cd8d9f4 rollouts-demo=argoproj/rollouts-demo:bad-red"
    )
    assert fingerprint(view) == fingerprint(parse_rollout(copy.deepcopy(rollout)))
    assert len(fingerprint(view)) == 16 and int(fingerprint(view), 16) >= 0


def test_fingerprint_changes_with_the_canary_revision(rollout: dict[str, Any]) -> None:
    before = fingerprint(parse_rollout(rollout))
    rollout["status"]["currentPodHash"] = "5d9f8c7b6a"
    assert fingerprint(parse_rollout(rollout)) != before
    rollout["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "argoproj/rollouts-demo@sha256:" + "a" * 64
    )
    assert "sha256:" in fingerprint_text(parse_rollout(rollout))
    rollout["metadata"]["resourceVersion"] = "999"  # not part of the identity
    assert fingerprint(parse_rollout(rollout)) == fingerprint(parse_rollout(copy.deepcopy(rollout)))
