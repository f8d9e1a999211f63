"""The offline analyser: a Verdict from the evidence alone (no LLM configured, or the LLM failed).

Order of belief: a canary-only error in the logs (a panic names the title), then crashes, then infrastructure
and configuration trouble, then failed metrics. ``promote`` is true only when the canary shows none of
these compared with stable, and there is enough evidence to say so.
"""

from __future__ import annotations

import re
from dataclasses import replace

from app.analysis.compact import CompactedLogs, Template, compact
from app.analysis.evidence import Evidence, Side
from app.analysis.findings import Findings, find, suspected_files
from app.analysis.signals import Signals, describe_metric, read_signals
from app.analysis.verdict import Classification, Verdict

TITLE_MAX = 100
_LEVEL_PREFIX_RE = re.compile(
    r"^(?:\[?(?:ERROR|ERR|FATAL|CRITICAL|WARN|WARNING|E|W)\]?[\s:]+|level=\w+\s+"
    r"|[EWF]\d{4} [\d:.]+\s+\d+\s+\S+\]\s*)",
    re.IGNORECASE,
)
_JAVA_THREAD_RE = re.compile(r'^Exception in thread "[^"]*" ')
_CONFIG_ERROR_RE = re.compile(
    r"(?i)\b(?:environment variable|env(?:ironment)? var|config(?:uration)?\b.*\b(?:missing|not set|required|"
    r"invalid)|(?:missing|required) (?:setting|secret|config)|is not set\b|must be set\b)"
)
_HINTS = {
    "panic": "Reproduce with the input from the sample, guard the failing access and add a regression test.",
    "trace": "Reproduce from the stack trace, fix the failing call and add a regression test.",
    "error": "Find where the new version logs this error and why it is new compared with stable.",
    "oom": "Compare the new version's memory use with its container limit; look for a leak or a larger load.",
    "crash": "Read the crashed container's previous log and fix why the new version exits.",
    "infra": "Fix the cluster-side problem (image, registry access, scheduling, metric provider); the code "
    "may be fine: retry the rollout once it is resolved.",
    "config": "Check the configuration the new version needs (ConfigMaps, Secrets, environment, limits).",
    "metric": "Compare the failing metric between canary and stable and look for the change that moved it.",
}


