"""Validate GitHub REST requests and responses against the pinned OpenAPI subset.

The subset (tests/fixtures/openapi/github-subset.json, written by tools/gen_openapi_subset.py) holds
only the operations Fixloop uses, so a request to any other operation is a violation too. The
description is loaded once per process, with spec validation off (it is GitHub's own, checked
upstream).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jsonschema.exceptions import best_match
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SUBSET_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "openapi" / "github-subset.json"
SERVER = "https://api.github.com"
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
# Path parameters that GitHub accepts with raw slashes in them ("contents/.github/fixloop.yml").
_GREEDY_PARAMS = {"path"}
_BLANK_TIME = "2024-01-01T00:00:00Z"


class OpenAPIViolation(AssertionError):
    """A request or response that GitHub's description does not allow."""


@dataclass(frozen=True)
class Match:
    """The operation a request matched."""

    method: str
    template: str
    params: dict[str, str]
    request: Any = field(default=None, compare=False, repr=False)

    @property
    def operation(self) -> dict[str, Any]:
        found: dict[str, Any] = spec()["paths"][self.template][self.method]
        return found


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SUBSET_PATH.read_text())
    return loaded


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec(), config=Config(spec_validator_cls=None))


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in spec()["paths"]:
        regex = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>{'.+' if m[1] in _GREEDY_PARAMS else '[^/]+'})",
            template,
        )
        routes.append((re.compile(f"^{regex}$"), template))
    # Literal segments win over parameters: fewer parameters first.
    routes.sort(key=lambda route: (route[1].count("{"), -len(route[1])))
    return routes


def resolve(node: Any) -> Any:
    """Follow a local `$ref` (one level at a time, until a non-ref node)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def match(method: str, raw_path: str) -> Match:
    """Find the operation for `method` and the percent-encoded `raw_path`, or raise."""
    method = method.lower()
    for regex, template in _routes():
        found = regex.match(raw_path)
        if not found:
            continue
        if method not in spec()["paths"][template]:
            continue
        return Match(method, template, {k: unquote(v) for k, v in found.groupdict().items()})
    raise OpenAPIViolation(f"{method.upper()} {raw_path}: no such operation in the GitHub OpenAPI subset")


def _declared_params(found: Match, where: str) -> set[str]:
    item = spec()["paths"][found.template]
    params = [resolve(p) for p in item.get("parameters", []) + found.operation.get("parameters", [])]
    return {p["name"] for p in params if p["in"] == where}


def _canonical_path(found: Match) -> str:
    def fill(m: re.Match[str]) -> str:
        return quote(found.params[m[1]], safe="")

    return re.sub(r"\{(\w+)\}", fill, found.template)


def _error_text(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    errors = list(getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None) or ())
    if not errors:
        extra = (
            f" ({type(cause).__name__}: {cause})" if cause is not None and str(cause) not in str(exc) else ""
        )
        return f"{type(exc).__name__}: {exc}{extra}"
    details = []
    for error in errors:
        error = best_match(error.context) if error.context else error  # noqa: PLW2901 - the deepest cause
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        details.append(f"at {where}: {error.message[:300]}")
    return f"{type(exc).__name__}: {str(exc)[:200]}: " + "; ".join(details)


def check_request(
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]] = (),
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
) -> Match:
    """Validate one request; return the matched operation or raise OpenAPIViolation."""
    found = match(method, raw_path)
    where = f"{method.upper()} {raw_path}"
    pairs = list(query)
    unknown = sorted({name for name, _ in pairs} - _declared_params(found, "query"))
    if unknown:
        raise OpenAPIViolation(f"{where}: query parameter(s) {unknown} not in {found.template}")
    if body and "requestBody" not in found.operation:
        raise OpenAPIViolation(f"{where}: {found.template} takes no request body")
    args: dict[str, Any] = {}
    for name, value in pairs:
        args.setdefault(name, value)
    request = MockRequest(
        SERVER,
        method,
        _canonical_path(found),
        args=args,
        headers=dict(headers or {}),
        data=body or None,
        content_type=content_type or "application/json",
    )
    try:
        _openapi().validate_request(request)
    except Exception as exc:
        raise OpenAPIViolation(f"{where}: {_error_text(exc)}") from exc
    return Match(found.method, found.template, found.params, request)


def check_response(found: Match, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
    """Validate a JSON response the fake is about to send for `found`; raise OpenAPIViolation."""
    data = b"" if body is None else json.dumps(body).encode()
    response = MockResponse(data, status_code=status, headers=dict(headers or {}))
    try:
        _openapi().validate_response(found.request, response)
    except Exception as exc:
        raise OpenAPIViolation(
            f"response {status} to {found.method.upper()} {found.template}: {_error_text(exc)}"
        ) from exc


# --- skeletons: the smallest instance of a schema, used to fill the long tail of GitHub fields ---


def _skeleton_string(schema: dict[str, Any], name: str) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    fmt = schema.get("format")
    if fmt == "date-time":
        return _BLANK_TIME
    if fmt in ("uri", "url", "uri-template"):
        return f"{SERVER}/_fake/{name}"
    if fmt == "email":
        return "nobody@example.invalid"
    return ""


def skeleton(schema: Any, name: str = "value", null_ok: bool = True) -> Any:
    """Return a minimal value that satisfies `schema` (required fields only, nulls where allowed)."""
    schema = resolve(schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = skeleton(part, name, null_ok=False)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return skeleton(schema[key][0], name, null_ok)
    if null_ok and schema.get("nullable"):
        return None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {req: skeleton(props.get(req, {}), req) for req in schema.get("required", [])}
    if kind == "array":
        return [skeleton(schema["items"], name) for _ in range(schema.get("minItems", 0))]
    if kind in {"integer", "number"}:
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return _skeleton_string(schema, name)
    return None


def complete(schema: Any, value: Any) -> Any:
    """Fill the required fields `value` lacks, recursively, with skeleton values; keep the rest."""
    schema = resolve(schema)
    if value is None:
        return None
    for part in schema.get("allOf", []):
        value = complete(part, value)
    if "oneOf" in schema or "anyOf" in schema:
        return value  # a union: the caller builds the branch it means
    if isinstance(value, dict) and ("properties" in schema or schema.get("type") == "object"):
        props = schema.get("properties", {})
        out = dict(value)
        for name in schema.get("required", []):
            if name not in out:
                out[name] = skeleton(props.get(name, {}), name)
        for name, item in out.items():
            if name in props:
                out[name] = complete(props[name], item)
        return out
    if isinstance(value, list) and "items" in schema:
        return [complete(schema["items"], item) for item in value]
    return value


def shaped(component: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values`, completed to a valid `#/components/schemas/<component>`."""
    result: dict[str, Any] = complete({"$ref": f"#/components/schemas/{component}"}, dict(values))
    return result


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, template) in the subset."""
    return [
        (method.upper(), template)
        for template, item in spec()["paths"].items()
        for method in item
        if method in _METHODS
    ]
