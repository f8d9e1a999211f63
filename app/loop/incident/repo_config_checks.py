"""How each key of ``.github/fixloop.yml`` is checked: a YAML value in, the field's value or the reason out.

Used by the parser (``incident.repo_config``) and for the Rollout annotations that stand in for a key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from enum import StrEnum
from urllib.parse import urlsplit

from app.clusters import MAX_RULES, SourceRule, source_rule
from app.loop.incident.repo_config_model import (
    MAX_EXTRA_PROMPT,
    MAX_HUMANS,
    MAX_LABELS,
    MAX_TIMEOUT_HOURS,
    AgentName,
    AnalysisConfig,
    RedeployMode,
    StageTimeouts,
)
from app.loop.incident.stages import Stage

_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@{}-]*$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but tab and newline


# Each check turns a YAML value into the field's value, or gives the reason it cannot.
Check = Callable[[object], tuple[object, str | None]]


def _enum_check(enum: type[StrEnum], allowed: tuple[str, ...] | None = None) -> Check:
    names = allowed or tuple(member.value for member in enum)

    def check(value: object) -> tuple[object, str | None]:
        if isinstance(value, str) and value.strip().lower() in names:
            return enum(value.strip().lower()), None
        return None, "must be one of " + ", ".join(names)

    return check


def _check_prompt(value: object) -> tuple[object, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    if len(value) > MAX_EXTRA_PROMPT:
        return None, f"must be at most {MAX_EXTRA_PROMPT} characters"
    return CONTROL_RE.sub("", value).strip(), None


def _string_list(value: object) -> list[str] | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    return list(dict.fromkeys(item.strip() for item in items))


def _check_labels(value: object) -> tuple[object, str | None]:
    labels = _string_list(value)
    if labels is None or len(labels) > MAX_LABELS:
        return None, f"must be a list of at most {MAX_LABELS} label names"
    if not all(0 < len(label) <= 50 and not CONTROL_RE.search(label) for label in labels):
        return None, "label names must be 1 to 50 characters"
    return tuple(labels), None


def _check_humans(value: object) -> tuple[object, str | None]:
    logins = _string_list(value)
    if logins is None or len(logins) > MAX_HUMANS:
        return None, f"must be a list of at most {MAX_HUMANS} GitHub logins"
    logins = [login.removeprefix("@") for login in logins]
    if not all(_LOGIN_RE.match(login) for login in logins):
        return None, "must hold GitHub logins (letters, digits, single hyphens)"
    return tuple(logins), None


def _check_attempts(value: object) -> tuple[object, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10:
        return value, None
    return None, "must be a whole number from 1 to 10"


def _check_image(value: object) -> tuple[object, str | None]:
    if not isinstance(value, str) or "{sha}" not in value:
        return None, "must be an image template containing {sha}, e.g. ghcr.io/acme/web:{sha}"
    rest = value.replace("{sha}", "")
    if "{" in rest or "}" in rest or not _IMAGE_RE.match(value) or len(value) > 512:
        return None, "must be an image reference with {sha} as its only placeholder"
    return value, None


def _check_environment(value: object) -> tuple[object, str | None]:
    if not isinstance(value, str) or not value.strip() or len(value) > 255 or CONTROL_RE.search(value):
        return None, "must be a deployment environment name of 1 to 255 characters"
    return value.strip(), None


def _check_analysis(value: object) -> tuple[object, str | None]:
    if not isinstance(value, dict) or set(value) - {"a2a_url"}:
        return None, "must be a mapping with the key a2a_url"
    url = value.get("a2a_url")
    if url is None:
        return AnalysisConfig(), None
    parts = urlsplit(url) if isinstance(url, str) and len(url) <= 500 else None
    if parts is None or parts.scheme != "https" or not parts.hostname or CONTROL_RE.search(url) or " " in url:
        return None, "a2a_url must be an https URL of an A2A agent"
    return AnalysisConfig(a2a_url=url.rstrip("/")), None


def _check_soak(value: object) -> tuple[object, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_TIMEOUT_HOURS:
        return None, f"must be a number of hours from 0 to {MAX_TIMEOUT_HOURS}"
    return float(value), None


CHECKS: dict[str, Check] = {
    "agent": _enum_check(AgentName),
    "extra_prompt": _check_prompt,
    "labels": _check_labels,
    "max_attempts": _check_attempts,
    "redeploy": _enum_check(RedeployMode),
    "image": _check_image,
    "environment": _check_environment,
    "assign_humans": _check_humans,
    "on_pr_closed": _enum_check(Stage, (Stage.AGENT_WORKING.value, Stage.NEEDS_HUMAN.value)),
    "analysis": _check_analysis,
    "soak_hours": _check_soak,
}
TIMEOUT_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(StageTimeouts))
KNOWN_KEYS: tuple[str, ...] = (*CHECKS, "stage_timeouts", "sources")


def check_sources(value: object) -> tuple[tuple[SourceRule, ...], str | None]:
    rules = [source_rule(item) for item in value] if isinstance(value, list) else [None]
    if None in rules or len(rules) > MAX_RULES:
        why = f"a list of at most {MAX_RULES} `{{cluster: <glob>, namespaces: [<glob>, ...]}}`"
        return (), f"{why}; consenting to no cluster until it is fixed"
    return tuple(r for r in rules if r is not None), None
