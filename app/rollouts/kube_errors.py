"""Errors of the Kubernetes adapter, in the app's vocabulary, and the HTTP status that maps to each."""

from __future__ import annotations

import json

from app.errors import PermanentError, TransientError


class KubeForbidden(PermanentError):
    """401/403: the service account lacks a permission (see k8s/rbac.yaml)."""


class KubeNotFound(PermanentError):
    """404: the object (or the API) does not exist."""


class KubeInvalid(PermanentError):
    """400/405/415/422: the request itself is wrong; retrying will not help."""


class KubeConflict(TransientError):
    """409: the object changed under us; re-read and try again."""


class RolloutMoved(PermanentError):
    """A guarded change no longer applies: another writer changed what it was decided on."""


class KubeUnavailable(TransientError):
    """5xx, 429, timeout or connection failure, after the retries."""


def http_error(verb: str, what: str, status: int, body: bytes, retry_after: str | None) -> Exception:
    try:
        message = str(json.loads(body).get("message", "")) or body.decode(errors="replace")[:300]
    except (ValueError, AttributeError):
        message = body.decode(errors="replace")[:300]
    text = f"{verb} {what}: HTTP {status}: {message}".rstrip(": ")
    if status in (401, 403):
        return KubeForbidden(text)
    if status == 404:
        return KubeNotFound(text)
    if status == 409:
        return KubeConflict(text)
    if status == 429 or status >= 500 or status == 0:
        return KubeUnavailable(text, retry_after=_seconds(retry_after))
    return KubeInvalid(text)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def outcome(error: Exception) -> str:
    names = {KubeForbidden: "forbidden", KubeNotFound: "not_found", KubeConflict: "conflict"}
    if isinstance(error, KubeUnavailable):
        return "timeout" if "timed out" in str(error) else "unavailable"
    return names.get(type(error), "invalid")
