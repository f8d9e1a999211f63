"""The fake's pod logs answer as kube-apiserver and the kubelet do (see tests/fakes/kube_logs.py)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import demo_objects, load_recent_demo

CRASHLOOP = "/api/v1/namespaces/demo/pods/rollouts-demo-7b6cd8d9f4-9dk2x/log"  # waiting after crashes
RUNNING_RESTARTED = "/api/v1/namespaces/demo/pods/rollouts-demo-7b6cd8d9f4-hq5lw/log"
STABLE = "/api/v1/namespaces/demo/pods/rollouts-demo-687d76d795-4bxkq/log"
APP = {"container": "rollouts-demo"}


@pytest.fixture
async def http(fake_kube: FakeKube) -> AsyncIterator[aiohttp.ClientSession]:
    fake_kube.load_demo()
    headers = {"Authorization": f"Bearer {fake_kube.token}"}
    async with aiohttp.ClientSession(base_url=fake_kube.url, headers=headers) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **query: str) -> tuple[int, str]:
    async with http.get(path, params=query) as response:
        if response.content_type == "application/json":
            return response.status, str((await response.json())["message"])
        return response.status, await response.text()


def pod(name: str, *, statuses: list[dict[str, Any]], node: str = "kind-worker") -> dict[str, Any]:
    template = copy.deepcopy(next(o for o in demo_objects() if o["kind"] == "Pod"))
    template["metadata"].update(name=name, uid=name)
    template["spec"]["nodeName"] = node
    template["status"]["containerStatuses"] = statuses
    return template


async def test_timestamps_have_nine_fraction_digits(http: aiohttp.ClientSession) -> None:
    _, text = await get(http, STABLE, timestamps="true", tailLines="2", **APP)
    stamps = [line.split(" ", 1)[0] for line in text.splitlines()]
    assert len(stamps) == 2 and all(len(s) == len("2026-03-02T10:04:58.123000000Z") for s in stamps)
    assert all(s.endswith("Z") and len(s.split(".")[1]) == 10 for s in stamps)  # 9 digits + Z


async def test_tail_is_taken_before_since(http: aiohttp.ClientSession) -> None:
    """The kubelet seeks the last N lines, then skips the old ones: never N lines after sinceTime."""
    _, everything = await get(http, STABLE, timestamps="true", **APP)
    lines = everything.splitlines()
    cut = lines[-5].split(" ")[0]
    _, text = await get(http, STABLE, tailLines="10", sinceTime=cut[:19] + "Z", timestamps="1", **APP)
    kept = text.splitlines()
    assert kept == [line for line in lines[-10:] if line.split(" ")[0][:19] >= cut[:19]]
    assert 5 <= len(kept) < 10


async def test_since_seconds_and_bad_options(http: aiohttp.ClientSession) -> None:
    status, text = await get(http, STABLE, sinceSeconds="60", **APP)  # the demo's logs are from March
    assert status == 200 and text == ""
    status, message = await get(http, STABLE, sinceSeconds="60", sinceTime="2026-03-02T10:00:00Z", **APP)
    assert status == 422 and "at most one of `sinceTime` or `sinceSeconds` may be specified" in message
    status, message = await get(http, STABLE, limitBytes="0", **APP)
    assert status == 422 and "limitBytes: Invalid value: 0: must be greater than 0" in message
    status, message = await get(http, STABLE, tailLines="-1", **APP)
    assert status == 422 and "must be greater than or equal to 0" in message


async def test_limit_bytes_cuts_mid_line(http: aiohttp.ClientSession) -> None:
    _, text = await get(http, STABLE, limitBytes="30", **APP)
    first, second = text.split("\n")
    assert len(text.encode()) == 30 and first == "Started server on :8080" and second == "GET /c"


async def test_previous_only_for_a_restarted_container(http: aiohttp.ClientSession) -> None:
    status, message = await get(http, STABLE, previous="true", **APP)
    pod_name = "rollouts-demo-687d76d795-4bxkq"
    assert (status, message) == (
        400,
        f'previous terminated container "rollouts-demo" in pod "{pod_name}" not found',
    )
    status, previous = await get(http, RUNNING_RESTARTED, previous="true", **APP)
    _, current = await get(http, RUNNING_RESTARTED, **APP)
    assert status == 200 and "index out of range" in previous and previous != current


async def test_crash_loop_serves_the_last_crash_as_current(http: aiohttp.ClientSession) -> None:
    _, current = await get(http, CRASHLOOP, **APP)
    _, previous = await get(http, CRASHLOOP, previous="true", **APP)
    assert current == previous and "panic: runtime error" in current


async def test_container_choice_and_init_containers(http: aiohttp.ClientSession) -> None:
    status, message = await get(http, STABLE)
    assert status == 400 and message == (
        "a container name must be specified for pod rollouts-demo-687d76d795-4bxkq, choose one of: "
        "[rollouts-demo istio-proxy] or one of the init containers: [istio-init]"
    )
    status, message = await get(http, STABLE, container="nope")
    assert (status, message) == (400, "container nope is not valid for pod rollouts-demo-687d76d795-4bxkq")
    status, text = await get(http, STABLE, container="istio-init")  # completed: its (empty) log
    assert (status, text) == (200, "")


@pytest.mark.parametrize(
    ("waiting", "text"),
    [
        ("ContainerCreating", "is waiting to start: ContainerCreating"),
        ("ImagePullBackOff", "is waiting to start: trying and failing to pull image"),
        ("ErrImagePull", "is waiting to start: image can't be pulled"),
        ("CreateContainerConfigError", "is waiting to start: CreateContainerConfigError"),
    ],
)
async def test_a_container_that_never_ran_is_400(
    fake_kube: FakeKube, http: aiohttp.ClientSession, waiting: str, text: str
) -> None:
    state = {"state": {"waiting": {"reason": waiting}}, "restartCount": 0}
    fake_kube.add(pod("never-ran", statuses=[{"name": "rollouts-demo", **state}]))
    path = "/api/v1/namespaces/demo/pods/never-ran/log"
    assert await get(http, path, **APP) == (400, f'container "rollouts-demo" in pod "never-ran" {text}')
    status, message = await get(http, path, previous="true", **APP)
    assert status == 400 and message.startswith("previous terminated container")


async def test_an_unscheduled_pod_has_an_empty_log(fake_kube: FakeKube, http: aiohttp.ClientSession) -> None:
    fake_kube.add(pod("pending", statuses=[], node=""))
    assert await get(http, "/api/v1/namespaces/demo/pods/pending/log", **APP) == (200, "")


async def test_recent_demo_and_node_skew(fake_kube: FakeKube) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    shift = load_recent_demo(
        fake_kube, aborted_ago=timedelta(minutes=3), node_skew={"kind-worker": timedelta(minutes=-5)}, now=now
    )
    crashloop = fake_kube.get("Pod", "demo", "rollouts-demo-7b6cd8d9f4-9dk2x")  # on kind-worker
    created = datetime.fromisoformat(crashloop["metadata"]["creationTimestamp"])
    assert now - timedelta(minutes=6) < created < now  # created minutes ago by the API server's clock
    lines = fake_kube.logs.lines[("demo", crashloop["metadata"]["name"], "rollouts-demo", True)]
    assert all(line.time < created for line in lines)  # its node's clock is 5 minutes behind
    other = fake_kube.logs.lines[("demo", "rollouts-demo-7b6cd8d9f4-hq5lw", "rollouts-demo", True)]
    assert all(line.time > created for line in other)  # kind-worker2 keeps time
    assert shift > timedelta(days=1)
