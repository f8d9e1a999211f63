"""What the redactor looks for: precise formats first, then secret-looking values under secret-like names.

Each rule keeps the surrounding text (the key name, ``scheme://user:``, ``Authorization: Bearer``) and
replaces only the secret value with ``[REDACTED:<kind>]``. Kinds hold no digits, so the log templating
(which masks words with digits) leaves the placeholder intact.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = "[REDACTED:{kind}]"


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]  # lower-case substrings, one of which a line must hold for the rule to run
    group: str = "secret"  # the named group that holds the secret value
    accept: Callable[[str, re.Match[str]], bool] | None = None  # False: a false positive, keep it


_PLACEHOLDERS = frozenset(
    {"", "null", "none", "nil", "true", "false", "undefined", "redacted", "changeme", "xxx", "n/a", "-"}
)
_TEMPLATE_RE = re.compile(r"^(?:\$\{?[\w.-]+\}?|\{\{.*\}\}|<[\w .-]*>|%\(?\w*\)?s|\*+|x{3,}|\.{3,})$", re.I)
PASSWORD_NAMES = re.compile(r"pass(?:word|wd|phrase)?|pwd", re.I)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def _classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def is_placeholder(value: str) -> bool:
    stripped = value.strip("\"'")
    return stripped.lower() in _PLACEHOLDERS or "REDACTED" in stripped or bool(_TEMPLATE_RE.match(stripped))


_IDENTIFIER_RE = re.compile(r"^[a-z]+(?:[-_./][a-z]+)*$")


def looks_secret(value: str) -> bool:
    """A value that is plausibly a credential: long enough, varied enough, not a count, word or name."""
    if is_placeholder(value) or value.isdigit() or _IDENTIFIER_RE.match(value):
        return False
    if len(value) >= 20 and entropy(value) >= 3.0:
        return True
    mixed = any(c.isdigit() for c in value) or (
        any(c.isupper() for c in value) and any(c.islower() for c in value)
    )
    return len(value) >= 8 and mixed and _classes(value) >= 2 and entropy(value) >= 2.5


def _keyword_value(value: str, match: re.Match[str]) -> bool:
    name = match.group("name")
    if not NAME_RE.search(name):
        return False
    if PASSWORD_NAMES.search(name) and not re.search(r"(?i)count|length|policy|reset|expir|_at$", name):
        if name.lower() in ("pwd", "oldpwd") and value.startswith("/"):
            return False  # PWD=/home/app in an environment dump is a directory
        return not is_placeholder(value)
    return looks_secret(value)


def _bearer_value(value: str, _match: re.Match[str]) -> bool:
    return looks_secret(value)


_NAMES = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|credentials?|auth[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|"
    r"account[_-]?key|session[_-]?(?:id|key|token)|cookie|signature|(?-i:[A-Z0-9]+_KEY)"
)
_KEY = r"(?<![\w.-])(?P<name>[\w.-]{1,80}+)"  # any key; _keyword_value checks its name
NAME_RE = re.compile(_NAMES, re.I)
# A secret-like name followed by an assignment: a line with a keyword but none of these ("tests passed",
# "3 keys loaded") skips the keyword rules.
NAME_ASSIGNED_RE = re.compile(rf"(?i)(?:{_NAMES})[\w.-]*[\"']?\s*(?::=|=>|[:=])|-(?:{_NAMES})[= ]")
_SEP = r"""(?P<sep>["']?\s*(?::=|=>|[:=])\s*)"""
_VALUE = r"""(?:"(?P<dq>[^"\n]{1,500})"|'(?P<sq>[^'\n]{1,500})'|(?P<secret>[^\s"',;&<>{}()\[\]]{1,500}))"""
KEYWORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "cookie",
    "sessionid",
    "session_id",
    "signature",
)
_AWS_IDS = ("akia", "asia", "abia", "acca", "a3t")
_PEM_NAME = r"(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?"

PEM_BEGIN_RE = re.compile(rf"-----BEGIN {_PEM_NAME}-----")
PEM_END_RE = re.compile(rf"-----END {_PEM_NAME}-----")

RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        re.compile(rf"(?P<secret>-----BEGIN {_PEM_NAME}-----.*?(?:-----END {_PEM_NAME}-----|$))"),
        ("-----begin",),
    ),
    Rule(
        "jwt",
        re.compile(r"(?P<secret>\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)"),
        ("eyj",),
    ),
    Rule(
        "github_token",
        re.compile(r"(?P<secret>\b(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{22,247})\b)"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Rule(
        "aws_access_key_id",
        re.compile(r"(?P<secret>\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b)"),
        _AWS_IDS,
    ),
    Rule("gcp_api_key", re.compile(r"(?P<secret>\bAIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])"), ("aiza",)),
    Rule("slack_token", re.compile(r"(?P<secret>\bxox[abposr]-[A-Za-z0-9-]{10,})"), ("xox",)),
    Rule(
        "slack_webhook",
        re.compile(r"hooks\.slack\.com/services/(?P<secret>[A-Za-z0-9_/]{10,})"),
        ("hooks.slack",),
    ),
    Rule(
        "stripe_key",
        re.compile(r"(?P<secret>\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,})"),
        ("k_live_", "k_test_"),
    ),
    Rule(
        "openai_key", re.compile(r"(?P<secret>\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})"), ("sk-",)
    ),
    Rule("npm_token", re.compile(r"(?P<secret>\bnpm_[A-Za-z0-9]{36})"), ("npm_",)),
    Rule(
        "azure_storage_key",
        re.compile(r"(?i)\b(?:Account|SharedAccess)Key=(?P<secret>[A-Za-z0-9+/=]{20,})"),
        ("accountkey", "sharedaccesskey"),
    ),
    Rule("azure_sas", re.compile(r"(?i)[?&;\s\"']sig=(?P<secret>[A-Za-z0-9%+/=]{16,})"), ("sig=",)),
    Rule(
        "url_password",
        re.compile(
            r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/?#@\"'<>]{1,200}:(?P<secret>[^\s/?#@\"'<>]{1,200})@"
        ),
        ("://",),
        accept=lambda value, _m: not is_placeholder(value),
    ),
    Rule(
        "authorization",
        re.compile(
            r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|apikey|sso-key)\s+)?(?P<secret>[^\s\"',;]{4,})"
        ),
        ("authorization",),
        accept=lambda value, _m: not is_placeholder(value),
    ),
    Rule(
        "authorization",
        re.compile(r"(?i)\b(?:bearer|basic)\s+(?P<secret>[A-Za-z0-9._~+/-]{12,}=*)"),
        ("bearer", "basic"),
        accept=_bearer_value,
    ),
    Rule(
        "aws_secret_access_key",
        re.compile(
            r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        ("secret",),
    ),
    Rule("secret", re.compile(rf"{_KEY}{_SEP}{_VALUE}"), KEYWORDS, accept=_keyword_value),
    Rule(
        "secret",
        re.compile(rf"(?i)(?<![\w-])--?(?P<name>{_NAMES})[= ](?P<secret>[^\s\"']{{4,}})"),
        KEYWORDS,
        accept=_keyword_value,
    ),
)

ANCHORS: frozenset[str] = frozenset(anchor for rule in RULES for anchor in rule.anchors)


def trie_regex(words: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of ``words``, factored as a trie: far faster than a flat alternation."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a shorter word already matches here
        alternatives = [re.escape(char) + build(child) for char, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"

    return re.compile(build(trie))
