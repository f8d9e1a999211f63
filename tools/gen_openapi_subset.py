"""Cut the GitHub REST operations Fixloop uses out of GitHub's OpenAPI description.

The strict fake GitHub (tests/fakes/github.py) validates every request it receives, and every
response it sends, against the document this script writes: tests/fixtures/openapi/github-subset.json.

Regenerate (needs node/npm for the download only):

    cd tools && npm ci          # installs the pinned @octokit/openapi from tools/package.json
    ../.venv/bin/python gen_openapi_subset.py [--source node_modules/@octokit/openapi]

What it does, in order:

1. Keeps only the operations in OPERATIONS (method + path) and every ``#/components/...`` object
   they reference, transitively, so the subset is a valid standalone OpenAPI 3.0 document.
2. Drops ``examples`` (documentation only; they make up most of the size and validate nothing).
3. Applies the explicit patches in PATCHES, each citing GitHub's documentation. A patch only ever
   adds what GitHub documents; nothing is loosened.
4. Fixes two description bugs that would reject GitHub's real answers (see RESPONSE_FIXES and
   _allow_null_in_enums).
5. Closes request bodies (``additionalProperties: false`` on object bodies that list their
   properties): GitHub ignores unknown fields, so a misspelt field would otherwise pass unnoticed
   in tests and silently do nothing in production.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

SOURCE_PACKAGE = "@octokit/openapi"
SOURCE_VERSION = "23.0.2"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path(__file__).resolve().parent / "node_modules" / "@octokit" / "openapi"
OUTPUT = ROOT / "tests" / "fixtures" / "openapi" / "github-subset.json"

OPERATIONS: list[tuple[str, str]] = [
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/app"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/app/installations"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/timeline"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/user"),
    ("get", "/user/installations"),
]

# --- Patches: documented behaviour missing from the pinned description -------------------------
#
# Copilot coding agent assignment. @octokit/openapi 23.0.2 has no `agent_assignment` in the bodies
# of "Add assignees to an issue", "Create an issue" or "Update an issue". GitHub documents it for all
# three ("Starting GitHub Copilot sessions" > "Using the REST API",
# https://docs.github.com/en/copilot/how-tos/use-copilot-agents/cloud-agent/start-copilot-sessions#using-the-rest-api
# ; changelog 2025-12-03 "Assign issues to Copilot using the API"):
#
#     {"assignees": ["copilot-swe-agent[bot]"],
#      "agent_assignment": {"target_repo": "OWNER/REPO", "base_branch": "main",
#                           "custom_instructions": "", "custom_agent": "", "model": ""}}
#
# The docs give every field as a string and none as required; we close the object so a misspelt
# field fails in tests.
AGENT_ASSIGNMENT: dict[str, Any] = {
    "type": "object",
    "description": (
        "Copilot coding agent options, used when `copilot-swe-agent[bot]` is among the assignees. "
        "Added by tools/gen_openapi_subset.py from https://docs.github.com/en/copilot/how-tos/"
        "use-copilot-agents/cloud-agent/start-copilot-sessions#using-the-rest-api"
    ),
    "properties": {
        "target_repo": {"type": "string", "description": "OWNER/REPO where Copilot works."},
        "base_branch": {"type": "string", "description": "Branch Copilot branches from."},
        "custom_instructions": {"type": "string", "description": "Extra instructions."},
        "custom_agent": {"type": "string", "description": "Custom agent to use."},
        "model": {"type": "string", "description": "Model for Copilot to use."},
    },
    "additionalProperties": False,
}
PATCHES: list[tuple[str, str, str, Any]] = [
    # (method, path, property name added to the JSON request body, schema)
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/assignees", "agent_assignment", AGENT_ASSIGNMENT),
    ("post", "/repos/{owner}/{repo}/issues", "agent_assignment", AGENT_ASSIGNMENT),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}", "agent_assignment", AGENT_ASSIGNMENT),
]


# GET /app/installations describes its items with an inline copy of `installation` that says
# `account: allOf [simple-user, enterprise]` (an account would have to be both a user and an
# enterprise) and a non-nullable `suspended_by` (null on every active installation). The shared
# component `#/components/schemas/installation`, used by GET /repos/{owner}/{repo}/installation,
# says `anyOf` and nullable. Point the list at the component.
RESPONSE_FIXES: list[tuple[str, str, str, Any]] = [
    (
        "get",
        "/app/installations",
        "200",
        {"type": "array", "items": {"$ref": "#/components/schemas/installation"}},
    ),
]


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"external $ref not supported: {ref}")
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _drop_examples(node: Any) -> Any:
    """Remove `examples` maps from media type and parameter objects (those that carry a `schema`)."""
    if isinstance(node, dict):
        media = "schema" in node
        return {k: _drop_examples(v) for k, v in node.items() if not (media and k == "examples")}
    if isinstance(node, list):
        return [_drop_examples(value) for value in node]
    return node


def _json_body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    return operation["requestBody"]["content"]["application/json"]["schema"]


def _apply_patches(paths: dict[str, Any]) -> list[str]:
    applied = []
    for method, path, name, schema in PATCHES:
        body = _json_body_schema(paths[path][method])
        props = body.setdefault("properties", {})
        if name in props:
            applied.append(f"{method.upper()} {path}: `{name}` already present, patch skipped")
            continue
        props[name] = copy.deepcopy(schema)
        applied.append(f"{method.upper()} {path}: added `{name}`")
    return applied


def _apply_response_fixes(paths: dict[str, Any]) -> list[str]:
    notes = []
    for method, path, status, schema in RESPONSE_FIXES:
        media = paths[path][method]["responses"][status]["content"]["application/json"]
        media["schema"] = copy.deepcopy(schema)
        notes.append(f"{method.upper()} {path}: {status} answer described by the shared component")
    return notes


def _allow_null_in_enums(node: Any) -> int:
    """OpenAPI 3.0.3 says `nullable: true` does not widen an `enum`; GitHub's description has many
    nullable enums (issue `state_reason`, ...) that GitHub answers with null. Add null to them."""
    fixed = 0
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
            fixed += 1
        for value in node.values():
            fixed += _allow_null_in_enums(value)
    elif isinstance(node, list):
        for value in node:
            fixed += _allow_null_in_enums(value)
    return fixed


def _close_objects(schema: dict[str, Any]) -> None:
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        _close_objects(branch)
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)


def build_subset(source: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = source["paths"].get(path)
        if item is None or method not in item:
            raise SystemExit(f"{method.upper()} {path} is not in the source description")
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k in ("parameters", "summary")})
        kept[method] = copy.deepcopy(item[method])
    paths = _drop_examples(paths)
    notes = _apply_patches(paths) + _apply_response_fixes(paths)
    for method, path in OPERATIONS:
        body = paths[path][method].get("requestBody")
        if body and "application/json" in body.get("content", {}):
            _close_objects(_json_body_schema(paths[path][method]))

    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if not ref.startswith("#/components/"):
            raise SystemExit(f"unexpected $ref {ref}")
        kind, name = ref[len("#/components/") :].split("/", 1)
        target = _drop_examples(copy.deepcopy(_resolve(source, ref)))
        components.setdefault(kind, {})[name] = target
        pending |= _refs(target) - seen

    fixed = _allow_null_in_enums(paths) + _allow_null_in_enums(components)
    notes.append(f"null added to {fixed} nullable enums")
    info = dict(source["info"])
    info["title"] = "GitHub REST API: the subset Fixloop uses"
    info["x-source"] = f"{SOURCE_PACKAGE}@{SOURCE_VERSION}"
    info["x-generator"] = "tools/gen_openapi_subset.py"
    info["x-patches"] = notes
    subset = {
        "openapi": source["openapi"],
        "info": info,
        "servers": source.get("servers", [{"url": "https://api.github.com"}]),
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }
    return subset, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="@octokit/openapi package dir")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    package = json.loads((args.source / "package.json").read_text())
    if package["version"] != SOURCE_VERSION:
        raise SystemExit(f"expected {SOURCE_PACKAGE}@{SOURCE_VERSION}, found {package['version']}")
    source = json.loads((args.source / "generated" / "api.github.com.json").read_text())
    subset, notes = build_subset(source)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    for note in notes:
        print("patch:", note)
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({len(OPERATIONS)} operations, {size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
