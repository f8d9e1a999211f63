"""The Argo Rollouts notification entries (k8s/argo-rollouts/): one webhook service, one template per event
rendering exactly the documented body, and the built-in triggers sending to them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import yaml

from app.rollouts.notification import NotificationEvent, parse_notification
from tests.k8s.manifests import (
    DEMO_NOTIFICATION,
    EVENTS,
    NOTIFICATIONS_CONFIGMAP,
    NOTIFICATIONS_SECRET,
    docs,
    in_cluster_url,
    one,
    url_path,
)
from tests.k8s.test_manifests import routes

TO_JSON = "{{toJson .rollout}}"
NOW = '{{ now | date "2006-01-02T15:04:05Z07:00" }}'  # Sprig's `date`, Go's RFC3339 layout
WHEN = "2026-03-02T10:02:17Z"


def data() -> dict[str, str]:
    configmap = one(NOTIFICATIONS_CONFIGMAP, "ConfigMap")
    assert configmap["metadata"] == {
        "name": "argo-rollouts-notification-configmap",
        "namespace": "argo-rollouts",
    }
    entries: dict[str, str] = configmap["data"]
    return entries


def webhook(event: str) -> dict[str, Any]:
    template = yaml.safe_load(data()[f"template.fixloop-{event}"])
    assert set(template) == {"webhook"}, template  # no message/slack/email parts
    assert set(template["webhook"]) == {"fixloop"}
    hook: dict[str, Any] = template["webhook"]["fixloop"]
    return hook


def render(body: str, rollout: dict[str, Any], when: str) -> str:
    """What the notifications engine's Go text/template produces: the only two actions the body uses."""
    assert body.count(TO_JSON) == 1 and body.count(NOW) == 1, body
    rest = body.replace(TO_JSON, "").replace(NOW, "")
    assert "{{" not in rest and "}}" not in rest, body  # no other action left unrendered
    return body.replace(TO_JSON, json.dumps(rollout)).replace(NOW, when)


def demo_rollout() -> dict[str, Any]:
    rollout: dict[str, Any] = json.loads(DEMO_NOTIFICATION.read_text(encoding="utf-8"))["rollout"]
    return rollout


def test_the_events_are_the_ones_the_app_parses() -> None:
    assert set(EVENTS) == {event.value for event in NotificationEvent}


def test_the_configmap_holds_only_fixloop_keys() -> None:
    expected = {"service.webhook.fixloop"}
    expected |= {f"template.fixloop-{event}" for event in EVENTS}
    expected |= {f"trigger.on-{event}" for event in EVENTS}
    assert set(data()) == expected


def test_webhook_service_posts_to_the_notify_route_with_the_token() -> None:
    service = yaml.safe_load(data()["service.webhook.fixloop"])
    assert (
        service["url"]
        == in_cluster_url("/rollouts/notify")
        == "http://fixloop.fixloop.svc:8080/rollouts/notify"
    )
    assert ("POST", url_path(service["url"])) in routes()
    headers = {h["name"]: h["value"] for h in service["headers"]}
    assert headers == {"Authorization": "Bearer $fixloop-notify-token", "Content-Type": "application/json"}
    secret = one(NOTIFICATIONS_SECRET, "Secret")
    assert secret["metadata"] == {"name": "argo-rollouts-notification-secret", "namespace": "argo-rollouts"}
    assert set(secret["stringData"]) == {"fixloop-notify-token"}


@pytest.mark.parametrize("event", EVENTS)
def test_trigger_sends_the_fixloop_template(event: str) -> None:
    # Built-in trigger names: no `when`, the controller fires them on the event itself.
    assert yaml.safe_load(data()[f"trigger.on-{event}"]) == [{"send": [f"fixloop-{event}"]}]


@pytest.mark.parametrize("event", EVENTS)
def test_template_posts_exactly_the_documented_body(event: str) -> None:
    hook = webhook(event)
    assert set(hook) == {"method", "body"}  # no `path`: the service URL is the route
    assert hook["method"] == "POST"
    assert hook["body"].strip() == f'{{"event": "{event}", "rollout": {TO_JSON}, "time": "{NOW}"}}'


@pytest.mark.parametrize("event", EVENTS)
def test_rendered_body_is_json_the_app_accepts(event: str) -> None:
    rollout = demo_rollout()
    body = json.loads(render(webhook(event)["body"], rollout, WHEN))
    assert list(body) == ["event", "rollout", "time"]
    assert body == {"event": event, "rollout": rollout, "time": WHEN}
    datetime.fromisoformat(body["time"])  # RFC3339
    notification = parse_notification(body)
    assert notification.event == NotificationEvent(event)
    assert (notification.namespace, notification.name) == ("demo", "rollouts-demo")
    assert notification.rollout == rollout and notification.time == WHEN


def test_rendered_abort_is_the_demo_notification() -> None:
    demo = json.loads(DEMO_NOTIFICATION.read_text(encoding="utf-8"))
    body = json.loads(render(webhook("rollout-aborted")["body"], demo["rollout"], demo["time"]))
    assert body == demo


def test_subscriptions_of_the_sample_rollout_match_the_triggers() -> None:
    (rollout,) = docs("examples/rollout.yaml")
    prefix = "notifications.argoproj.io/subscribe."
    subscriptions = {
        key.removeprefix(prefix): value
        for key, value in rollout["metadata"]["annotations"].items()
        if key.startswith(prefix)
    }
    assert subscriptions == {f"on-{event}.fixloop": "" for event in EVENTS}  # webhook: no recipient
    triggers = {key.removeprefix("trigger.") for key in data() if key.startswith("trigger.")}
    services = {key.removeprefix("service.webhook.") for key in data() if key.startswith("service.webhook.")}
    for subscription in subscriptions:
        trigger, service = subscription.split(".")
        assert trigger in triggers and service in services
