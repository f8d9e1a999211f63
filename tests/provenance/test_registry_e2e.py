"""The demo without revision annotations, its images in a real registry: the revisions come from the
images' OCI labels; a private registry without credentials is said on the issue, and nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.github_commits import add_demo_history
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import DEMO_CANARY_SHA, DEMO_STABLE_SHA, load_demo_without_revisions
from tests.fakes.registry import Registry
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification

COMPARE = "/repos/{owner}/{repo}/compare/{basehead}"
REVISION = "org.opencontainers.image.revision"


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    async with Registry.start() as started:
        yield started


@pytest.fixture
def harness_env(tmp_path: Path, registry: Registry) -> dict[str, str]:
    return {"FIXLOOP_REGISTRY_INSECURE": registry.host, "FIXLOOP_REGISTRY_TIMEOUT": "5"}


def images_in(kube: FakeKube, stable: str, canary: str) -> None:
    """The demo's app container runs images of the test registry (the Rollout's and each ReplicaSet's)."""
    for kind, name, image in (
        ("Rollout", "rollouts-demo", canary),
        ("ReplicaSet", "rollouts-demo-7b6cd8d9f4", canary),
        ("ReplicaSet", "rollouts-demo-687d76d795", stable),
    ):
        obj = kube.get(kind, "demo", name)
        for container in obj["spec"]["template"]["spec"]["containers"]:
            if container["name"] == "rollouts-demo":
                container["image"] = image
        kube.add(obj)


async def _issue_body(app_harness: AppHarness) -> str:
    assert app_harness.github is not None and app_harness.kube is not None
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202
    await app_harness.drain()
    body = app_harness.github.issues(REPO)[0].body
    assert body is not None
    return body


async def test_revisions_from_oci_labels_find_the_suspects(
    app_harness: AppHarness, registry: Registry
) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    load_demo_without_revisions(app_harness.kube)
    shas = add_demo_history(app_harness.github, REPO, DEMO_STABLE_SHA, DEMO_CANARY_SHA)
    await registry.push_image("public/rollouts-demo", "blue", {REVISION: DEMO_STABLE_SHA})
    digest = await registry.push_image(
        "public/rollouts-demo", "bad-red", {REVISION: DEMO_CANARY_SHA}, index=True
    )
    base = f"{registry.host}/public/rollouts-demo"
    images_in(app_harness.kube, f"{base}:blue", f"{base}@{digest}")
    body = await _issue_body(app_harness)
    assert f"canary `{DEMO_CANARY_SHA[:12]}` (OCI label {REVISION} of {base}@sha256:" in body
    assert f"stable `{DEMO_STABLE_SHA[:12]}` (OCI label {REVISION}" in body
    first_row = next(line for line in body.splitlines() if line.startswith("| `") and "`main.go`" in line)
    assert first_row.startswith(f"| `{shas['cache'][:12]}` | `bob` |")
    assert f"/blob/{DEMO_CANARY_SHA}/main.go#L214" in body


async def test_a_private_registry_without_credentials_is_said(
    app_harness: AppHarness, registry: Registry
) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    load_demo_without_revisions(app_harness.kube)
    for tag, sha in (("blue", DEMO_STABLE_SHA), ("bad-red", DEMO_CANARY_SHA)):
        await registry.push_image("private/rollouts-demo", tag, {REVISION: sha})
    base = f"{registry.host}/private/rollouts-demo"
    images_in(app_harness.kube, f"{base}:blue", f"{base}:bad-red")
    body = await _issue_body(app_harness)
    assert "canary revision unknown" in body and "no credentials are configured for it" in body
    assert app_harness.github.requests_to("GET", COMPARE) == []
    issue = app_harness.github.issues(REPO)[0]
    assert "## Task for the agent" in body and "index out of range" in issue.title
