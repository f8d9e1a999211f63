"""The analysis result: the schema the LLM must answer in, and the offline analyser fills too."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Classification(StrEnum):
    CODE = "code"
    CONFIG = "config"
    INFRA = "infra"
    FLAKY = "flaky"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    title: str  # <= 100 chars, sanitised before use
    summary: str
    root_cause: str
    evidence: tuple[str, ...] = ()
    suspected_files: tuple[str, ...] = ()
    fix_hint: str = ""
    classification: Classification = Classification.UNKNOWN
    promote: bool = False
    confidence: int = 0  # 0-100
    source: str = "offline"  # "offline" or "llm:<model>"
    audit: dict[str, Any] = field(default_factory=dict)  # model, prompt/evidence hashes, tokens, latency

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


VERDICT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "title",
        "summary",
        "root_cause",
        "evidence",
        "suspected_files",
        "fix_hint",
        "classification",
        "promote",
        "confidence",
    ],
    "properties": {
        "title": {"type": "string", "maxLength": 100},
        "summary": {"type": "string"},
        "root_cause": {"type": "string"},
        "evidence": {"type": "array", "items": {"type": "string"}},
        "suspected_files": {"type": "array", "items": {"type": "string"}},
        "fix_hint": {"type": "string"},
        "classification": {"type": "string", "enum": [c.value for c in Classification]},
        "promote": {"type": "boolean"},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
    },
}


def verdict_from_dict(data: dict[str, Any]) -> Verdict:
    """Rebuild a Verdict from ``to_dict()`` output (stored with the incident); tolerant of old rows."""
    try:
        classification = Classification(data.get("classification", "unknown"))
    except ValueError:
        classification = Classification.UNKNOWN
    return Verdict(
        title=str(data.get("title", "")),
        summary=str(data.get("summary", "")),
        root_cause=str(data.get("root_cause", "")),
        evidence=tuple(str(e) for e in data.get("evidence", ())),
        suspected_files=tuple(str(f) for f in data.get("suspected_files", ())),
        fix_hint=str(data.get("fix_hint", "")),
        classification=classification,
        promote=bool(data.get("promote", False)),
        confidence=int(data.get("confidence", 0)),
        source=str(data.get("source", "offline")),
        audit=dict(data.get("audit", {})),
    )
