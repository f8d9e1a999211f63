"""Label and field selectors, as the Kubernetes API server parses them (the subset tests need).

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``, joined by
commas. Field selectors: ``path=v``, ``path==v``, ``path!=v`` over a per-resource list of supported
fields; an unsupported field is an error (400), as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)\s*$")

# Field selectors a real API server supports per resource (beyond metadata.name / metadata.namespace).
FIELD_SELECTORS: dict[str, tuple[str, ...]] = {
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "status.phase", "status.podIP"),
}


class SelectorError(ValueError):
    """A selector the API server would answer with 400 Bad Request."""


def _split(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def label_matcher(selector: str) -> Matcher:
    tests = [_label_term(term) for term in _split(selector or "")]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return match


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    eq = _EQ_RE.match(term)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    found = _SET_RE.match(term)
    if not found:
        raise SelectorError(f"unable to parse requirement: {term!r}")
    negate, key, op, values = found.groups()
    if op:
        if negate:
            raise SelectorError(f"unable to parse requirement: {term!r}")
        allowed = {value.strip() for value in values.split(",") if value.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def field_matcher(resource: str, selector: str) -> Matcher:
    supported = ("metadata.name", "metadata.namespace", *FIELD_SELECTORS.get(resource, ()))
    tests: list[Matcher] = []
    for term in _split(selector or ""):
        found = _EQ_RE.match(term)
        if not found:
            raise SelectorError(f"invalid selector: {term!r}; can't understand {term!r}")
        path, op, value = found.groups()
        if path not in supported:
            raise SelectorError(f'"{path}" is not a known field selector: only "{", ".join(supported)}"')
        tests.append(_field_test(path, op, value))
    return lambda obj: all(test(obj) for test in tests)


def _field_test(path: str, op: str, value: str) -> Matcher:
    def read(obj: dict[str, Any]) -> str:
        node: Any = obj
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if path == "source" and isinstance(node, dict):
            node = node.get("component")
        return "" if node is None else str(node)

    if op == "!=":
        return lambda obj: read(obj) != value
    return lambda obj: read(obj) == value
