"""PATCH bodies as a Kubernetes API server applies them to a custom resource.

- ``application/merge-patch+json``: RFC 7386 (objects merge, ``null`` deletes, lists are replaced).
- ``application/json-patch+json``: RFC 6902, a list of operations; any other JSON is 400.
- ``application/strategic-merge-patch+json``: 415 for custom resources (no Go struct to merge by).
- ``application/apply-patch+yaml`` (server-side apply) and anything else: 415 here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class PatchError(Exception):
    """``status`` is the HTTP status the API server answers with (400, 415, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply_patch(content_type: str, target: dict[str, Any], raw: bytes, *, custom: bool) -> dict[str, Any]:
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media == STRATEGIC and custom:
        raise PatchError(415, "strategic merge patch is not supported for custom resources")
    if media not in (MERGE, JSON_PATCH):
        raise PatchError(415, f"the body of the request was in an unknown format: {media or '(none)'}")
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise PatchError(400, f"error decoding patch: {exc}") from None
    if media == MERGE:
        if not isinstance(body, dict):
            raise PatchError(400, "merge patch must be a JSON object")
        result = merge_patch(target, body)
        assert isinstance(result, dict)
        return result
    if not isinstance(body, list):
        raise PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    return json_patch(target, body)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """RFC 6902: add, remove, replace, move, copy, test. A failed operation is 422, as in apiserver."""
    doc: Any = copy.deepcopy(target)
    for index, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(400, f"operation {index}: needs 'op' and 'path'")
        try:
            doc = _apply_op(doc, op)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise PatchError(422, f"operation {index} ({op['op']} {op['path']}): {exc}") from None
    if not isinstance(doc, dict):
        raise PatchError(422, "patched document is not an object")
    return doc


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    parts = _pointer(path)
    if not parts:
        raise ValueError("the root cannot be the target")
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    parent, key = _parent(doc, path)
    if isinstance(parent, list):
        position = len(parent) if key == "-" else int(key)
        if not 0 <= position <= len(parent):
            raise IndexError(f"index {position} out of range")
        parent.insert(position, value)
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise TypeError(f"cannot add to {type(parent).__name__}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parent, key = _parent(doc, path)
    if isinstance(parent, list):
        del parent[int(key)]
    else:
        del parent[key]
    return doc


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op["op"], op["path"]
    if kind == "add":
        return _add(doc, path, copy.deepcopy(op["value"]))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path)  # must exist
        return _add(_remove(doc, path), path, copy.deepcopy(op["value"]))
    if kind in ("move", "copy"):
        value = copy.deepcopy(_get(doc, op["from"]))
        if kind == "move":
            doc = _remove(doc, op["from"])
        return _add(doc, path, value)
    if kind == "test":
        if _get(doc, path) != op["value"]:
            raise ValueError(f"testing value {path} failed")
        return doc
    raise ValueError(f"unexpected kind of operation {kind!r}")