def _clip(text: str, limit: int = TITLE_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _headline(template: Template) -> str:
    """The telling line of a template's first sample, without timestamp and level prefix."""
    sample = template.samples[0] if template.samples else template.text
    lines = sample.splitlines() or [""]
    if lines[0].startswith("Traceback"):
        lines = [line for line in lines if line and not line[0].isspace()][-1:] or lines
    return _LEVEL_PREFIX_RE.sub("", lines[0]).strip()


def _cause_title(rollout: str, template: Template) -> tuple[str, str]:
    line = _JAVA_THREAD_RE.sub("", _headline(template))
    if line.startswith(("panic: ", "fatal error: ")):
        return f"Canary {rollout} panics: {line.split(': ', 1)[1]}", "panic"
    if template.multiline:
        return f"Canary {rollout} raises {line}", "trace"
    return f"Canary {rollout} logs a new error: {line}", "error"


def _ratio_text(template: Template) -> str:
    where = f"{template.canary} times in {template.canary_pods} canary pod(s)"
    return f"{where}, never in stable" if template.novel else f"{where}, {template.stable} times in stable"


def _log_facts(findings: Findings) -> list[str]:
    facts = [f"new canary error x{t.canary}: {_clip(t.text, 200)}" for t in findings.causes[:4]]
    facts += [
        f"error far more frequent in canary: {_clip(t.text, 160)} ({_ratio_text(t)})"
        for t in findings.elevated[:2]
    ]
    return facts + [f"new canary warning x{t.canary}: {_clip(t.text, 160)}" for t in findings.warnings[:2]]


def _decide(
    evidence: Evidence, compacted: CompactedLogs, findings: Findings, signals: Signals
) -> tuple[str, str, str, Classification, int]:
    """(title, root cause, hint key, classification, confidence) from the strongest signal."""
    rollout = evidence.rollout
    crash = signals.app_crashes[0] if signals.app_crashes else None
    if findings.causes:
        top = findings.causes[0]
        title, hint = _cause_title(rollout, top)
        cause = f"New in the canary: `{_clip(top.text, 300)}` ({_ratio_text(top)})."
        support = bool(crash or signals.failed_metrics)
        confidence = min(95, 75 + (5 if hint != "error" else 0) + (10 if support else 0))
        if hint == "error" and _CONFIG_ERROR_RE.search(top.text):  # the code is fine, its settings are not
            return title, cause, "config", Classification.CONFIG, confidence
        return title, cause, hint, Classification.CODE, confidence
    if crash:
        oom = crash.reason == "OOMKilled"
        exit_code = f" (exit code {crash.exit_code})" if crash.exit_code is not None else ""
        title = (
            f"Canary {rollout} is OOMKilled{exit_code}"
            if oom
            else f"Canary {rollout} crashes: {crash.reason}{exit_code}"
        )
        return (
            title,
            f"The canary container crashes: {crash.describe()}.",
            "oom" if oom else "crash",
            Classification.CODE,
            75,
        )
    return _decide_cluster(evidence, findings, signals)


def _decide_cluster(
    evidence: Evidence, findings: Findings, signals: Signals
) -> tuple[str, str, str, Classification, int]:
    """The strongest non-log signal: infrastructure, configuration, then failed metrics."""
    rollout = evidence.rollout
    if signals.infra or (signals.provider_errors and not signals.failed_metrics):
        what = signals.infra[0] if signals.infra else describe_metric(signals.provider_errors[0])
        return (
            f"Canary {rollout} blocked by infrastructure: {what}",
            f"Infrastructure, not the code: {what}.",
            "infra",
            Classification.INFRA,
            80 if signals.infra else 60,
        )
    if signals.config:
        return (
            f"Canary {rollout} has a configuration error: {signals.config[0]}",
            f"Configuration: {signals.config[0]}.",
            "config",
            Classification.CONFIG,
            75,
        )
    if signals.failed_metrics:
        metric = signals.failed_metrics[0]
        values = ", ".join(metric.values[-3:]) or "no value"
        condition = metric.success_condition or metric.failure_condition or "?"
        title = f"Canary {rollout} fails metric {metric.name}: {values} vs {condition}"
        cause = f"The canary fails {describe_metric(metric)}, with no new error in its logs."
        classification = Classification.CODE if evidence.images else Classification.UNKNOWN
        return title, cause, "metric", classification, 55 if findings.elevated else 45
    return "", "", "", Classification.UNKNOWN, 0


def _overview(evidence: Evidence, findings: Findings, signals: Signals) -> str:
    """What the evidence holds, counted: the summary, so that it does not repeat the root cause."""
    canary = evidence.pods_on(Side.CANARY)
    crashed = {crash.pod for crash in signals.app_crashes}
    parts = [f"{len(crashed)} of {len(canary)} canary pod(s) crashed or restarted"] if crashed else []
    if findings.causes:
        parts.append(f"{len(findings.causes)} error signature(s) only the canary logs")
    for what, metrics in (
        ("failed metric(s)", signals.failed_metrics),
        ("unmeasured metric(s)", signals.provider_errors),
    ):
        if metrics:
            parts.append(f"{what} " + ", ".join(dict.fromkeys(m.name for m in metrics)))
    if signals.infra:
        parts.append(f"{len(signals.infra)} infrastructure signal(s), first: {_clip(signals.infra[0], 120)}")
    if signals.config:
        parts.append(f"{len(signals.config)} configuration signal(s)")
    if not parts:
        return ""
    return f"Canary {evidence.rollout} against {len(evidence.pods_on(Side.STABLE))} stable pod(s): " + (
        "; ".join(parts) + "."
    )


def _healthy(evidence: Evidence, compacted: CompactedLogs, findings: Findings) -> Verdict:
    canary_pods = len(evidence.pods_on(Side.CANARY))
    measured = any(m.phase == "Successful" for m in evidence.metrics)
    if not compacted.canary_lines and not measured:
        summary = "Not enough evidence: no canary log lines and no successful metric to judge the canary by."
        return Verdict(f"Canary {evidence.rollout}: not enough evidence", summary, "Unknown.", confidence=0)
    if evidence.aborted or findings.elevated or findings.warnings:
        summary = "The rollout was aborted but the evidence shows no clear cause in the canary."
        if findings.elevated or findings.warnings:
            summary = (
                "No new error, crash or failed metric, but the canary logs some errors or warnings "
                "more than stable."
            )
        title = f"Canary {evidence.rollout} failed without a clear signal"
        return Verdict(
            title, summary, "Unknown: no signal stands out.", tuple(_log_facts(findings)), confidence=20
        )
    volume = compacted.canary_events
    confidence = 85 if volume >= 1000 else 75 if volume >= 100 else 60
    summary = (
        f"No new errors, crashes or failed metrics in the canary ({canary_pods} pod(s), "
        f"{compacted.canary_lines} log lines) compared with stable."
    )
    return Verdict(
        f"Canary {evidence.rollout} looks healthy",
        summary,
        "None found.",
        (),
        (),
        "",
        Classification.UNKNOWN,
        True,
        confidence,
    )


def analyse_offline(
    evidence: Evidence, *, extra_prompt: str = "", compacted: CompactedLogs | None = None
) -> Verdict:
    """A Verdict from the evidence alone; ``extra_prompt``'s ``Ignore ...`` instructions are honoured."""
    compacted = compacted if compacted is not None else compact(evidence.logs)
    findings = find(compacted, extra_prompt)
    signals = read_signals(evidence)
    title, cause, hint, classification, confidence = _decide(evidence, compacted, findings, signals)
    audit = {
        "analyser": "offline",
        "novel_errors": len(findings.causes),
        "ignored_templates": len(findings.ignored),
        "value_changes": len(findings.changes),
        "crashes": len(signals.app_crashes),
        "failed_metrics": len(signals.failed_metrics),
        "infra_signals": len(signals.infra) + len(signals.provider_errors),
    }
    if not title:
        return replace(_healthy(evidence, compacted, findings), audit=audit)
    facts = _log_facts(findings) + [c.describe() for c in signals.app_crashes[:3]]
    facts += [describe_metric(m) for m in (signals.failed_metrics + signals.provider_errors)[:3]]
    facts += signals.infra[:3] + signals.config[:2]
    summary = _overview(evidence, findings, signals) or cause
    if findings.ignored:
        summary += f" {len(findings.ignored)} template(s) left out on the repository's instruction."
    files = suspected_files(s for t in findings.causes[:3] for s in t.samples)
    return Verdict(
        title=_clip(title),
        summary=summary,
        root_cause=cause,
        evidence=tuple(_clip(f, 300) for f in facts[:8]),
        suspected_files=files,
        fix_hint=_HINTS.get(hint, ""),
        classification=classification,
        promote=False,
        confidence=confidence,
        source="offline",
        audit=audit,
    )
