"""Per-repository behaviour from ``.github/fixloop.yml`` (probot's convention), merged over defaults.

The file is the repository owner's, but a broken file is never a crash: each problem (bad YAML, an
unknown key, a wrong type or value) is reported with its line, and the default is used for that key.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import yaml

from app.loop.incident.repo_config_checks import CHECKS, CONTROL_RE, KNOWN_KEYS, TIMEOUT_KEYS, check_sources
from app.loop.incident.repo_config_model import (
    CONFIG_PATH,
    DEFAULT_CONFIG,
    MAX_CONFIG_CHARS,
    MAX_TIMEOUT_HOURS,
    AgentName,
    AnalysisConfig,
    ConfigProblem,
    ConfigResult,
    RedeployMode,
    RepoConfig,
    StageTimeouts,
)
from app.loop.render.markers import CONFIG_PROBLEMS_MARKER, defuse_markers

# The model lives in repo_config_model, the checks of each key in repo_config_checks (beside this module);
# callers import the model, the checks' tables and the parser from here.
__all__ = [
    "CHECKS",
    "CONFIG_PATH",
    "DEFAULT_CONFIG",
    "KNOWN_KEYS",
    "TIMEOUT_KEYS",
    "AgentName",
    "AnalysisConfig",
    "ConfigProblem",
    "ConfigResult",
    "RedeployMode",
    "RepoConfig",
    "StageTimeouts",
    "parse_repo_config",
    "problem_line",
    "render_config_problems",
    "resolve_agent",
    "resolve_image",
]


def resolve_agent(config: RepoConfig, annotation: str | None) -> AgentName:
    """The file's ``agent`` if it set one, else the Rollout's ``fixloop.dev/agent`` if valid, else none."""
    if "agent" in config.keys_set or not annotation:
        return config.agent
    agent, problem = CHECKS["agent"](annotation)
    return agent if problem is None and isinstance(agent, AgentName) else config.agent


def resolve_image(config: RepoConfig, annotation: str | None) -> str | None:
    """The file's ``image`` template, else the Rollout's ``fixloop.dev/image`` if it is a valid template."""
    if config.image or not annotation:
        return config.image
    image, problem = CHECKS["image"](annotation)
    return image if problem is None and isinstance(image, str) else None


def _key_lines(node: yaml.Node | None) -> tuple[dict[tuple[str, ...], int], list[ConfigProblem]]:
    """1-based line of each key (top level and one level down), and duplicate-key problems."""
    lines: dict[tuple[str, ...], int] = {}
    problems: list[ConfigProblem] = []

    def walk(mapping: yaml.Node, path: tuple[str, ...]) -> None:
        if not isinstance(mapping, yaml.MappingNode):
            return
        for key_node, value_node in mapping.value:
            key = (*path, str(key_node.value))
            line = key_node.start_mark.line + 1
            if key in lines:
                problems.append(ConfigProblem(".".join(key), line, "duplicate key; the last one is used"))
            lines[key] = line
            if not path:
                walk(value_node, key)

    if node is not None:
        walk(node, ())
    return lines, problems


def _timeouts(value: object, lines: dict[tuple[str, ...], int]) -> tuple[object, list[ConfigProblem]]:
    key = "stage_timeouts"
    if not isinstance(value, dict):
        return None, [ConfigProblem(key, lines.get((key,)), "must be a mapping of stage to hours")]
    problems: list[ConfigProblem] = []
    hours: dict[str, float] = {}
    for name, raw in value.items():
        where = (f"{key}.{name}", lines.get((key, str(name))))
        if name not in TIMEOUT_KEYS:
            problems.append(ConfigProblem(*where, "unknown key; known: " + ", ".join(TIMEOUT_KEYS)))
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= MAX_TIMEOUT_HOURS:
            message = f"must be a number of hours above 0 and at most {MAX_TIMEOUT_HOURS}; using the default"
            problems.append(ConfigProblem(*where, message))
        else:
            hours[name] = float(raw)
    return dataclasses.replace(StageTimeouts(), **hours), problems


def _apply(data: dict[object, object], lines: dict[tuple[str, ...], int]) -> ConfigResult:
    problems: list[ConfigProblem] = []
    changes: dict[str, Any] = {}  # checked values, typed per field by CHECKS
    for key, value in data.items():
        line = lines.get((str(key),))
        if not isinstance(key, str) or key not in KNOWN_KEYS:
            problems.append(ConfigProblem(str(key), line, "unknown key; ignored"))
        elif value is None:  # `key:` with nothing after it: the default
            continue
        elif key == "sources":  # a broken list consents to nothing rather than to the default
            changes[key], message = check_sources(value)
            if message:
                problems.append(ConfigProblem(key, line, message))
        elif key == "stage_timeouts":
            changes[key], found = _timeouts(value, lines)
            problems.extend(found)
        else:
            parsed, message = CHECKS[key](value)
            if message is None:
                changes[key] = parsed
            else:
                problems.append(ConfigProblem(key, line, f"{message}; using the default"))
    changes["keys_set"] = frozenset(changes)
    return ConfigResult(dataclasses.replace(DEFAULT_CONFIG, **changes), problems)


def _load(text: str) -> tuple[object, yaml.Node | None, ConfigProblem | None]:
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader), None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        reason = exc.problem or exc.context or "invalid YAML"
        return None, None, ConfigProblem(None, line, f"invalid YAML: {reason}; using the defaults", column)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        message = f"unreadable YAML ({type(exc).__name__}); using the defaults"
        return None, None, ConfigProblem(None, None, message)


def parse_repo_config(text: str | None) -> ConfigResult:
    """Parse ``.github/fixloop.yml``. Never raises: problems come back with the defaults they caused."""
    if text is None or not text.strip():
        return ConfigResult(DEFAULT_CONFIG)
    if len(text) > MAX_CONFIG_CHARS:
        return ConfigResult(DEFAULT_CONFIG, [ConfigProblem(None, None, "file too large; using the defaults")])
    data, node, problem = _load(text)
    if problem is not None:
        return ConfigResult(DEFAULT_CONFIG, [problem])
    if data is None:  # only comments
        return ConfigResult(DEFAULT_CONFIG)
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        message = "must be a mapping of keys to values; using the defaults"
        return ConfigResult(DEFAULT_CONFIG, [ConfigProblem(None, line, message)])
    lines, duplicates = _key_lines(node)
    result = _apply(data, lines)
    return ConfigResult(result.config, duplicates + result.problems)


def _inline_code(text: str) -> str:
    cleaned = defuse_markers(CONTROL_RE.sub("", text.replace("\n", " ")))[:80].replace("`", "'")
    return f"`{cleaned}`"


def problem_line(problem: ConfigProblem) -> str:
    where = f"line {problem.line}" if problem.line else "the file"
    if problem.line and problem.column:
        where += f", column {problem.column}"
    subject = f"{_inline_code(problem.key)} ({where})" if problem.key else where.capitalize()
    return f"- {subject}: {html.escape(problem.message, quote=False)}"


def render_config_problems(problems: list[ConfigProblem]) -> str:
    """A markdown comment listing the problems of ``.github/fixloop.yml``, with the hidden marker."""
    shown = "\n".join(problem_line(problem) for problem in problems[:50])
    more = f"\n- … and {len(problems) - 50} more" if len(problems) > 50 else ""
    return (
        f"{CONFIG_PROBLEMS_MARKER}\n"
        f"### Problems in `{CONFIG_PATH}`\n\n"
        "Fixloop read the file on the default branch and used the defaults where it could not follow it:\n\n"
        f"{shown}{more}\n\n"
        "Fix the file on the default branch; Fixloop reads it again on the next failure."
    )
