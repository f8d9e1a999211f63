"""The LLM's answer: parsed, validated against VERDICT_JSON_SCHEMA and our own checks, redacted, bounded.

The Verdict built here is raw-but-redacted: the issue renderer neutralises it (mentions, links, HTML).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator

from app.analysis.redact import Redactor
from app.analysis.verdict import VERDICT_JSON_SCHEMA, Classification, Verdict

_VALIDATOR = Draft202012Validator(VERDICT_JSON_SCHEMA)
_FENCED_RE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?```\s*$", re.DOTALL | re.IGNORECASE)
TEXT_LIMITS = {"title": 100, "summary": 4000, "root_cause": 4000, "fix_hint": 2000}
LIST_LIMITS = {"evidence": (12, 500), "suspected_files": (10, 200)}


class InvalidAnswer(ValueError):
    """The model answered, but not with a usable verdict."""


def parse_answer(content: str | None, finish_reason: str | None = None) -> dict[str, Any]:
    """The answer as a dict that satisfies the schema, or InvalidAnswer saying why not."""
    if finish_reason == "length":
        raise InvalidAnswer("the answer was cut off (finish_reason=length)")
    if not content or not content.strip():
        raise InvalidAnswer("empty answer")
    fenced = _FENCED_RE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise InvalidAnswer("the answer is not a JSON object")
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise InvalidAnswer(f"schema: {where}: {errors[0].message[:200]}")
    for key in ("title", "summary", "root_cause"):
        if not data[key].strip():
            raise InvalidAnswer(f"{key} is empty")
    return data


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdict_from_answer(data: dict[str, Any], *, model: str, redactor: Redactor) -> Verdict:
    """A Verdict from a validated answer: every text redacted (a model may echo a secret), lengths bounded."""

    def text(key: str) -> str:
        return _clip(redactor.redact(data[key]), TEXT_LIMITS[key])

    def items(key: str) -> tuple[str, ...]:
        count, size = LIST_LIMITS[key]
        cleaned = (_clip(redactor.redact(str(item)), size) for item in data[key][:count])
        return tuple(item for item in cleaned if item)

    return Verdict(
        title=" ".join(text("title").split()),
        summary=text("summary"),
        root_cause=text("root_cause"),
        evidence=items("evidence"),
        suspected_files=items("suspected_files"),
        fix_hint=text("fix_hint"),
        classification=Classification(data["classification"]),
        promote=bool(data["promote"]),
        confidence=int(data["confidence"]),
        source=f"llm:{model}",
    )
