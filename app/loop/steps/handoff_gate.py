"""Whether an incident may go to a coding agent: an infrastructure failure never does.

An image that cannot be pulled, a pod that cannot be scheduled, a quota, a node, a metric provider with
no data: nothing in the repository's code explains them, and an agent handed one would invent a change.
The gate holds on every path that engages an agent (the first issue, a recurrence, a resumed hand-off,
``/fixloop assign``). It believes the analysis' classification, and also checks the evidence itself
with the offline analyser, so that an LLM calling an ``ImagePullBackOff`` "code" cannot open the way.
A person (``agent: none``, ``/fixloop assign @user``) may always take it.
"""

from __future__ import annotations

from app.analysis.evidence import Evidence
from app.analysis.offline import analyse_offline
from app.analysis.verdict import Classification, Verdict

INFRA_LABEL = "infra"
INFRA_PROBLEM = (
    "classified `infra` ({why}): nothing in the code to fix, so no coding agent was engaged. "
    "Fix it on the cluster side (image, registry access, scheduling, quota, node, metric provider), then "
    "`/fixloop retry`; or hand it to a person with `/fixloop assign @user`."
)


def infra_reason(evidence: Evidence, verdict: Verdict) -> str:
    """Why the failure is the platform's ("" when it is not): the verdict's word, or the evidence's."""
    if verdict.classification is Classification.INFRA:
        return _short(verdict.root_cause or verdict.title or "the analysis says so")
    offline = verdict if verdict.source == "offline" else analyse_offline(evidence)
    if offline.classification is Classification.INFRA:
        return _short(offline.root_cause or offline.title)
    return ""


def infra_problem(reason: str) -> str:
    return INFRA_PROBLEM.format(why=reason)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"
