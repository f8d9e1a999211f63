"""Redaction of secrets in everything that leaves the cluster (prompts, issues, logs of Fixloop itself).

Two layers: our own rules (``redact_rules``: formats of GitHub, AWS, GCP, Azure, Slack, Stripe, OpenAI
tokens, JWTs, Authorization headers, URL and connection-string passwords, PEM blocks, secret-looking
values under secret-like names) and the regex detectors of the detect-secrets library for the formats
we do not spell out (GitLab, SendGrid, Twilio, npm, PyPI, Square, Discord, ...). Its keyword and
high-entropy detectors are not used: they flag commit SHAs, digests and UUIDs, which must stay readable.

Disguised secrets: a zero-width character inside a token (``gh\u200bp_...``) or fullwidth letters hide it
from every pattern, yet the neutraliser (and any reader) folds them back into the token. So a line that is
not ASCII is folded first (invisible characters removed, NFKC) and the folded line is what goes on; ASCII
lines, nearly all of them, cost one ``isascii()``.

Speed: every rule and detector names literal anchors (``ghp_``, ``eyj``, ``://``, ``secret``...); a line is
inspected only by the rules whose anchors its lower-cased text holds, so most log lines cost a handful of
substring tests.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate
from typing import Any

from app.analysis.redact_rules import (
    ANCHORS,
    KEYWORDS,
    NAME_ASSIGNED_RE,
    PEM_BEGIN_RE,
    PEM_END_RE,
    PLACEHOLDER,
    RULES,
    Rule,
    trie_regex,
)

# detect-secrets detectors precise enough for logs: (module, class, lower-case anchors). The ones whose
# formats have no literal anchor (Twilio, Telegram, Discord, ...) run on lines holding a secret-like word.
_KW = KEYWORDS
_DETECTORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("artifactory", "ArtifactoryDetector", ("akc", "artifactory", "jfrog")),
    ("aws", "AWSKeyDetector", ("akia", "asia", "abia", "acca", "a3t", "aws")),
    ("azure_storage_key", "AzureStorageKeyDetector", ("accountkey",)),
    ("basic_auth", "BasicAuthDetector", ("://",)),
    ("discord", "DiscordBotTokenDetector", ("discord", *_KW)),
    ("github_token", "GitHubTokenDetector", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (
        "gitlab_token",
        "GitLabTokenDetector",
        (
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "gr1348941",
            "glcbt-",
            "glimt-",
            "glptt-",
            "glagent-",
            "gloas-",
        ),
    ),
    ("jwt", "JwtTokenDetector", ("eyj",)),
    ("mailchimp", "MailchimpDetector", ("-us",)),
    ("npm", "NpmDetector", ("_authtoken",)),
    ("openai", "OpenAIDetector", ("t3blbkfj",)),
    ("pypi_token", "PypiTokenDetector", ("pypi-",)),
    ("sendgrid", "SendGridDetector", ("sg.",)),
    ("slack", "SlackDetector", ("xox", "hooks.slack")),
    ("square_oauth", "SquareOAuthDetector", ("sq0csp-",)),
    ("stripe", "StripeDetector", ("_live_",)),
    ("telegram_token", "TelegramBotTokenDetector", ("telegram", "bot")),
    ("twilio", "TwilioKeyDetector", ("twilio", *_KW)),
)
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_TIMESTAMP_PREFIX_RE = re.compile(r"^\s*\[?\d{4}-\d{2}-\d{2}[T ][\d:.,]+(?:Z|[+-]\d{2}:?\d{2})?\]?\s*")
_KEY_MATERIAL_RE = re.compile(r"^(?:[A-Za-z0-9+/=]{8,}|Proc-Type:.*|DEK-Info:.*|Comment:.*|)\s*$")
_MIN_LIBRARY_SECRET = 8


@dataclass(frozen=True)
class _Detector:
    kind: str
    anchors: tuple[str, ...]
    plugin: Any  # a detect_secrets RegexBasedDetector


@lru_cache(maxsize=1)
def _library() -> tuple[_Detector, ...]:
    import importlib  # noqa: PLC0415 - detect-secrets is imported on first use only

    detectors = []
    for module_name, class_name, anchors in _DETECTORS:
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module_name}"), class_name)()
        kind = re.sub(r"[^a-z]+", "_", plugin.secret_type.lower()).strip("_")
        detectors.append(_Detector(kind, anchors, plugin))
    return tuple(detectors)


_ALL_ANCHORS = tuple(sorted(ANCHORS | {anchor for _, _, anchors in _DETECTORS for anchor in anchors}))
# A line (lower-cased) in which this finds nothing holds no secret we know how to find.
_PREFILTER = trie_regex(_ALL_ANCHORS)


def _suspect_lines(lines: list[str]) -> list[int]:
    """Indexes of the lines in which the pre-filter finds an anchor, in order."""
    blob = "\n".join(lines).lower()
    if len(blob) != sum(map(len, lines)) + max(len(lines) - 1, 0):  # lower() changed a length: per line
        return [i for i, line in enumerate(lines) if _PREFILTER.search(line.lower())]
    found: list[int] = []
    ends: list[int] = []
    for match in _PREFILTER.finditer(blob):
        if not ends:
            ends = list(accumulate(len(line) + 1 for line in lines))
        index = bisect_right(ends, match.start())
        if not found or found[-1] != index:
            found.append(index)
    return found


def fold(line: str) -> str:
    """The line as a reader sees it: invisible characters gone, compatibility forms (fullwidth) folded."""
    if line.isascii():
        return line
    return _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", _INVISIBLE_RE.sub("", line)))


class Redactor:
    """Replaces secrets with ``[REDACTED:<kind>]`` and counts what it removed, by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._detectors = _library()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def redact(self, text: str) -> str:
        if not text:
            return text
        return "\n".join(self.redact_lines(text.split("\n")))

    def redact_lines(self, lines: Iterable[str]) -> list[str]:
        """Redact line by line; a PEM private key spread over several lines is removed whole.

        The pre-filter runs once over the whole (lower-cased) text rather than once per line: only the
        lines it points at are inspected.
        """
        out = [fold(line) for line in lines]
        done_until = -1
        for index in _suspect_lines(out):
            if index <= done_until:
                continue  # a line of a private key block, already replaced
            line = out[index]
            out[index] = self.redact_line(line)
            begin = PEM_BEGIN_RE.search(line)
            if begin and not PEM_END_RE.search(line, begin.end()):
                done_until = self._key_block(out, index + 1)
        return out

    def _key_block(self, out: list[str], start: int) -> int:
        """Replace the lines of a private key after its BEGIN line; the index of its last line."""
        for index in range(start, len(out)):
            replaced, inside = self._key_continuation(out[index])
            if replaced is None:
                return index - 1
            out[index] = replaced
            if not inside:
                return index
        return len(out) - 1

    def redact_line(self, line: str) -> str:
        line = fold(line)
        low = line.lower()
        if not _PREFILTER.search(low):
            return line
        present = {anchor for anchor in _ALL_ANCHORS if anchor in low}
        if not present.isdisjoint(KEYWORDS) and not NAME_ASSIGNED_RE.search(line):
            present.difference_update(KEYWORDS)
        for rule in RULES:
            if not present.isdisjoint(rule.anchors):
                line = rule.pattern.sub(partial(self._replace, rule), line)
        for detector in self._detectors:
            if not present.isdisjoint(detector.anchors):
                line = self._library_pass(detector, line)
        return line

    def _replace(self, rule: Rule, match: re.Match[str]) -> str:
        group = next(
            (g for g in (rule.group, "dq", "sq") if g in match.re.groupindex and match.group(g)), None
        )
        if group is None:
            return match.group(0)
        value = match.group(group)
        if rule.accept is not None and not rule.accept(value, match):
            return match.group(0)
        self.counts[rule.kind] += 1
        start, end = match.span(group)
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + PLACEHOLDER.format(kind=rule.kind) + whole[end - offset :]

    def _library_pass(self, detector: _Detector, line: str) -> str:
        """Replace what one detect-secrets detector finds (its first group when that holds the secret)."""
        found: set[str] = set()
        for regex in detector.plugin.denylist:
            for match in regex.finditer(line):
                group = match.group(1) if match.re.groups and match.group(1) else ""
                found.add(group if len(group) >= _MIN_LIBRARY_SECRET else match.group(0).strip(" =:\"'"))
        for value in sorted(found, key=len, reverse=True):
            if len(value) >= _MIN_LIBRARY_SECRET and "REDACTED" not in value and value in line:
                self.counts[detector.kind] += line.count(value)
                line = line.replace(value, PLACEHOLDER.format(kind=detector.kind))
        return line

    def _key_continuation(self, line: str) -> tuple[str | None, bool]:
        """Inside a multi-line private key: (the replaced line, still inside), or (None, False) at its end."""
        prefix = _TIMESTAMP_PREFIX_RE.match(line)
        lead = prefix.group(0) if prefix else ""
        end = PEM_END_RE.search(line)
        if end:
            return lead + PLACEHOLDER.format(kind="private_key") + self.redact_line(line[end.end() :]), False
        if _KEY_MATERIAL_RE.match(line[len(lead) :]):
            return lead + PLACEHOLDER.format(kind="private_key"), True
        return None, False


def redact(text: str) -> str:
    """Text with every secret we recognise replaced by ``[REDACTED:<kind>]``."""
    return Redactor().redact(text)


def redact_lines(lines: Iterable[str]) -> list[str]:
    return Redactor().redact_lines(lines)
