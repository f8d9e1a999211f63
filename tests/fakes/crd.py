"""The Argo Rollouts CRD schemas, read in place from ``../shared/data/argo-rollouts/`` (never copied).

Each CRD's ``openAPIV3Schema`` is turned into a JSON Schema that ``jsonschema`` understands:
``x-kubernetes-int-or-string`` becomes integer-or-string, ``nullable`` admits null,
``x-kubernetes-preserve-unknown-fields`` keeps an object open. Objects that declare ``properties``
are closed (``additionalProperties: false``): a real API server prunes unknown fields silently, or
rejects them with ``fieldValidation=Strict``; the fake takes the strict reading, so a typo in a test
object or a patch fails loudly instead of vanishing. ``format`` (int32, date-time) is not checked.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = REPO_ROOT.parent / "shared" / "data" / "argo-rollouts"
CRD_FILES = {
    "Rollout": "rollout-crd.yaml",
    "AnalysisRun": "analysis-run-crd.yaml",
    "AnalysisTemplate": "analysis-template-crd.yaml",
}
API_VERSION = "argoproj.io/v1alpha1"
_DROPPED = {"description", "format", "default", "example", "externalDocs", "nullable"}


class CRDValidationError(ValueError):
    """The object does not satisfy its CRD schema; ``causes`` lists (field path, message)."""

    def __init__(self, kind: str, name: str, causes: list[tuple[str, str]]) -> None:
        self.kind = kind
        self.name = name
        self.causes = causes
        detail = "; ".join(f"{path}: {message}" for path, message in causes)
        super().__init__(f'{kind}.argoproj.io "{name}" is invalid: {detail}')


def crd_path(kind: str) -> Path:
    path = CRD_DIR / CRD_FILES[kind]
    if not path.is_file():
        raise FileNotFoundError(
            f"Argo Rollouts CRD schema not found at {path} (expected ../shared/data/argo-rollouts/ "
            "next to the repository; see its README). Tests that validate against the CRDs need it."
        )
    return path


@functools.cache
def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind`` (Rollout, AnalysisRun, AnalysisTemplate), converted once."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with crd_path(kind).open(encoding="utf-8") as handle:
        crd = yaml.load(handle, Loader=loader)  # noqa: S506 - a SafeLoader
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return _convert(schema)


@functools.cache
def _validator(kind: str) -> Draft7Validator:
    return Draft7Validator(json_schema(kind))


def validate(obj: dict[str, Any]) -> None:
    """Validate an argoproj.io object against its CRD; raise CRDValidationError listing every problem."""
    kind = obj.get("kind", "")
    name = (obj.get("metadata") or {}).get("name", "")
    causes: list[tuple[str, str]] = []
    if kind not in CRD_FILES:
        raise CRDValidationError(str(kind), name, [("kind", f"unknown kind {kind!r}")])
    if obj.get("apiVersion") != API_VERSION:
        causes.append(("apiVersion", f"must be {API_VERSION}"))
    if not name:
        causes.append(("metadata.name", "Required value"))
    for error in sorted(_validator(kind).iter_errors(obj), key=lambda e: list(map(str, e.path))):
        path = _field_path(error.absolute_path)
        causes.append((path, error.message))
    if causes:
        raise CRDValidationError(kind, name, causes)


def validate_rollout(obj: dict[str, Any]) -> None:
    _expect_kind(obj, "Rollout")
    validate(obj)


def validate_analysis_run(obj: dict[str, Any]) -> None:
    _expect_kind(obj, "AnalysisRun")
    validate(obj)


def validate_analysis_template(obj: dict[str, Any]) -> None:
    _expect_kind(obj, "AnalysisTemplate")
    validate(obj)


def _expect_kind(obj: dict[str, Any], kind: str) -> None:
    if obj.get("kind") != kind:
        name = (obj.get("metadata") or {}).get("name", "")
        raise CRDValidationError(kind, name, [("kind", f"expected {kind}, got {obj.get('kind')!r}")])


def _field_path(parts: Any) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return text.lstrip(".") or "<root>"


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [_convert(sub) for sub in value]
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
    if "properties" in node and not open_object:
        out["additionalProperties"] = False
    return out
