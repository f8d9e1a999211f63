"""Object storage of the fake Kubernetes API: resources, metadata bookkeeping, patch semantics.

Custom resources (argoproj.io) are validated against their CRD schema on create and after every patch
(422 on failure). Rollouts have a ``status`` subresource: a patch through the main resource ignores
status changes, a patch through ``/status`` ignores everything but status, as the API server does.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes import crd
from tests.fakes.kube_patch import PatchError, apply_patch
from tests.fakes.kube_select import field_matcher, label_matcher


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    status_subresource: bool = False
    validate: Callable[[dict[str, Any]], None] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def custom(self) -> bool:
        return self.validate is not None


RESOURCES = {
    r.plural: r
    for r in (
        Resource("pods", "Pod", "", "v1"),
        Resource("events", "Event", "", "v1"),
        Resource("replicasets", "ReplicaSet", "apps", "v1", status_subresource=True),
        Resource("rollouts", "Rollout", "argoproj.io", "v1alpha1", True, crd.validate_rollout),
        Resource("analysisruns", "AnalysisRun", "argoproj.io", "v1alpha1", True, crd.validate_analysis_run),
        Resource(
            "analysistemplates",
            "AnalysisTemplate",
            "argoproj.io",
            "v1alpha1",
            False,
            crd.validate_analysis_template,
        ),
    )
}
BY_KIND = {r.kind: r for r in RESOURCES.values()}


class ApiError(Exception):
    """Rendered by the server as a ``kind: Status`` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(res: Resource, name: str) -> ApiError:
    group = f".{res.group}" if res.group else ""
    return ApiError(
        404, "NotFound", f'{res.plural}{group} "{name}" not found', {"name": name, "kind": res.plural}
    )


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Write = Callable[[dict[str, Any]], None]  # changes a stored object in place, as another client would


class Store:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._versions = itertools.count(1000)
        self._races: dict[tuple[str, str, str], list[Write]] = {}

    def race(self, res: Resource, namespace: str, name: str, writes: list[Write]) -> None:
        """The next ``len(writes)`` resourceVersion-guarded patches of the object lose a race: just before
        each one is applied, another writer (the Argo controller updating the status, a GitOps sync)
        stores its own change, which moves the resourceVersion, and the patch gets 409 Conflict."""
        self._races.setdefault((res.plural, namespace, name), []).extend(writes)

    def write(self, res: Resource, namespace: str, name: str, change: Write) -> dict[str, Any]:
        """Another client's update: ``change`` applied to the stored object, validated, version moved."""
        current = self.get(res, namespace, name)
        updated = copy.deepcopy(current)
        change(updated)
        return self._store_update(res, namespace, name, current, updated)

    def _lose_race(self, res: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        queued = self._races.get((res.plural, namespace, name))
        if not queued:
            return None
        return self.write(res, namespace, name, queued.pop(0))

    def _next_version(self) -> str:
        return str(next(self._versions))

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create (or replace) an object; fills uid, resourceVersion, generation, creationTimestamp."""
        res = BY_KIND.get(obj.get("kind", ""))
        if res is None:
            raise ValueError(f"the fake serves no kind {obj.get('kind')!r}")
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", res.api_version)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339())
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._next_version()
        self._validate(res, obj)
        self.objects[(res.plural, meta["namespace"], meta["name"])] = obj
        return copy.deepcopy(obj)

    def get(self, res: Resource, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((res.plural, namespace, name))
        if obj is None:
            raise not_found(res, name)
        return copy.deepcopy(obj)

    def list(
        self, res: Resource, namespace: str | None, labels: str = "", fields: str = ""
    ) -> list[dict[str, Any]]:
        try:
            match_labels = label_matcher(labels)
            match_fields = field_matcher(res.plural, fields)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from None
        found = [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in sorted(self.objects.items())
            if plural == res.plural and namespace in (None, ns) and match_labels(obj) and match_fields(obj)
        ]
        return found

    def patch(  # noqa: PLR0917 - mirrors the API path: resource, namespace, name, subresource, type, body
        self, res: Resource, namespace: str, name: str, subresource: str, content_type: str, raw: bytes
    ) -> dict[str, Any]:
        current = self.get(res, namespace, name)
        if subresource and not (subresource == "status" and res.status_subresource):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        try:
            patched = apply_patch(content_type, current, raw, custom=res.custom)
        except PatchError as exc:
            reason = {400: "BadRequest", 415: "UnsupportedMediaType"}.get(exc.status, "Invalid")
            raise ApiError(exc.status, reason, str(exc)) from None
        wanted = (patched.get("metadata") or {}).get("resourceVersion")
        if _sends_version(raw):  # the other writer got in between this client's read and its patch
            current = self._lose_race(res, namespace, name) or current
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            group = f".{res.group}" if res.group else ""
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.plural}{group} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                {"name": name, "group": res.group, "kind": res.plural},
            )
        updated = _scope(res, subresource, current, patched)
        if updated == current:
            return current
        return self._store_update(res, namespace, name, current, updated)

    def _store_update(
        self, res: Resource, namespace: str, name: str, current: dict[str, Any], updated: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a changed object as the apiserver does: generation moves with the spec, version always."""
        if updated.get("spec") != current.get("spec"):
            updated["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        self._validate(res, updated)
        updated["metadata"]["resourceVersion"] = self._next_version()
        self.objects[(res.plural, namespace, name)] = updated
        return copy.deepcopy(updated)

    @staticmethod
    def _validate(res: Resource, obj: dict[str, Any]) -> None:
        if res.validate is None:
            return
        try:
            res.validate(obj)
        except crd.CRDValidationError as exc:
            causes = [{"field": path, "message": message} for path, message in exc.causes]
            details = {"name": exc.name, "group": res.group, "kind": res.kind, "causes": causes}
            raise ApiError(422, "Invalid", str(exc), details) from None


def _sends_version(raw: bytes) -> bool:
    """Whether a merge patch carries ``metadata.resourceVersion`` (the optimistic-concurrency guard)."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return False
    return isinstance(body, dict) and "resourceVersion" in (body.get("metadata") or {})


def _scope(
    res: Resource, subresource: str, current: dict[str, Any], patched: dict[str, Any]
) -> dict[str, Any]:
    """Keep what the endpoint may change: status via /status, everything else via the main resource."""
    if res.status_subresource and subresource == "status":
        updated = copy.deepcopy(current)
        if "status" in patched:
            updated["status"] = patched["status"]
        else:
            updated.pop("status", None)
        return updated
    updated = copy.deepcopy(patched)
    if res.status_subresource:
        if "status" in current:
            updated["status"] = copy.deepcopy(current["status"])
        else:
            updated.pop("status", None)
    meta = updated.setdefault("metadata", {})
    for key in ("name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"):
        if key in current["metadata"]:
            meta[key] = current["metadata"][key]
    updated["apiVersion"], updated["kind"] = current["apiVersion"], current["kind"]
    return updated
