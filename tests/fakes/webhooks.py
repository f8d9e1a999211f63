"""Real webhook payloads (tests/fixtures/webhooks) and the headers GitHub sends with them.

payload = retarget(load_fixture("issues", "labeled"), repo="acme/web", installation_id=inst.id,
                   number=issue.number, sender="alice")
body, headers = delivery("issues", payload, secret)
await client.post("/github/webhook", data=body, headers=headers)
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import re
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
_NUMBERED = ("issue", "pull_request")


@functools.cache
def _read(name: str) -> dict[str, Any]:
    path = FIXTURES / name
    if not path.exists():
        known = sorted(p.name for p in FIXTURES.glob("*.json"))
        raise FileNotFoundError(f"no webhook fixture {name}; have {known}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def fixture_names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.json"))


def load_fixture(event: str, action: str | None = None, variant: str | None = None) -> dict[str, Any]:
    """A fresh deep copy of `<event>.<action>[.<variant>].json` (e.g. variant="merged")."""
    name = ".".join(part for part in (event, action, variant) if part) + ".json"
    return copy.deepcopy(_read(name))


def sign(body: bytes, secret: str) -> str:
    """The X-Hub-Signature-256 value GitHub computes: sha256=<hex HMAC of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(
    event: str, body: bytes, secret: str | None, delivery: str | None = None
) -> dict[str, str]:
    """The headers of a GitHub App delivery; `secret=None` leaves the signature out."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": "1",
    }
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    return headers


def delivery(
    event: str, payload: dict[str, Any], secret: str | None, delivery_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """Serialise `payload` and sign it: (body, headers), ready to POST."""
    body = json.dumps(payload).encode()
    return body, webhook_headers(event, body, secret, delivery_id)


def set_user(obj: dict[str, Any], login: str, *, type: str = "User", id: int | None = None) -> dict[str, Any]:
    """Point a user object (sender, issue.user, comment.user...) at `login`, urls included."""
    old = obj.get("login", "")
    for key, value in list(obj.items()):
        if isinstance(value, str) and key.endswith("url") and old:
            obj[key] = value.replace(f"/{old}", f"/{login}")
    obj.update(login=login, type=type)
    if id is not None:
        obj["id"] = id
    return obj


def _renumber(obj: dict[str, Any], old: int, new: int) -> None:
    pattern = re.compile(rf"/(issues|pull|pulls)/{old}(?=$|[/#.?])")
    for key, value in list(obj.items()):
        if isinstance(value, str) and key.endswith("url"):
            obj[key] = pattern.sub(lambda m: f"/{m[1]}/{new}", value)
        elif isinstance(value, dict) and key == "pull_request":
            _renumber(value, old, new)
    obj["number"] = new


def retarget(
    payload: dict[str, Any],
    *,
    repo: str | None = None,
    installation_id: int | None = None,
    number: int | None = None,
    sender: str | None = None,
    sender_type: str = "User",
) -> dict[str, Any]:
    """Aim a fixture at another repository / installation / issue or PR number / sender, in place."""
    if repo is not None and "repository" in payload:
        old = payload["repository"]["full_name"]
        owner, name = repo.split("/")
        text = json.dumps(payload)
        for before, after in ((f"/{old}", f"/{repo}"), (f":{old}", f":{repo}"), (f'"{old}"', f'"{repo}"')):
            text = text.replace(before, after)
        payload.clear()
        payload.update(json.loads(text))
        payload["repository"].update(name=name, full_name=repo)
        set_user(
            payload["repository"]["owner"], owner, type=payload["repository"]["owner"].get("type", "User")
        )
    if installation_id is not None:
        payload.setdefault("installation", {})["id"] = installation_id
        payload["installation"].setdefault(
            "node_id", f"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{installation_id}"
        )
    if number is not None:
        for key in _NUMBERED:
            if isinstance(payload.get(key), dict):
                _renumber(payload[key], payload[key]["number"], number)
        if "number" in payload:
            payload["number"] = number
    if sender is not None and "sender" in payload:
        set_user(payload["sender"], sender, type=sender_type)
    return payload
