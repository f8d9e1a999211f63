"""Typed view of an Argo Rollouts ``Rollout`` object, parsed in one place.

The object comes from the Kubernetes API or from a notification body (``toJson .rollout``); both are the
same camelCase JSON. A field of the wrong type raises ``PermanentError`` naming the field, so a shape
change fails here instead of as a ``KeyError`` in a handler. Annotation values are untrusted text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.errors import PermanentError

# Annotations read by the app (set by the team that owns the Rollout).
ANNOTATION_REPO = "fixloop.dev/repo"
ANNOTATION_AGENT = "fixloop.dev/agent"
ANNOTATION_BASE_BRANCH = "fixloop.dev/base-branch"
ANNOTATION_IMAGE = "fixloop.dev/image"
# Annotations written by the app.
ANNOTATION_INCIDENT = "fixloop.dev/incident"
ANNOTATION_FIX_PR = "fixloop.dev/fix-pr"
ANNOTATION_FIX_SHA = "fixloop.dev/fix-sha"
READ_ANNOTATIONS = (ANNOTATION_REPO, ANNOTATION_AGENT, ANNOTATION_BASE_BRANCH, ANNOTATION_IMAGE)
WRITTEN_ANNOTATIONS = (ANNOTATION_INCIDENT, ANNOTATION_FIX_PR, ANNOTATION_FIX_SHA)

# Label the Argo Rollouts controller puts on ReplicaSets, pods and AnalysisRuns of one revision.
POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"
ROLLOUT_API_VERSION = "argoproj.io/v1alpha1"

# GitHub: owner 1-39 chars of [A-Za-z0-9-], repository name 1-100 chars of [A-Za-z0-9._-].
_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_FINGERPRINT_LEN = 16
# A branch name git accepts (git check-ref-format): no spaces, controls or ~^:?*[\, no "..", "@{" or "//",
# no leading "-", "/" or ".", no trailing "/", "." or ".lock".
_BRANCH_RE = re.compile(r"^(?![-/.])(?!.*(?:\.\.|@\{|//|/\.|\.lock$|[/.]$))[^\x00-\x20\x7f~^:?*\[\\]{1,255}$")

T = TypeVar("T")
D = TypeVar("D")


@dataclass(frozen=True)
class RolloutRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class WorkloadRef:
    """``spec.workloadRef``: the pod template lives in another object (usually a Deployment)."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class RolloutView:
    name: str
    namespace: str
    uid: str = ""
    generation: int = 0
    resource_version: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    selector: Mapping[str, str] = field(default_factory=dict)  # spec.selector.matchLabels
    repo: str | None = None  # fixloop.dev/repo when it is a valid owner/name
    agent: str = ""
    base_branch: str = ""
    image_template: str = ""
    incident: str = ""
    fix_pr: str = ""
    fix_sha: str = ""
    phase: str = ""
    message: str = ""
    aborted: bool = False
    paused: bool = False
    current_pod_hash: str = ""
    stable_rs: str = ""
    strategy: str = ""  # canary | blueGreen | ""
    step_index: int | None = None  # status.currentStepIndex
    step_count: int = 0
    current_step: Mapping[str, Any] | None = None
    step_analysis_run: str = ""  # status.canary.currentStepAnalysisRunStatus.name
    containers: Mapping[str, str] = field(default_factory=dict)  # name -> image, from spec.template
    init_containers: Mapping[str, str] = field(default_factory=dict)
    workload_ref: WorkloadRef | None = None

    @property
    def ref(self) -> RolloutRef:
        return RolloutRef(self.namespace, self.name)

    @property
    def fix_pr_number(self) -> int | None:
        return int(self.fix_pr) if self.fix_pr.isdigit() else None


def parse_rollout(obj: Any) -> RolloutView:
    """Parse a Rollout dict; raise PermanentError naming the first malformed field."""
    if not isinstance(obj, Mapping):
        raise PermanentError("rollout: expected an object")
    kind = _get(obj, "kind", str, "Rollout")
    if kind != "Rollout":
        raise PermanentError(f"kind: expected Rollout, got {kind!r}")
    name = _get(obj, "metadata.name", str, "")
    namespace = _get(obj, "metadata.namespace", str, "")
    if not name or not namespace:
        raise PermanentError("metadata.name/metadata.namespace: required")
    annotations = _string_map(obj, "metadata.annotations")
    spec_containers, init_containers = _containers(obj)
    steps = _get(obj, "spec.strategy.canary.steps", list, [])
    step_index = _get(obj, "status.currentStepIndex", int, None)
    return RolloutView(
        name=name,
        namespace=namespace,
        uid=_get(obj, "metadata.uid", str, ""),
        generation=_get(obj, "metadata.generation", int, 0),
        resource_version=_get(obj, "metadata.resourceVersion", str, ""),
        annotations=annotations,
        labels=_string_map(obj, "metadata.labels"),
        selector=_string_map(obj, "spec.selector.matchLabels"),
        repo=valid_repo(annotations.get(ANNOTATION_REPO, "")),
        agent=annotations.get(ANNOTATION_AGENT, "").strip(),
        base_branch=valid_branch(annotations.get(ANNOTATION_BASE_BRANCH, "")),
        image_template=annotations.get(ANNOTATION_IMAGE, "").strip(),
        incident=annotations.get(ANNOTATION_INCIDENT, ""),
        fix_pr=annotations.get(ANNOTATION_FIX_PR, ""),
        fix_sha=annotations.get(ANNOTATION_FIX_SHA, ""),
        phase=_get(obj, "status.phase", str, ""),
        message=_get(obj, "status.message", str, ""),
        aborted=_get(obj, "status.abort", bool, False),
        paused=_get(obj, "spec.paused", bool, False),
        current_pod_hash=_get(obj, "status.currentPodHash", str, ""),
        stable_rs=_get(obj, "status.stableRS", str, ""),
        strategy=_strategy(obj),
        step_index=step_index,
        step_count=len(steps),
        current_step=_current_step(steps, step_index),
        step_analysis_run=_get(obj, "status.canary.currentStepAnalysisRunStatus.name", str, ""),
        containers=spec_containers,
        init_containers=init_containers,
        workload_ref=_workload_ref(obj),
    )


