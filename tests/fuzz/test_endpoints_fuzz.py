"""Fuzz the public endpoints: whatever arrives, the answer is a 2xx/4xx with a reason, never a 500 or a hang."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.webhooks import webhook_headers
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET, AppHarness

EVENTS = ["rollout-aborted", "analysis-run-failed", "rollout-completed", "rollout-paused", "x", ""]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
notification_like = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(EVENTS) | st.text(max_size=20),
        "namespace": st.text(max_size=70),
        "name": st.text(max_size=70),
        "time": json_values,
        "rollout": json_values | st.fixed_dictionaries({"kind": st.just("Rollout"), "metadata": json_values}),
    },
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def _status(
    app_harness: AppHarness, method: str, path: str, body: bytes, headers: dict[str, str]
) -> int:
    async with asyncio.timeout(10):  # a hang fails the test
        answer = await app_harness.client.request(method, path, data=body, headers=headers)
        if answer.status >= 400:
            assert (await answer.json())["error"], "every refusal says why"
        return answer.status


@FUZZ
@given(body=notification_like | json_values, raw=st.booleans())
async def test_notify_never_500(app_harness: AppHarness, body: Any, raw: bool) -> None:
    data = json.dumps(body).encode()[:-1] if raw else json.dumps(body).encode()  # raw: broken JSON
    headers = {"Authorization": f"Bearer {NOTIFY_TOKEN}", "Content-Type": "application/json"}
    assert await _status(app_harness, "POST", "/rollouts/notify", data, headers) < 500


@FUZZ
@given(
    body=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()),
    event=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30),
)
async def test_github_webhook_never_500(app_harness: AppHarness, body: bytes, event: str) -> None:
    headers = webhook_headers("issues", body, WEBHOOK_SECRET)
    headers["X-GitHub-Event"] = event or "issues"
    assert await _status(app_harness, "POST", "/github/webhook", body, headers) < 500
    await app_harness.drain()


@FUZZ
@given(namespace=st.text(max_size=70), rollout=st.text(max_size=70), method=st.sampled_from(["GET", "POST"]))
async def test_gate_never_500(app_harness: AppHarness, namespace: str, rollout: str, method: str) -> None:
    path = f"/analysis/{namespace or 'x'}/{rollout or 'y'}".replace("?", "").replace("#", "")
    headers = {"Authorization": f"Bearer {NOTIFY_TOKEN}"}
    assert await _status(app_harness, method, path, b"", headers) < 500
