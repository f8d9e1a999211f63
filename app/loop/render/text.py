"""Putting untrusted text into markdown: every helper redacts, then neutralises, then defuses markers.

Text from logs, the cluster or the LLM goes through exactly one of these before it reaches a body:

- ``safe_inline``: prose on a line (summary, causes, messages);
- ``cell``: a table cell (as safe_inline, with pipes escaped);
- ``code_span``: identifiers shown as code (names, images, queries, paths); the delimiter is longer than
  any backtick run inside;
- ``safe_block`` + ``fence``: multi-line text in a fenced block whose fence cannot be closed from inside;
- ``safe_plain``: one line of plain text (not markdown), e.g. Copilot's custom instructions.

Code spans and fences show HTML and links literally, but agents that wake on ``@claude`` or ``@codex``
read the raw text, code included: so mentions and commands are made inert there too (neutralise_block).
"""

from __future__ import annotations

import re

from app.analysis.neutralise import neutralise_block, neutralise_inline
from app.analysis.redact import redact
from app.loop.render.markers import defuse_markers

_BACKTICKS_RE = re.compile(r"`+")
_SPACE_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")  # incl. bidi overrides


def _clean(text: str) -> str:
    return defuse_markers(_CONTROL_RE.sub("", text))


def safe_inline(text: str, max_len: int = 500) -> str:
    """Redacted, neutralised text for a line of markdown."""
    return _clean(neutralise_inline(redact(text), max_len))


def safe_block(text: str, max_len: int = 4000) -> str:
    """Redacted, neutralised text for the inside of a fenced block (see ``fence``)."""
    return _clean(neutralise_block(redact(text), max_len))


def cell(text: str, max_len: int = 200) -> str:
    """A table cell: one line, pipes escaped, never empty (an empty cell would read as a broken row)."""
    flat = _SPACE_RE.sub(" ", safe_inline(text, max_len)).strip()
    return re.sub(r"(?<!\\)\|", r"\\|", flat) or "–"


def _ticks(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS_RE.findall(text)), default=0)
    return "`" * (longest + 1)


def safe_plain(text: str, max_len: int = 500) -> str:
    """One line of plain text: redacted, mentions and commands inert, no HTML escaping, bounded."""
    return truncate(_SPACE_RE.sub(" ", safe_block(text, max_len * 2)).strip(), max_len)


def code_span(text: str, max_len: int = 200, *, in_table: bool = False) -> str:
    """Untrusted text as inline code: redacted, inert, one line, bounded, with a delimiter it cannot close.

    In a table cell a pipe ends the cell even inside code; ``in_table`` escapes it (GFM shows ``|``).
    """
    flat = safe_plain(text, max_len)
    if not flat:
        return "–"
    ticks = _ticks(flat)
    pad = " " if flat.startswith("`") or flat.endswith("`") or len(ticks) > 1 else ""
    span = f"{ticks}{pad}{flat}{pad}{ticks}"
    return span.replace("|", "\\|") if in_table else span


def fence(body: str, lang: str = "text") -> str:
    """A fenced code block whose fence is longer than any backtick run inside, so it cannot be broken."""
    longest = max((len(run) for run in _BACKTICKS_RE.findall(body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def details(summary: str, body: str) -> str:
    """A collapsed block; ``summary`` must already be safe (safe_inline or a constant)."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def truncate(text: str, max_len: int) -> str:
    return text if len(text) <= max_len else text[: max_len - 1] + "…"
