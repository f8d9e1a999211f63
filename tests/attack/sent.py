"""What Fixloop sent out, read back from the fakes' recordings, and the checks run over it.

Every string of every GitHub request (path, query and JSON body, walked to the leaves) is searched for
planted secrets; the markdown fields (titles, bodies, comments) and the free-text fields of the Copilot
assignment go through the live-text detector; labels and assignees must be Fixloop's own. For the LLM,
every request is searched for secrets, and planted text must sit inside the prompt's evidence fence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt

from app.loop.commands.base import REPLY_MARKER
from app.loop.commands.replies import ANALYSIS_MARKER
from app.loop.render.markers import (
    CONFIG_PROBLEMS_MARKER,
    HANDOFF_MARKER,
    RECURRENCE_MARKER,
    REOPENED_MARKER,
    STATUS_MARKER,
    VERIFIED_MARKER,
    attempt_marker,
    incident_marker,
)
from app.loop.render.task import TASK_HEADING
from app.loop.steps.handoff_plan import COPILOT_ASSIGNEE
from tests.attack.live_text import INVISIBLE, Finding, live_findings
from tests.fakes.github_routing import RecordedRequest
from tests.fakes.llm import RecordedRequest as LLMRequest

FIXLOOP_LABELS = frozenset({"fixloop", "rollout-failure", "needs-human"})
_NOT_TEXT = frozenset({"state", "state_reason", "color", "sha", "ref", "target_repo", "environment"})
# Shown as text, never rendered as markdown: GitHub shows an issue title as text (code spans aside).
_PLAIN = frozenset({"custom_instructions", "base_branch", "description", "title"})
_TASK_LINE = re.compile(rf"^{re.escape(TASK_HEADING)}$", re.MULTILINE)  # the real one: a line of its own
_FENCE_OPEN = re.compile(r"<<<EVIDENCE ([0-9a-f]{16})>>>")


def own_markers(incidents: Iterable[int], max_attempt: int = 9) -> frozenset[str]:
    fixed = {STATUS_MARKER, CONFIG_PROBLEMS_MARKER, RECURRENCE_MARKER, REOPENED_MARKER, VERIFIED_MARKER}
    fixed |= {HANDOFF_MARKER, ANALYSIS_MARKER, REPLY_MARKER}
    fixed |= {incident_marker(i) for i in incidents}
    return frozenset(fixed | {attempt_marker(n) for n in range(1, max_attempt + 1)})


@dataclass(frozen=True)
class Field:
    """One string Fixloop sent: where it went and what it was."""

    request: str  # "POST /repos/acme/x/issues"
    key: str  # the JSON path inside the body, e.g. "body", "agent_assignment.custom_instructions"
    text: str


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, f"{path}[]")


def github_fields(requests: Iterable[RecordedRequest]) -> list[Field]:
    """Every string of every request: path and query too (a secret could travel in a URL)."""
    found = []
    for r in requests:
        where = f"{r.method} {r.path}"
        found.append(Field(where, "(path)", r.path))
        found += [Field(where, f"(query {k})", v) for k, v in r.query.items()]
        found += [Field(where, key, text) for key, text in _leaves(r.body)]
    return found


def leaked(secrets: Iterable[str], texts: Iterable[str]) -> list[str]:
    """Secrets found in the texts, as written or once invisible characters and compatibility forms are
    folded away (a token with a zero-width space inside, or in fullwidth letters, is still the token)."""
    blob = "\n".join(texts)
    folded = INVISIBLE.sub("", unicodedata.normalize("NFKC", blob))
    return sorted({secret for secret in secrets if secret in blob or secret in folded})


@dataclass
class Live:
    findings: list[tuple[Field, Finding]] = field(default_factory=list)

    def add(self, item: Field, found: Iterable[Finding]) -> None:
        self.findings += [(item, f) for f in found]

    def __str__(self) -> str:
        return "\n".join(f"{f.request} [{f.key}] {finding}" for f, finding in self.findings[:40])


def _headings_and_task_prose(body: str) -> tuple[list[str], str]:
    """The texts of the body's headings, and the task section's text outside code."""
    headings: list[str] = []
    task: list[str] = []
    tokens = MarkdownIt("commonmark", {"html": True}).enable(["table"]).parse(body)
    in_task = False
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            text = tokens[index + 1].content
            headings.append(text)
            in_task = (in_task and token.tag != "h2") or ("## " + text == TASK_HEADING)
        elif in_task and token.type == "inline":
            task += [c.content for c in token.children or () if c.type == "text"]
    return headings, "\n".join(task)


def live_in_github(
    fields: Iterable[Field], markers: frozenset[str], tags: Iterable[str], own_links: tuple[str, ...] = ()
) -> Live:
    """Live text in what went to GitHub, plus planted text posing as structure: a heading holding a
    planted tag (a forged "Task for the agent"), or planted text in the task's prose (outside code).

    ``own_links``: URL prefixes of the links Fixloop writes itself to the GitHub it talks to (the fake's
    web host in tests, github.com in production): permalinks to the repository's code."""
    tags = tuple(tags)
    live = Live()
    for item in fields:
        if item.key.startswith("(") or item.key.split(".")[-1] in _NOT_TEXT:
            continue
        if item.key in ("labels[]", "name", "labels[].name"):
            if item.text not in FIXLOOP_LABELS:
                live.add(item, [Finding("label", item.text)])
            continue
        if item.key == "assignees[]":
            if item.text != COPILOT_ASSIGNEE:
                live.add(item, [Finding("assignee", item.text)])
            continue
        plain = item.key.split(".")[-1] in _PLAIN
        found = live_findings(item.text, own_markers=markers, rendered=not plain)
        live.add(item, [f for f in found if not _own_link(f, own_links)])
        if item.key == "body":
            headings, task = _headings_and_task_prose(item.text)
            live.add(item, [Finding("heading", h) for h in headings if any(t in h for t in tags)])
            live.add(item, [Finding("task", t) for t in tags if t in task])
    return live


