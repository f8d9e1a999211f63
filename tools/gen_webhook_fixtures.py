"""Write the webhook payloads Fixloop's tests replay, from real recorded examples.

Source: @octokit/webhooks-examples@7.6.1 (payloads GitHub sent, collected by Octokit). Every
written fixture is validated against the schema GitHub publishes for that event and action in
@octokit/openapi-webhooks@12.1.0 (`#/components/schemas/webhook-<event>-<action>`); the script
fails, and writes nothing, if one does not validate.

Regenerate (needs node/npm for the download only):

    cd tools && npm ci
    ../.venv/bin/python gen_webhook_fixtures.py

Output: tests/fixtures/webhooks/<event>.<action>.json (payload only; `ping.json` has no action),
plus `<event>.<action>.<variant>.json` for payloads derived from a real one, and README.md listing
where each file came from. Derivations (the examples have none of these):

- every payload except ping gets `installation: {id, node_id}` when the example lacks it, as a
  GitHub App's deliveries always carry it;
- issues.closed: from a real issues.reopened, closed as completed;
- pull_request.edited: from a real pull_request.opened, with `changes.body.from`;
- pull_request.closed.merged: from a real pull_request.closed, with merged, merged_at,
  merge_commit_sha and merged_by set;
- issue_comment.created.on_pull_request: from a real issue_comment.created, with
  `issue.pull_request` added (how GitHub marks a comment on a pull request).

Among the examples of an event and action, the first that validates wins (one with
`installation` first). Where none validates, the example predates fields GitHub added since;
MODERNISE fills exactly those fields (null/false values, ISO times) and says so in README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS31Validator

NODE_MODULES = Path(__file__).resolve().parent / "node_modules" / "@octokit"
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "webhooks"
PINNED = {"webhooks-examples": "7.6.1", "openapi-webhooks": "12.1.0"}
INSTALLATION = {"id": 424243, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0MjQz"}
MERGE_SHA = "9b3c0b0e1f4d6a2c8e7f5a3b1d9c7e5f3a1b2c4d"
MERGED_AT = "2019-05-15T15:21:00Z"

# (event, action) taken as recorded; the first example with `installation` wins, else the first.
REAL: list[tuple[str, str | None]] = [
    ("ping", None),
    ("installation", "created"),
    ("installation_repositories", "added"),
    ("issues", "opened"),
    ("issues", "assigned"),
    ("issues", "labeled"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("pull_request", "opened"),
    ("pull_request", "ready_for_review"),
    ("pull_request", "synchronize"),
    ("pull_request", "closed"),
    ("check_suite", "completed"),
    ("workflow_run", "completed"),
    ("deployment_status", "created"),
    ("pull_request_review", "submitted"),
]


def _close_issue(p: dict[str, Any]) -> None:
    p["action"] = "closed"
    issue = p["issue"]
    issue.update(state="closed", state_reason="completed", closed_at=issue["updated_at"])


def _edit_pull(p: dict[str, Any]) -> None:
    p["action"] = "edited"
    p["changes"] = {"body": {"from": p["pull_request"]["body"] or ""}}
    p["pull_request"]["body"] = (p["pull_request"]["body"] or "") + "\n\nFixes #1"


def _merge_pull(p: dict[str, Any]) -> None:
    pr = p["pull_request"]
    pr.update(
        merged=True,
        merged_at=MERGED_AT,
        closed_at=MERGED_AT,
        merge_commit_sha=MERGE_SHA,
        merged_by=copy.deepcopy(p["sender"]),
        mergeable=None,
        mergeable_state="unknown",
    )


def _comment_on_pull(p: dict[str, Any]) -> None:
    issue = p["issue"]
    html = issue["html_url"].replace("/issues/", "/pull/")
    issue["html_url"] = html
    issue["pull_request"] = {
        "url": issue["url"].replace("/issues/", "/pulls/"),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "merged_at": None,
    }
    p["comment"]["html_url"] = p["comment"]["html_url"].replace("/issues/", "/pull/")


def _modern_installation(p: dict[str, Any]) -> None:
    inst = p["installation"]
    for key in ("created_at", "updated_at"):
        if isinstance(inst.get(key), int):
            inst[key] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(inst[key]))
    inst.setdefault("app_slug", "octo-app")
    inst.setdefault("suspended_by", None)
    inst.setdefault("suspended_at", None)
    if p.get("action") == "added":
        p.setdefault("requester", None)


def _modern_pull_repos(p: dict[str, Any]) -> None:
    for side in ("head", "base"):
        p["pull_request"][side]["repo"].setdefault("has_discussions", False)


# (event, action) -> fill-in of fields recorded examples predate (used only if none validates)
MODERNISE = {
    ("installation", "created"): _modern_installation,
    ("installation_repositories", "added"): _modern_installation,
    ("pull_request", "synchronize"): _modern_pull_repos,
    ("pull_request_review", "submitted"): _modern_pull_repos,
}

# (event, action, variant, source action, derive)
DERIVED = [
    ("issues", "closed", None, "reopened", _close_issue),
    ("pull_request", "edited", None, "opened", _edit_pull),
    ("pull_request", "closed", "merged", "closed", _merge_pull),
    ("issue_comment", "created", "on_pull_request", "created", _comment_on_pull),
]


def _check_versions() -> None:
    for name, version in PINNED.items():
        found = json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
        if found != version:
            raise SystemExit(f"expected @octokit/{name}@{version}, found {found}: run `npm ci` in tools/")


def _pick(
    examples: dict[str, list[dict[str, Any]]], event: str, action: str | None, validator: OAS31Validator
) -> tuple[str, dict[str, Any]]:
    """The first valid example (App deliveries first), else the first one modernised."""
    found = [(i, p) for i, p in enumerate(examples[event]) if p.get("action") == action]
    if not found:
        raise SystemExit(f"no {event}.{action} example in @octokit/webhooks-examples")
    found.sort(key=lambda item: "installation" not in item[1])
    for index, payload in found:
        if validator.is_valid(payload):
            return f"example {index} of {_file_name(event, action, None)[:-5]}", copy.deepcopy(payload)
    index, payload = found[0][0], copy.deepcopy(found[0][1])
    modernise = MODERNISE.get((event, action))
    if modernise is None:
        return f"example {index} of {event}.{action}", payload
    modernise(payload)
    return f"example {index} of {event}.{action}, {modernise.__name__.strip('_').replace('_', ' ')}", payload


def _validator(spec: dict[str, Any], event: str, action: str | None) -> OAS31Validator:
    name = "webhook-" + event.replace("_", "-") + (f"-{action.replace('_', '-')}" if action else "")
    if name not in spec["components"]["schemas"]:
        raise SystemExit(f"no schema {name} in @octokit/openapi-webhooks")
    root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return OAS31Validator(root, format_checker=OAS31Validator.FORMAT_CHECKER)


def _file_name(event: str, action: str | None, variant: str | None) -> str:
    return ".".join(part for part in (event, action, variant) if part) + ".json"


def build() -> tuple[dict[str, dict[str, Any]], list[str]]:
    _check_versions()
    index = json.loads((NODE_MODULES / "webhooks-examples" / "api.github.com" / "index.json").read_text())
    examples = {entry["name"]: entry["examples"] for entry in index}
    spec = json.loads((NODE_MODULES / "openapi-webhooks" / "generated" / "api.github.com.json").read_text())
    written: dict[str, dict[str, Any]] = {}
    sources: list[str] = []
    plan = [(e, a, None, a, None) for e, a in REAL] + DERIVED
    failures = []
    for event, action, variant, source_action, derive in plan:
        how, payload = _pick(examples, event, source_action, _validator(spec, event, source_action))
        if derive is not None:
            derive(payload)
            how += f", {derive.__name__.strip('_').replace('_', ' ')}"
        if event != "ping" and "installation" not in payload:
            payload["installation"] = dict(INSTALLATION)
            how += ", installation added"
        errors = list(_validator(spec, event, action).iter_errors(payload))
        for error in errors:
            error = best_match(error.context) if error.context else error  # noqa: PLW2901
            where = "/".join(str(p) for p in error.absolute_path) or "<root>"
            failures.append(f"{_file_name(event, action, variant)} at {where}: {error.message[:200]}")
        name = _file_name(event, action, variant)
        written[name] = payload
        sources.append(f"| `{name}` | {how} |")
    if failures:
        raise SystemExit("fixtures that do not match @octokit/openapi-webhooks:\n  " + "\n  ".join(failures))
    return written, sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    written, sources = build()
    args.output.mkdir(parents=True, exist_ok=True)
    for stale in args.output.glob("*.json"):
        stale.unlink()
    for name, payload in written.items():
        (args.output / name).write_text(json.dumps(payload, indent=2) + "\n")
    readme = [
        "# Webhook fixtures",
        "",
        "Written by `tools/gen_webhook_fixtures.py` from `@octokit/webhooks-examples@7.6.1`, each",
        "validated against `@octokit/openapi-webhooks@12.1.0`. Do not edit by hand: regenerate.",
        "Load them with `tests.fakes.webhooks.load_fixture(event, action, variant=None)`.",
        "",
        "| file | source |",
        "|---|---|",
        *sources,
        "",
    ]
    (args.output / "README.md").write_text("\n".join(readme))
    print(f"wrote {len(written)} fixtures to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
