"""POST /rollouts/notify: bearer-checked, bounded, validated; every refusal names its reason."""

from __future__ import annotations

import json

import pytest

from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import demo_notification, seed


async def test_missing_token_is_401(app_harness: AppHarness) -> None:
    answer = await app_harness.notify(demo_notification(), token=None)
    assert answer.status == 401
    assert "Bearer" in (await answer.json())["error"]


async def test_wrong_token_is_401(app_harness: AppHarness) -> None:
    answer = await app_harness.notify(demo_notification(), token="guess")
    assert answer.status == 401


async def test_body_over_5_mb_is_413(app_harness: AppHarness) -> None:
    answer = await app_harness.notify(b'{"event": "' + b"x" * (6 * 1024 * 1024) + b'"}')
    assert answer.status == 413
    assert "5 MB" in (await answer.json())["error"]


async def test_malformed_json_is_400(app_harness: AppHarness) -> None:
    answer = await app_harness.notify(b"{not json")
    assert answer.status == 400
    assert "not JSON" in (await answer.json())["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"event": "rollout-exploded", "namespace": "demo", "name": "x"}, "unknown event"),
        ({"namespace": "demo", "name": "x"}, "missing field: event"),
        ({"event": "rollout-aborted", "namespace": "demo"}, "missing field(s): name"),
        ({"event": "rollout-aborted", "rollout": {"metadata": {"name": "x"}}}, "rollout.metadata.namespace"),
        ({"event": "rollout-aborted", "rollout": "nope"}, "'rollout' must be the Rollout object"),
        ({"event": "rollout-aborted", "namespace": "Demo_NS", "name": "x"}, "not a valid Kubernetes name"),
        (
            {"event": "rollout-aborted", "namespace": "demo", "name": "../../secrets"},
            "not a valid Kubernetes name",
        ),
        ({"event": "rollout-aborted", "rollout": {"kind": "Deployment", "metadata": {}}}, "expected Rollout"),
        (["a", "list"], "must be a JSON object"),
    ],
)
async def test_bad_bodies_are_422_naming_the_problem(
    app_harness: AppHarness, body: object, reason: str
) -> None:
    answer = await app_harness.notify(json.dumps(body).encode())
    assert answer.status == 422
    assert reason in (await answer.json())["error"]


async def test_names_only_body_is_accepted_and_read_from_the_api(app_harness: AppHarness) -> None:
    seed(app_harness)
    answer = await app_harness.notify(
        {"event": "rollout-aborted", "namespace": "demo", "name": "rollouts-demo"}
    )
    assert answer.status == 202
    assert (await answer.json())["outcome"] == "queued"
    await app_harness.drain()
    assert len(await app_harness.services.store.list_incidents()) == 1


async def test_identical_retry_is_one_job(app_harness: AppHarness) -> None:
    seed(app_harness)
    first = await (await app_harness.notify(demo_notification())).json()
    second = await (await app_harness.notify(demo_notification())).json()
    assert second == {"outcome": "duplicate", "job": first["job"]}
