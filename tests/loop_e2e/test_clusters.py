"""Two clusters behind two kubeconfig contexts, one Fixloop: cluster identity, repository consent, rotation.

Cluster ``prod-eu`` is the harness's fake API server, ``prod-us`` a second one; one kubeconfig names
both (contexts ``eu`` and ``us``) and the cluster registry (``FIXLOOP_CLUSTERS_FILE``) maps each notify
token to its cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.kube import FakeKube, running_fake_kube
from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import CONFIG, Loop
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification

EU_TOKEN, EU_PREVIOUS, US_TOKEN = "eu-token-current", "eu-token-previous", "us-token"
RETIRED = "eu-token-rotated-out"
BOTH = '[{cluster: "prod-*", namespaces: ["demo"]}]'
EU_ONLY = '[{cluster: prod-eu, namespaces: ["de*"]}]'


@pytest.fixture
async def us_kube() -> AsyncIterator[FakeKube]:
    async with running_fake_kube() as fake:
        yield fake


def two_context_kubeconfig(eu: FakeKube, us: FakeKube) -> dict[str, Any]:
    config: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "current-context": "eu"}
    for key in ("clusters", "users", "contexts"):
        config[key] = []
    for name, fake in (("eu", eu), ("us", us)):
        one = fake.kubeconfig_dict()
        config["clusters"].append({"name": name, "cluster": one["clusters"][0]["cluster"]})
        config["users"].append({"name": name, "user": one["users"][0]["user"]})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    return config


@pytest.fixture
def harness_env(fake_kube: FakeKube, us_kube: FakeKube, tmp_path: Path) -> dict[str, str]:
    kubeconfig = tmp_path / "two-clusters.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(two_context_kubeconfig(fake_kube, us_kube)))
    registry = {
        "clusters": {
            "prod-eu": {"tokens": [EU_TOKEN, EU_PREVIOUS], "kubeconfig": str(kubeconfig), "context": "eu"},
            "prod-us": {"tokens": [US_TOKEN], "kubeconfig": str(kubeconfig), "context": "us"},
        }
    }
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump(registry))
    return {"FIXLOOP_CLUSTERS_FILE": str(path)}


async def seeded(app_harness: AppHarness, us_kube: FakeKube, sources: str | None) -> Loop:
    loop = Loop(app_harness)
    await loop.seed()
    us_kube.load_demo()
    config = CONFIG.format(mode="image", cap=3) + (f"sources: {sources}\n" if sources else "")
    loop.github.put_file(REPO, ".github/fixloop.yml", config)
    return loop


async def fail_in(loop: Loop, token: str) -> None:
    answer = await loop.app.notify(demo_notification(), token=token)
    assert answer.status == 202, await answer.text()
    await loop.app.drain()


def issues(loop: Loop) -> list[Any]:
    return [i for i in loop.github.issues(REPO) if i.pull is None]


async def test_the_same_rollout_failing_in_two_clusters_is_two_incidents_and_two_issues(
    app_harness: AppHarness, us_kube: FakeKube
) -> None:
    loop = await seeded(app_harness, us_kube, BOTH)
    await fail_in(loop, EU_TOKEN)
    await fail_in(loop, US_TOKEN)
    await fail_in(loop, EU_TOKEN)  # a repeat in prod-eu stays prod-eu's incident
    incidents = await app_harness.services.store.list_incidents()
    assert len(incidents) == 2
    assert len({i.fingerprint for i in incidents}) == 2
    assert sorted(i.data["cluster"] for i in incidents) == ["prod-eu", "prod-us"]
    opened = issues(loop)
    assert len(opened) == 2
    for issue, cluster in zip(sorted(opened, key=lambda i: i.number), ("prod-eu", "prod-us"), strict=True):
        assert f"fixloop:cluster/{cluster}" in issue.labels
        assert issue.body is not None and f"cluster `{cluster}`" in issue.body
        status = next(c.body for c in issue.comments if "fixloop:status" in c.body)
        assert f"**cluster** `{cluster}`" in status
    # Evidence came from each cluster's own API server.
    assert app_harness.kube is not None
    assert any("/pods" in r.path for r in app_harness.kube.requests)
    assert any("/pods" in r.path for r in us_kube.requests)


async def test_a_source_the_repository_does_not_list_gets_no_issue_and_no_agent(
    app_harness: AppHarness, us_kube: FakeKube
) -> None:
    loop = await seeded(app_harness, us_kube, EU_ONLY)
    await fail_in(loop, US_TOKEN)
    assert issues(loop) == []
    assert await app_harness.services.store.list_incidents() == []
    assert not any(i.agent_assignments for i in loop.github.issues(REPO))
    assert us_kube.patches == []
    jobs = [j for j in await app_harness.services.store.list_jobs() if j.kind == "rollout"]
    step = await app_harness.services.store.get_step(jobs[0].id, "consent")
    assert step is not None and "does not consent to Rollouts of cluster prod-us" in step["refused"]
    metrics = app_harness.services.metrics.render().decode()
    assert 'fixloop_sources_refused_total{cluster="prod-us"} 1.0' in metrics


async def test_without_sources_a_registry_consents_to_nothing(
    app_harness: AppHarness, us_kube: FakeKube
) -> None:
    """Safe by default: with a registry and no `default_sources`, a repository must list its sources."""
    loop = await seeded(app_harness, us_kube, None)
    await fail_in(loop, EU_TOKEN)
    assert issues(loop) == [] and await app_harness.services.store.list_incidents() == []


async def test_a_merge_redeploys_only_in_the_consenting_cluster(
    app_harness: AppHarness, us_kube: FakeKube
) -> None:
    loop = await seeded(app_harness, us_kube, EU_ONLY)
    await fail_in(loop, EU_TOKEN)
    await fail_in(loop, US_TOKEN)  # refused: prod-us is not a source of this repository
    us_before = us_kube.get("Rollout", "demo", "rollouts-demo")["spec"]
    sha = await loop.agent_fixes(attempt=1)
    await loop.workflow_succeeded(sha)
    assert app_harness.kube is not None
    eu = app_harness.kube.get("Rollout", "demo", "rollouts-demo")
    assert eu["spec"]["template"]["spec"]["containers"][0]["image"] == f"ghcr.io/acme/rollouts-demo:{sha}"
    assert us_kube.get("Rollout", "demo", "rollouts-demo")["spec"] == us_before
    assert us_kube.patches == []
    assert (await loop.incident()).stage == "redeploying"


async def test_revoked_consent_stops_the_redeploy(app_harness: AppHarness, us_kube: FakeKube) -> None:
    loop = await seeded(app_harness, us_kube, EU_ONLY)
    await fail_in(loop, EU_TOKEN)
    loop.github.put_file(REPO, ".github/fixloop.yml", CONFIG.format(mode="image", cap=3) + "sources: []\n")
    sha = await loop.agent_fixes(attempt=1)
    await loop.workflow_succeeded(sha)
    assert app_harness.kube is not None and app_harness.kube.patches == []
    assert (await loop.incident()).stage == "needs_human"


async def test_a_rotated_out_token_is_refused_and_the_previous_accepted_during_the_overlap(
    app_harness: AppHarness, us_kube: FakeKube
) -> None:
    loop = await seeded(app_harness, us_kube, BOTH)
    refused = await app_harness.notify(demo_notification(), token=RETIRED)
    assert refused.status == 401
    await fail_in(loop, EU_PREVIOUS)  # the previous token still names prod-eu
    incidents = await app_harness.services.store.list_incidents()
    assert [i.data["cluster"] for i in incidents] == ["prod-eu"]
    gate = await app_harness.client.get(
        "/analysis/demo/rollouts-demo", headers={"Authorization": f"Bearer {RETIRED}"}
    )
    assert gate.status == 401


async def test_the_gate_reads_the_cluster_its_token_names(app_harness: AppHarness, us_kube: FakeKube) -> None:
    await seeded(app_harness, us_kube, BOTH)
    assert app_harness.kube is not None
    eu_before = len(app_harness.kube.requests)
    answer = await app_harness.client.get(
        "/analysis/demo/rollouts-demo", headers={"Authorization": f"Bearer {US_TOKEN}"}
    )
    assert answer.status == 200
    assert any("/rollouts/rollouts-demo" in r.path for r in us_kube.requests)
    assert len(app_harness.kube.requests) == eu_before, "prod-eu's API was not asked"