def valid_repo(value: str) -> str | None:
    """``owner/name`` if the annotation holds one, else None (no mapping, no action)."""
    value = value.strip()
    return value if _REPO_RE.fullmatch(value) and not value.endswith((".git", "/.", "/..")) else None


def valid_branch(value: str) -> str:
    """The annotation's branch name if git would accept it, else "" (the repository's default branch).

    The name goes to GitHub (Copilot's ``base_branch``): free text there could carry anything.
    """
    value = value.strip()
    return value if _BRANCH_RE.fullmatch(value) and value != "@" else ""


def fingerprint_text(view: RolloutView, cluster: str = "default") -> str:
    """The readable identity of a canary revision: ``[cluster:]ns/rollout@hash name=image,...``.

    The cluster ``default`` adds nothing: incidents opened before the cluster registry still match.
    """
    images = ",".join(f"{name}={image}" for name, image in sorted(view.containers.items()))
    text = f"{view.namespace}/{view.name}@{view.current_pod_hash or '-'}"
    text = text if cluster == "default" else f"{cluster}:{text}"
    return f"{text} {images}" if images else text


def fingerprint(view: RolloutView, cluster: str = "default") -> str:
    """Stable short id of (namespace, rollout, canary revision, canary images): a sha256 hex prefix.

    The pod-template hash already changes with the images; the images are added so that the fingerprint
    still tells revisions apart when the status has no hash yet, and image digests pin the exact build.
    """
    return hashlib.sha256(fingerprint_text(view, cluster).encode()).hexdigest()[:_FINGERPRINT_LEN]


def _get(obj: Mapping[str, Any], path: str, kind: type[T], default: D) -> T | D:
    node: Any = obj
    keys = path.split(".")
    for depth, key in enumerate(keys):
        if node is None:
            return default
        if not isinstance(node, Mapping):
            parent = ".".join(keys[:depth])
            raise PermanentError(f"{parent}: expected an object, got {type(node).__name__}")
        node = node.get(key)
    if node is None:
        return default
    # bool is an int in Python: keep them apart, a real API server does.
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        raise PermanentError(f"{path}: expected {kind.__name__}, got {type(node).__name__}")
    return node


def _string_map(obj: Mapping[str, Any], path: str) -> dict[str, str]:
    raw = _get(obj, path, dict, {})
    for key, value in raw.items():
        if not isinstance(value, str):
            raise PermanentError(f"{path}.{key}: expected str, got {type(value).__name__}")
    return dict(raw)


def _containers(obj: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    found: list[dict[str, str]] = []
    for key in ("containers", "initContainers"):
        path = f"spec.template.spec.{key}"
        images: dict[str, str] = {}
        for index, container in enumerate(_get(obj, path, list, [])):
            if not isinstance(container, Mapping):
                raise PermanentError(f"{path}[{index}]: expected an object")
            cname = _get(container, "name", str, "")
            if not cname:
                raise PermanentError(f"{path}[{index}].name: required")
            images[cname] = _get(container, "image", str, "")
        found.append(images)
    return found[0], found[1]


def _strategy(obj: Mapping[str, Any]) -> str:
    strategy = _get(obj, "spec.strategy", dict, {})
    return next((key for key in ("canary", "blueGreen") if key in strategy), "")


def _current_step(steps: list[Any], index: int | None) -> Mapping[str, Any] | None:
    if index is None or not 0 <= index < len(steps):
        return None
    step = steps[index]
    if not isinstance(step, Mapping):
        raise PermanentError(f"spec.strategy.canary.steps[{index}]: expected an object")
    return step


def _workload_ref(obj: Mapping[str, Any]) -> WorkloadRef | None:
    ref = _get(obj, "spec.workloadRef", dict, {})
    if not ref:
        return None
    return WorkloadRef(
        api_version=_get(ref, "apiVersion", str, ""),
        kind=_get(ref, "kind", str, ""),
        name=_get(ref, "name", str, ""),
    )
