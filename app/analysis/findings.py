"""What the offline analyser looks for in the compacted logs: causes, ignored templates, suspected files.

``Ignore X`` instructions from the repository's ``extra_prompt`` remove templates that mention X's words
(``Ignore color changes.`` → templates mentioning color, colour or a colour name). A canary-only template
that matches a stable template once colour words are set aside is a changed value, not a cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.analysis.compact import CompactedLogs, Template
from app.analysis.logtemplate import Level

_IGNORE_RE = re.compile(
    r"(?i)\b(?:ignore|disregard|skip|do not (?:report|consider|flag)|don't (?:report|consider|flag))\s+"
    r"([^.;:\n]{1,120})"
)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "any",
        "all",
        "and",
        "or",
        "of",
        "in",
        "on",
        "to",
        "for",
        "from",
        "with",
        "about",
        "related",
        "by",
        "its",
        "their",
        "this",
        "that",
        "these",
        "those",
        "change",
        "changes",
        "changed",
        "message",
        "messages",
        "line",
        "lines",
        "log",
        "logs",
        "output",
        "entries",
        "entry",
    ]
)
COLOURS = frozenset(
    [
        "red",
        "green",
        "blue",
        "yellow",
        "purple",
        "orange",
        "pink",
        "black",
        "white",
        "grey",
        "gray",
        "cyan",
        "magenta",
        "brown",
        "violet",
    ]
)
_SYNONYMS = {"color": COLOURS | {"colour", "colors", "colours"}, "colour": COLOURS | {"color", "colors"}}
_WORD_RE = re.compile(r"[a-z]+")
_ELEVATED_RATIO = 5.0
_PATH_RULES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^\s*(/[^\s:]+\.go):\d+"), 1),
    (re.compile(r'File "(/[^"]+\.py)", line \d+'), 1),
    (re.compile(r"\((/[^\s():]+\.(?:js|ts|mjs|cjs|jsx|tsx)):\d+"), 1),
    (re.compile(r"^\s*at ([\w$.]+)\.[\w$<>]+\([\w$]+\.(java|kt|scala):\d+\)"), 0),
)
_VENDOR_RE = re.compile(
    r"/go/pkg/mod/|/usr/local/go/|/usr/lib/go|site-packages/|dist-packages/|/usr/lib/python|<frozen|"
    r"node_modules/|^node:|^(?:java|javax|jdk|sun|kotlin|scala|org\.springframework|org\.apache|io\.netty)\."
)
_PREFIX_RE = re.compile(
    r"^/(?:go/src/[^/]+/[^/]+/[^/]+|app|src|build|workspace|opt/app|usr/src/app|home/[^/]+|code|srv)/"
)


def ignore_keywords(extra_prompt: str) -> frozenset[str]:
    """Words of the things an ``Ignore ...`` instruction names, with plurals and colour synonyms."""
    words: set[str] = set()
    for match in _IGNORE_RE.finditer(extra_prompt):
        for word in _WORD_RE.findall(match.group(1).lower()):
            if word not in _STOPWORDS and len(word) > 2:
                words |= {word, word + "s", word.removesuffix("s")} | _SYNONYMS.get(word, set())
    return frozenset(words)


def mentions(text: str, keywords: Iterable[str]) -> bool:
    return not frozenset(_WORD_RE.findall(text.lower())).isdisjoint(keywords)


def _without_colours(text: str) -> str:
    return " ".join("<colour>" if w in COLOURS else w for w in re.findall(r"[a-z<>*]+|\S", text.lower()))


@dataclass(frozen=True)
class Findings:
    causes: tuple[Template, ...]  # canary-only errors, most telling first
    warnings: tuple[Template, ...]  # canary-only warnings
    elevated: tuple[Template, ...]  # errors both log, the canary far more often
    ignored: tuple[Template, ...]  # left out on the repository's instruction
    changes: tuple[Template, ...]  # canary-only lines that only changed a value (a colour)


def find(compacted: CompactedLogs, extra_prompt: str = "") -> Findings:
    keywords = ignore_keywords(extra_prompt)
    stable_shapes = {_without_colours(t.text) for t in compacted.templates if t.stable}
    causes, warnings, elevated, ignored, changes = [], [], [], [], []
    for template in compacted.templates:
        if template.canary == 0 or (template.level is Level.INFO and not template.novel):
            continue
        if keywords and mentions(template.text, keywords):
            ignored.append(template)
        elif template.novel and _without_colours(template.text) in stable_shapes:
            changes.append(template)
        elif template.novel_error:
            causes.append(template)
        elif template.novel and template.level is Level.WARN:
            warnings.append(template)
        elif template.level is Level.ERROR and _ratio(template, compacted) >= _ELEVATED_RATIO:
            elevated.append(template)
    return Findings(tuple(causes), tuple(warnings), tuple(elevated), tuple(ignored), tuple(changes))


def _ratio(template: Template, compacted: CompactedLogs) -> float:
    canary = template.canary / max(compacted.canary_lines, 1)
    stable = template.stable / max(compacted.stable_lines, 1)
    return canary / stable if stable else float("inf")


def suspected_files(samples: Iterable[str], limit: int = 5) -> tuple[str, ...]:
    """Repository paths named by stack frames (``/app/main.go:123`` → ``main.go``), vendors skipped."""
    found: dict[str, None] = {}
    for sample in samples:
        for line in sample.splitlines():
            for pattern, kind in _PATH_RULES:
                match = pattern.search(line)
                if match is None or _VENDOR_RE.search(match.group(1)):
                    continue
                if kind == 0:  # Java: package.Class → package/Class.java
                    path = match.group(1).split("$")[0].replace(".", "/") + "." + match.group(2)
                else:
                    path = _PREFIX_RE.sub("", match.group(1)).lstrip("/")
                found.setdefault(path, None)
    return tuple(found)[:limit]
