"""The Rollout actions as ``kubectl argo rollouts`` performs them, as merge patches (pure functions).

Source: argo-rollouts ``pkg/kubectl-argo-rollouts/cmd/{abort,retry,promote,restart,set}``. Status
fields go through the ``status`` subresource, spec fields through the main resource.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from app.errors import PermanentError

Patch = dict[str, Any]

ABORT: Patch = {"status": {"abort": True}}
RETRY: Patch = {"status": {"abort": False}}
PROMOTE_FULL: Patch = {"status": {"promoteFull": True}}
UNPAUSE: Patch = {"spec": {"paused": False}}


def promote_patches(rollout: Mapping[str, Any], *, full: bool) -> tuple[Patch | None, Patch | None]:
    """(spec patch, status patch) of ``promote`` / ``promote --full``; the status patch goes first.

    Plain promote unpauses the spec, and either clears the pause conditions or, for a canary paused in
    an analysis or experiment step, moves to the next step. Full promote is a no-op when the canary is
    already the stable revision.
    """
    spec = rollout.get("spec") or {}
    status = rollout.get("status") or {}
    if full:
        if status.get("currentPodHash") != status.get("stableRS"):
            return None, copy.deepcopy(PROMOTE_FULL)
        return None, None
    spec_patch = copy.deepcopy(UNPAUSE) if spec.get("paused") else None
    status_patch: Patch | None = None
    steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
    if status.get("pauseConditions"):
        status_patch = {"status": {"pauseConditions": None}}
    elif steps:
        index = status.get("currentStepIndex") or 0
        next_index = index + 1 if index < len(steps) else index
        status_patch = {"status": {"pauseConditions": None, "currentStepIndex": next_index}}
    return spec_patch, status_patch


def restart_patch(at: datetime | None = None) -> Patch:
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"restartAt": when}}


def set_image_patch(rollout: Mapping[str, Any], container: str, image: str) -> Patch:
    """Replace the image of ``container`` (regular or init) in ``spec.template``.

    A merge patch replaces whole lists, so the patch carries the full container lists as read, guarded
    by ``metadata.resourceVersion``: a concurrent change makes the API server answer 409 Conflict
    instead of being overwritten (kubectl does a read-modify-update with the same guarantee).
    """
    spec = rollout.get("spec") or {}
    if spec.get("workloadRef"):
        ref = spec["workloadRef"]
        raise PermanentError(
            f"set image: the rollout takes its pod template from {ref.get('kind')}/{ref.get('name')} "
            "(spec.workloadRef); change the image there"
        )
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    changed: dict[str, list[dict[str, Any]]] = {}
    for key in ("initContainers", "containers"):
        items = copy.deepcopy(pod_spec.get(key) or [])
        hits = [item for item in items if item.get("name") == container]
        for item in hits:
            item["image"] = image
        if hits:
            changed[key] = items
    if not changed:
        name = (rollout.get("metadata") or {}).get("name", "")
        raise PermanentError(f'set image: rollout "{name}" has no container named "{container}"')
    version = (rollout.get("metadata") or {}).get("resourceVersion", "")
    return {"metadata": {"resourceVersion": version}, "spec": {"template": {"spec": changed}}}


@dataclass(frozen=True)
class ImageBase:
    """What a ``set image`` was decided on: the Rollout's revision and the container's image then."""

    revision: str  # status.currentPodHash: the pod template's hash, moved only by a template change
    image: str | None  # the container's image; None when there is no such container

    @classmethod
    def of(cls, rollout: Mapping[str, Any], container: str) -> ImageBase:
        return cls(
            str((rollout.get("status") or {}).get("currentPodHash") or ""), image_of(rollout, container)
        )


class ImageCheck(StrEnum):
    APPLY = "apply"  # still on the revision and image decided on: (re-)apply the change
    APPLIED = "applied"  # the container already runs the new image: nothing to do
    MOVED = "moved"  # someone else changed the template or the revision: ours no longer applies


def image_of(rollout: Mapping[str, Any], container: str) -> str | None:
    pod_spec = ((rollout.get("spec") or {}).get("template") or {}).get("spec") or {}
    for key in ("containers", "initContainers"):
        for item in pod_spec.get(key) or []:
            if item.get("name") == container:
                return str(item.get("image") or "")
    return None


def check_image_change(
    rollout: Mapping[str, Any], container: str, image: str, base: ImageBase
) -> tuple[ImageCheck, str]:
    """Whether the change decided on ``base`` still holds for ``rollout`` as read now, and why not.

    After a 409 the re-read Rollout is usually the same but for its status and resourceVersion (the
    controller writes both all the time): then the change is applied again. Another writer's template
    change (a new image, another revision) is theirs to keep: Fixloop does not overwrite it.
    """
    current = image_of(rollout, container)
    if current == image:
        return ImageCheck.APPLIED, ""
    if current != base.image:
        return ImageCheck.MOVED, f"the image of {container} changed to {current or 'nothing'} meanwhile"
    revision = str((rollout.get("status") or {}).get("currentPodHash") or "")
    if revision != base.revision:
        return (
            ImageCheck.MOVED,
            f"the Rollout moved from revision {base.revision or '-'} to {revision or '-'}",
        )
    return ImageCheck.APPLY, ""
