"""The fake API server answers as a real one would, or the tests built on it prove nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.kube import FakeKube, kube_event
from tests.fakes.kube_objects import controller_status_write

ROLLOUT = "/apis/argoproj.io/v1alpha1/namespaces/demo/rollouts/rollouts-demo"


@pytest.fixture
async def http(demo: FakeKube) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {demo.token}"}
    async with aiohttp.ClientSession(base_url=demo.url, headers=headers) as session:
        yield session


async def patch(
    http: aiohttp.ClientSession, body: Any, content_type: str, path: str = ROLLOUT
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.patch(path, data=data, headers={"Content-Type": content_type}) as response:
        return response.status, await response.json()


async def test_a_wrong_token_is_401_with_a_status_body(demo: FakeKube) -> None:
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bearer nope"}) as session,
        session.get(demo.url + ROLLOUT) as response,
    ):
        body = await response.json()
    assert response.status == 401
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized" and body["code"] == 401


async def test_merge_patch_merges_and_null_deletes(http: aiohttp.ClientSession, demo: FakeKube) -> None:
    body = {"metadata": {"annotations": {"fixloop.dev/incident": "7", "fixloop.dev/agent": None}}}
    status, obj = await patch(http, body, "application/merge-patch+json")
    assert status == 200
    annotations = obj["metadata"]["annotations"]
    assert annotations["fixloop.dev/incident"] == "7" and "fixloop.dev/agent" not in annotations
    assert annotations["fixloop.dev/repo"] == "acme/rollouts-demo"  # merged, not replaced
    assert demo.get("Rollout", "demo", "rollouts-demo")["metadata"]["annotations"] == annotations


async def test_json_patch_takes_a_list_of_operations(http: aiohttp.ClientSession) -> None:
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
    ]
    status, obj = await patch(http, ops, "application/json-patch+json")
    assert status == 200 and obj["spec"]["replicas"] == 5
    assert obj["metadata"]["generation"] == 3  # a spec change bumps the generation


async def test_json_patch_failed_test_is_422(http: aiohttp.ClientSession) -> None:
    ops = [{"op": "test", "path": "/spec/replicas", "value": 9}]
    status, body = await patch(http, ops, "application/json-patch+json")
    assert status == 422 and body["kind"] == "Status"


async def test_a_dict_sent_as_json_patch_is_400(http: aiohttp.ClientSession) -> None:
    # What kubernetes_asyncio sends when a dict body is patched without _content_type.
    status, body = await patch(http, {"status": {"abort": True}}, "application/json-patch+json")
    assert status == 400 and body["reason"] == "BadRequest"


@pytest.mark.parametrize(
    ("content_type", "code"),
    [("application/strategic-merge-patch+json", 415), ("application/json", 415), ("text/plain", 415)],
)
async def test_strategic_and_unknown_patch_types_are_415(
    http: aiohttp.ClientSession, content_type: str, code: int
) -> None:
    status, body = await patch(http, {"spec": {"paused": True}}, content_type)
    assert status == code and body["reason"] == "UnsupportedMediaType"


async def test_status_is_ignored_through_the_main_resource(http: aiohttp.ClientSession) -> None:
    status, obj = await patch(
        http, {"spec": {"paused": True}, "status": {"abort": False}}, "application/merge-patch+json"
    )
    assert status == 200
    assert obj["spec"]["paused"] is True
    assert obj["status"]["abort"] is True  # unchanged


async def test_only_status_applies_through_the_status_subresource(http: aiohttp.ClientSession) -> None:
    body = {"spec": {"paused": True}, "status": {"abort": False}, "metadata": {"labels": {"x": "y"}}}
    status, obj = await patch(http, body, "application/merge-patch+json", ROLLOUT + "/status")
    assert status == 200
    assert obj["status"]["abort"] is False
    assert "paused" not in obj["spec"] and "x" not in obj["metadata"]["labels"]
    assert obj["metadata"]["generation"] == 2


async def test_a_patch_that_breaks_the_crd_schema_is_422_and_not_stored(
    http: aiohttp.ClientSession, demo: FakeKube
) -> None:
    status, body = await patch(http, {"spec": {"replicas": "three"}}, "application/merge-patch+json")
    assert status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "spec.replicas"
    assert demo.get("Rollout", "demo", "rollouts-demo")["spec"]["replicas"] == 3


async def test_a_stale_resource_version_is_409(http: aiohttp.ClientSession) -> None:
    body = {"metadata": {"resourceVersion": "1"}, "spec": {"paused": True}}
    status, body = await patch(http, body, "application/merge-patch+json")
    assert status == 409 and body["reason"] == "Conflict"


async def test_a_race_lets_a_concurrent_write_in_and_the_guarded_patch_gets_409(
    http: aiohttp.ClientSession, demo: FakeKube
) -> None:
    read = demo.get("Rollout", "demo", "rollouts-demo")
    demo.race("Rollout", "demo", "rollouts-demo", controller_status_write)
    unguarded = {"metadata": {"annotations": {"fixloop.dev/incident": "7"}}}
    assert (await patch(http, unguarded, "application/merge-patch+json"))[0] == 200, "no version, no race"
    version = demo.get("Rollout", "demo", "rollouts-demo")["metadata"]["resourceVersion"]
    guarded = {"metadata": {"resourceVersion": version}, "spec": {"paused": True}}
    status, body = await patch(http, guarded, "application/merge-patch+json")
    assert (status, body["kind"], body["reason"], body["code"]) == (409, "Status", "Conflict", 409)
    assert body["message"] == (
        'Operation cannot be fulfilled on rollouts.argoproj.io "rollouts-demo": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    assert body["details"] == {"name": "rollouts-demo", "group": "argoproj.io", "kind": "rollouts"}
    stored = demo.get("Rollout", "demo", "rollouts-demo")
    assert stored["metadata"]["resourceVersion"] != version, "the other writer's update moved the version"
    assert stored["status"] != read["status"] and "observedGeneration" in stored["status"]
    assert not stored["spec"].get("paused"), "the 409'd patch changed nothing"
    guarded["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
    assert (await patch(http, guarded, "application/merge-patch+json"))[0] == 200, "one race, then through"


def test_adding_a_bad_rollout_is_rejected(fake_kube: FakeKube) -> None:
    bad = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "bad", "namespace": "demo"},
        "spec": {"strategy": {"canary": {"steps": [{"setWeight": "twenty"}]}}, "unknownField": 1},
    }
    with pytest.raises(Exception, match=r"spec\.strategy\.canary\.steps\[0\]\.setWeight") as caught:
        fake_kube.add(bad)
    assert "unknownField" in str(caught.value)


async def test_label_and_field_selectors(http: aiohttp.ClientSession) -> None:
    params = {"labelSelector": "app=rollouts-demo,rollouts-pod-template-hash in (7b6cd8d9f4, nope)"}
    async with http.get("/api/v1/namespaces/demo/pods", params=params) as response:
        pods = (await response.json())["items"]
    assert len(pods) == 3
    assert {p["metadata"]["labels"]["rollouts-pod-template-hash"] for p in pods} == {"7b6cd8d9f4"}
    params = {"labelSelector": "rollouts-pod-template-hash notin (7b6cd8d9f4),!absent"}
    async with http.get("/api/v1/namespaces/demo/pods", params=params) as response:
        assert len((await response.json())["items"]) == 3
    params = {"fieldSelector": "involvedObject.kind=Rollout,involvedObject.name=rollouts-demo"}
    async with http.get("/api/v1/namespaces/demo/events", params=params) as response:
        reasons = [e["reason"] for e in (await response.json())["items"]]
    assert "RolloutAborted" in reasons and "BackOff" not in reasons
    async with http.get("/api/v1/namespaces/demo/events", params={"fieldSelector": "bogus=1"}) as response:
        assert response.status == 400


async def test_pod_logs_honour_container_tail_since_previous_timestamps(http: aiohttp.ClientSession) -> None:
    path = "/api/v1/namespaces/demo/pods/rollouts-demo-7b6cd8d9f4-hq5lw/log"
    async with http.get(path) as response:
        assert response.status == 400  # several containers: one must be named
    query = {"container": "rollouts-demo", "previous": "true", "tailLines": "2", "timestamps": "true"}
    async with http.get(path, params=query) as response:
        lines = (await response.text()).splitlines()
    assert len(lines) == 2 and lines[0].startswith("2026-03-02T10:01:47")
    stable = "/api/v1/namespaces/demo/pods/rollouts-demo-687d76d795-4bxkq/log"
    query = {"container": "rollouts-demo", "sinceTime": "2026-03-02T10:00:00Z", "timestamps": "1"}
    async with http.get(stable, params=query) as response:
        stamps = [line.split(" ")[0] for line in (await response.text()).splitlines()]
    assert stamps and min(stamps) >= "2026-03-02T10:00:00"
    async with http.get(stable, params={"container": "rollouts-demo", "previous": "true"}) as response:
        assert response.status == 400  # never restarted: no previous container


async def test_faults_down_forbid_unplug(demo: FakeKube, http: aiohttp.ClientSession) -> None:
    demo.forbid("pods/log")
    async with http.get("/api/v1/namespaces/demo/pods") as response:
        assert response.status == 200
    path = "/api/v1/namespaces/demo/pods/rollouts-demo-687d76d795-4bxkq/log?container=rollouts-demo"
    async with http.get(path) as response:
        body = await response.json()
    assert response.status == 403 and 'cannot get resource "pods/log"' in body["message"]
    demo.down = True
    async with http.get(ROLLOUT) as response:
        assert response.status == 503
    demo.down = False
    await demo.unplug()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(ROLLOUT):
            pass
    await demo.replug()
    async with http.get(ROLLOUT) as response:
        assert response.status == 200


async def test_seeded_events_are_found_by_field_selector(demo: FakeKube, http: aiohttp.ClientSession) -> None:
    pod = demo.get("Pod", "demo", "rollouts-demo-687d76d795-4bxkq")
    demo.add(kube_event(pod, "OOMKilling", "Memory cgroup out of memory", type_="Warning"))
    params = {"fieldSelector": f"involvedObject.kind=Pod,involvedObject.name={pod['metadata']['name']}"}
    async with http.get("/api/v1/namespaces/demo/events", params=params) as response:
        events = (await response.json())["items"]
    assert [(e["reason"], e["type"]) for e in events] == [("OOMKilling", "Warning")]
