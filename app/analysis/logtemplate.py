"""One log event → (template, level): variable parts masked, severity read from common formats.

Events are single lines or whole multi-line stack traces (``events.py`` groups them). The template of a
trace is its headline plus the first frame it names, so the same panic from the same place counts as one
template however its addresses and goroutine numbers vary.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache


class Level(StrEnum):
    ERROR = "error"
    WARN = "warn"
    INFO = "info"


LEVEL_WEIGHT = {Level.ERROR: 3, Level.WARN: 2, Level.INFO: 1}
MAX_TEMPLATE = 300

_LEVEL_RE = re.compile(
    r"\"(?:level|severity|lvl|log\.level|levelname)\"\s*:\s*\"(?P<json>\w+)\""
    r"|\b(?:level|lvl|severity)=\"?(?P<kv>\w+)"
    r"|^(?P<klog>[IWEF])(?:\d{4}|<\*>) "
    r"|\b(?P<word>ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|SEVERE|EMERG|ALERT|WARN|WARNING|INFO|DEBUG|TRACE|NOTICE)\b"
    r"|(?:^|[\s\[|(])(?P<lower>error|fatal|warn|warning|panic|critical)(?=[\s\]:|)])"
    r"|^(?P<start>panic: |fatal error: |Traceback \(most recent call last\):|Exception in thread )"
)
_ERROR_WORDS = frozenset({"error", "err", "fatal", "critical", "crit", "panic", "severe", "emerg", "alert"})
_ERROR_WORDS |= frozenset({"dpanic", "e", "f", "start", "exception"})
_WARN_WORDS = frozenset({"warn", "warning", "w"})
_HTTP_5XX_RE = re.compile(r"\" 5\d\d\b|-> 5\d\d\b|\b(?:status|code)=5\d\d\b")

_LEVEL_WORDS = "error|warn|warning|info|debug|fatal|panic|critical"
# One placeholder for every variable part (as Drain does): one regex pass with a constant replacement and
# no callback, which is what keeps 100k lines fast. Every alternative starts with a digit, a quote or a
# hex letter, so the engine skips other characters quickly. Kept: HTTP status codes after a quote,
# ``-> ``, ``status=`` or ``code=`` (they tell a 200 from a 503), level words in quotes (JSON logs),
# single-quoted values (Python's ``KeyError: 'currency'`` names the culprit), digits inside a word
# (``v1``, ``http2``, ``E0302``).
_MASK_RE = re.compile(
    r"(?=[\d\"a-fA-F])(?:"
    r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?!\w)"
    r"|(?<![A-Za-z0-9.])[a-f](?=[a-f]*\d)[0-9a-f]{6,}[\w.:-]*"
    r"|(?<![A-Za-z0-9.])(?:(?<!\" )(?<!-> )(?<!status=)(?<!code=)|(?![1-5]\d\d(?![\w.])))\d[\w.:-]*"
    rf"|(?<=[=:\s(\[,])\"(?!(?:{_LEVEL_WORDS})\")[^\"\s:,{{}}]{{1,64}}\"(?!\s*:)"
    r")"
)
_SPACE_RE = re.compile(r"\s+")
WILDCARD = "<*>"


def mask(text: str) -> str:
    """The template of one line: numbers, ids, times, addresses, short quoted values become ``<*>``."""
    masked = _MASK_RE.sub(WILDCARD, text[: MAX_TEMPLATE * 2])
    if "  " in masked or "\t" in masked:
        masked = _SPACE_RE.sub(" ", masked)
    return masked.strip()[:MAX_TEMPLATE]


def level_of(text: str) -> Level:
    match = _LEVEL_RE.search(text, 0, 400)
    if match is None:
        return Level.WARN if _HTTP_5XX_RE.search(text, 0, 400) else Level.INFO
    word = next(group for group in match.groups() if group).strip().lower()
    if word in _ERROR_WORDS or (match.lastgroup == "start"):
        return Level.ERROR
    if word in _WARN_WORDS:
        return Level.WARN
    return Level.INFO


@lru_cache(maxsize=16384)
def level_of_template(template: str) -> Level:
    """Templates keep what tells the level (level words, klog letters, status codes): read it once each."""
    return level_of(template)


def template_of(line: str) -> tuple[str, Level]:
    """Template and level of one (already redacted, timestamp-stripped) line."""
    template = mask(line)
    return template, level_of_template(template)
