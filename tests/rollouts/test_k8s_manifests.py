"""The kustomize base in k8s/: it parses, it is least-privilege, and its notification templates render the
documented body."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes import crd
from tests.fakes.kube_demo import demo_notification

K8S = Path(__file__).resolve().parents[2] / "k8s"
EVENTS = (
    "rollout-aborted",
    "analysis-run-failed",
    "analysis-run-error",
    "rollout-completed",
    "rollout-updated",
    "rollout-step-completed",
)
TO_JSON = "{{toJson .rollout}}"
TIME = re.compile(r"\{\{\s*dateInZone [^}]*\}\}")


def docs(name: str) -> list[dict[str, Any]]:
    with (K8S / name).open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [
        doc for path in K8S.rglob("*.yaml") for doc in docs(str(path.relative_to(K8S))) if doc["kind"] == kind
    ]


def test_every_yaml_parses_and_names_its_kind() -> None:
    paths = sorted(K8S.rglob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        for doc in docs(str(path.relative_to(K8S))):
            assert doc.get("apiVersion") and doc.get("kind"), path


def test_kustomization_lists_existing_files_but_not_the_secret_example() -> None:
    (kustomization,) = docs("kustomization.yaml")
    resources = kustomization["resources"]
    assert all((K8S / name).is_file() for name in resources)
    assert "secret.example.yaml" not in resources
    assert "argo-rollouts-notification-configmap.yaml" not in resources  # another namespace, merged by hand
    assert {"rbac.yaml", "deployment.yaml", "service.yaml", "serviceaccount.yaml"} <= set(resources)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_builds() -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    kinds = [doc["kind"] for doc in yaml.safe_load_all(built) if doc]
    expected = (
        "ClusterRole ClusterRoleBinding Deployment Namespace PersistentVolumeClaim Service ServiceAccount"
    )
    assert sorted(kinds) == expected.split()
    assert "image: ghcr.io/your-org/fixloop:0.1.0" in built


def test_rbac_is_least_privilege() -> None:
    (role,) = by_kind("ClusterRole")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    reads = {"get", "list", "watch"}
    expected = (
        {("", r, v) for r in ("pods", "events") for v in reads}
        | {("", "pods/log", "get")}
        | {("apps", "replicasets", v) for v in reads}
        | {("argoproj.io", "analysisruns", v) for v in reads}
        | {("argoproj.io", "rollouts", v) for v in (*reads, "patch")}
        | {("argoproj.io", "rollouts/status", v) for v in ("get", "patch")}
    )
    assert granted == expected
    text = (K8S / "rbac.yaml").read_text(encoding="utf-8")
    assert "*" not in text and "secrets" not in text.split("---")[0].split("rules:")[1]
    (binding,) = by_kind("ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fixloop", "namespace": "fixloop"}]


def test_deployment_hardening_probes_and_storage() -> None:
    (deployment,) = by_kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"][0]["containerPort"] == 8080
    assert container["envFrom"] == [{"secretRef": {"name": "fixloop"}}]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp", "/data"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DATABASE_URL"] == "sqlite:////data/fixloop.db"
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    (service,) = by_kind("Service")
    assert service["metadata"]["name"] == "fixloop" and service["spec"]["ports"][0]["port"] == 8080


def configmap() -> dict[str, str]:
    (cm,) = docs("argo-rollouts-notification-configmap.yaml")
    assert cm["metadata"] == {"name": "argo-rollouts-notification-configmap", "namespace": "argo-rollouts"}
    data: dict[str, str] = cm["data"]
    return data


def test_webhook_service() -> None:
    service = yaml.safe_load(configmap()["service.webhook.fixloop"])
    assert service["url"] == "http://fixloop.fixloop.svc:8080/rollouts/notify"
    headers = {h["name"]: h["value"] for h in service["headers"]}
    assert headers == {"Authorization": "Bearer $fixloop-notify-token", "Content-Type": "application/json"}
    secrets = [
        d for d in docs("secret.example.yaml") if d["metadata"]["name"] == "argo-rollouts-notification-secret"
    ]
    assert "fixloop-notify-token" in secrets[0]["stringData"]


def render(body: str, rollout: dict[str, Any], when: str) -> str:
    """What Argo's Go template engine produces for these two expressions (the only ones used)."""
    assert body.count(TO_JSON) == 1 and len(TIME.findall(body)) == 1, body
    return TIME.sub(when, body.replace(TO_JSON, json.dumps(rollout)))


@pytest.mark.parametrize("event", EVENTS)
def test_each_trigger_sends_a_post_of_the_documented_body(event: str) -> None:
    data = configmap()
    assert yaml.safe_load(data[f"trigger.on-{event}"]) == [{"send": [f"fixloop-{event}"]}]
    template = yaml.safe_load(data[f"template.fixloop-{event}"])
    hook = template["webhook"]["fixloop"]
    assert hook["method"] == "POST"
    rollout = demo_notification()["rollout"]
    body = json.loads(render(hook["body"], rollout, "2026-03-02T10:02:17Z"))
    assert list(body) == ["event", "rollout", "time"]
    assert body == {"event": event, "rollout": rollout, "time": "2026-03-02T10:02:17Z"}


def test_the_rendered_template_is_what_the_demo_notification_holds() -> None:
    hook = yaml.safe_load(configmap()["template.fixloop-rollout-aborted"])["webhook"]["fixloop"]
    notification = demo_notification()
    assert json.loads(render(hook["body"], notification["rollout"], notification["time"])) == notification


def test_sample_rollout_validates_and_subscribes() -> None:
    (rollout,) = docs("examples/rollout.yaml")
    crd.validate_rollout(rollout)
    annotations = rollout["metadata"]["annotations"]
    assert annotations["fixloop.dev/repo"] == "acme/rollouts-demo"
    assert {"fixloop.dev/agent", "fixloop.dev/base-branch", "fixloop.dev/image"} <= set(annotations)
    for event in EVENTS:
        assert annotations[f"notifications.argoproj.io/subscribe.on-{event}.fixloop"] == ""
    triggers = {key.removeprefix("trigger.") for key in configmap() if key.startswith("trigger.")}
    subscribed = {key.split(".")[3] for key in annotations if key.startswith("notifications.argoproj.io/")}
    assert subscribed <= triggers


def test_example_analysis_templates_validate() -> None:
    templates = by_kind("AnalysisTemplate")
    assert {t["metadata"]["name"] for t in templates} == {"success-rate", "fixloop-gate"}
    for template in templates:
        crd.validate_analysis_template(template)