def _own_link(finding: Finding, prefixes: tuple[str, ...]) -> bool:
    url = finding.excerpt.removeprefix("autolink ")
    return finding.kind == "link" and bool(prefixes) and url.startswith(prefixes)


def agent_facing(fields: Iterable[Field]) -> list[Field]:
    """What an agent takes as its task: the issue's "Task for the agent" section (to the end of the body)
    and Copilot's custom instructions. Built from a fixed template and facts, never from LLM prose."""
    found = []
    for item in fields:
        if item.key.endswith("custom_instructions"):
            found.append(item)
        elif item.key == "body" and (heading := _TASK_LINE.search(item.text)):
            found.append(Field(item.request, "body (task)", item.text[heading.start() :]))
    return found


def reached(tags: Iterable[str], fields: Iterable[Field]) -> set[str]:
    blob = "\n".join(f.text for f in fields if not f.key.startswith("("))
    return {tag for tag in tags if tag in blob}


def outside_fence(requests: Iterable[LLMRequest], tags: Iterable[str]) -> list[str]:
    """Planted tags found in a prompt outside its evidence fence (or a prompt whose fence was forged)."""
    problems = []
    for request in requests:
        for message in request.body.get("messages", []):
            content = str(message.get("content", ""))
            opened = _FENCE_OPEN.findall(content)
            outside = content
            if opened:
                boundary = opened[0]
                start = content.index(f"<<<EVIDENCE {boundary}>>>")
                end = content.find(f"<<<END EVIDENCE {boundary}>>>")
                if len(opened) != 1 or end < start or content.count("<<<") != 2:
                    problems.append(f"forged fence in a {message.get('role')} message")
                outside = content[:start] + content[end:]
            problems += [f"{tag} outside the fence" for tag in tags if tag in outside]
    return problems
