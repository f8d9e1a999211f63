"""POST /github/webhook: verified, bounded, stored as one job per delivery, acknowledged at once."""

from __future__ import annotations

import json
import uuid

from tests.fakes.kube_demo import demo_notification
from tests.fakes.webhooks import load_fixture, sign, webhook_headers
from tests.harness import WEBHOOK_SECRET, AppHarness


async def test_signed_ping_is_answered(app_harness: AppHarness) -> None:
    response = await app_harness.post_webhook("ping", load_fixture("ping", None))
    assert response.status == 200
    assert (await response.json())["msg"] == "pong"


async def test_unsigned_delivery_is_401_with_reason(app_harness: AppHarness) -> None:
    body = json.dumps(load_fixture("issues", "opened")).encode()
    headers = webhook_headers("issues", body, WEBHOOK_SECRET)
    del headers["X-Hub-Signature-256"]
    response = await app_harness.client.post("/github/webhook", data=body, headers=headers)
    assert response.status == 401
    assert "missing X-Hub-Signature-256" in (await response.json())["error"]


async def test_wrongly_signed_delivery_is_401(app_harness: AppHarness) -> None:
    payload = load_fixture("issues", "opened")
    response = await app_harness.post_webhook("issues", payload, secret="not-the-secret")
    assert response.status == 401
    assert "does not match" in (await response.json())["error"]
    assert [j for j in await app_harness.services.store.list_jobs() if j.kind != "sweep"] == []


async def test_sha1_only_signature_is_refused(app_harness: AppHarness) -> None:
    body = b"{}"
    headers = webhook_headers("issues", body, WEBHOOK_SECRET)
    headers["X-Hub-Signature-256"] = "sha1=" + sign(body, WEBHOOK_SECRET).removeprefix("sha256=")
    response = await app_harness.client.post("/github/webhook", data=body, headers=headers)
    assert response.status == 401


async def test_body_over_25_mb_is_413(app_harness: AppHarness) -> None:
    body = b"{" + b" " * (30 * 1024 * 1024) + b"}"
    headers = webhook_headers("issues", body, WEBHOOK_SECRET)
    response = await app_harness.client.post("/github/webhook", data=body, headers=headers)
    assert response.status == 413
    assert "25 MB" in (await response.json())["error"]


async def test_signed_but_not_json_is_400(app_harness: AppHarness) -> None:
    body = b"not json"
    response = await app_harness.client.post(
        "/github/webhook", data=body, headers=webhook_headers("issues", body, WEBHOOK_SECRET)
    )
    assert response.status == 400
    assert "not JSON" in (await response.json())["error"]


async def test_missing_delivery_header_is_400(app_harness: AppHarness) -> None:
    body = b"{}"
    headers = webhook_headers("issues", body, WEBHOOK_SECRET)
    del headers["X-GitHub-Delivery"]
    response = await app_harness.client.post("/github/webhook", data=body, headers=headers)
    assert response.status == 400


async def test_delivery_is_stored_as_a_job_and_acknowledged(app_harness: AppHarness) -> None:
    delivery = str(uuid.uuid4())
    payload = load_fixture("issue_comment", "created")
    response = await app_harness.post_webhook("issue_comment", payload, delivery=delivery)
    assert response.status == 202
    answer = await response.json()
    assert answer["outcome"] == "queued"
    job = await app_harness.services.store.get_job(answer["job"])
    assert job is not None and job.key == delivery and job.payload["event"] == "issue_comment"
    assert job.payload["payload"] == payload, "the body is stored as received"


async def test_redelivery_of_the_same_delivery_is_one_job(app_harness: AppHarness) -> None:
    delivery = str(uuid.uuid4())
    payload = load_fixture("issue_comment", "created")
    first = await (await app_harness.post_webhook("issue_comment", payload, delivery=delivery)).json()
    second = await (await app_harness.post_webhook("issue_comment", payload, delivery=delivery)).json()
    assert second == {"job": first["job"], "outcome": "duplicate"}
    jobs = [j for j in await app_harness.services.store.list_jobs() if j.key == delivery]
    assert len(jobs) == 1


async def test_a_delivery_no_handler_reads_is_acknowledged_and_not_stored(app_harness: AppHarness) -> None:
    """The App is subscribed to whole events; `issues.opened` (every issue, Fixloop's own too) is not
    read by any handler: acknowledged, counted, never queued for a worker."""
    response = await app_harness.post_webhook("issues", load_fixture("issues", "opened"))
    assert response.status == 202
    assert await response.json() == {
        "outcome": "ignored",
        "reason": "Fixloop does not act on issues.opened: not stored",
    }
    assert [j for j in await app_harness.services.store.list_jobs() if j.kind != "sweep"] == []
    text = await (await app_harness.client.get("/metrics")).text()
    assert 'fixloop_webhook_deliveries_total{event="issues",outcome="ignored",source="github"} 1.0' in text


async def test_installation_event_runs_its_handler_through_the_queue(app_harness: AppHarness) -> None:
    payload = load_fixture("installation", "created")
    response = await app_harness.post_webhook("installation", payload)
    job_id = (await response.json())["job"]
    await app_harness.drain()
    job = await app_harness.services.store.get_job(job_id)
    assert job is not None and job.status == "done", job
    handler = "handler:app.loop.installations.note_installation_change"
    step = await app_harness.services.store.get_step(job_id, handler)
    assert step == {}


async def test_a_full_disk_is_503_with_a_reason_and_the_redelivery_is_stored(app_harness: AppHarness) -> None:
    """SQLite's own "database or disk is full" (its page limit set to the pages it has): the delivery is
    not acknowledged, the answer says why, and GitHub's redelivery is stored once there is room again."""
    store = app_harness.services.store
    pages = await store._db.fetchrow("PRAGMA page_count")
    assert pages is not None
    await store._db.fetchrow(f"PRAGMA max_page_count = {int(pages['page_count'])}")
    payload = load_fixture("issue_comment", "created")
    delivery = str(uuid.uuid4())
    refused = await app_harness.post_webhook("issue_comment", payload, delivery=delivery)
    assert refused.status == 503
    assert "could not be stored" in (await refused.json())["error"]
    assert "full" in (await refused.json())["error"]
    await store._db.fetchrow("PRAGMA max_page_count = 1073741823")
    stored = await app_harness.post_webhook("issue_comment", payload, delivery=delivery)
    assert stored.status == 202 and (await stored.json())["outcome"] == "queued"


async def test_a_notification_the_store_cannot_take_is_503(app_harness: AppHarness) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    app_harness.kube.load_demo()
    await app_harness.services.store.close()  # the store gone: SQLite's connection closed under the app
    refused = await app_harness.notify(demo_notification())
    assert refused.status == 503
    assert "not acknowledged" in (await refused.json())["error"]
    assert "closed" in (await refused.json())["error"]
