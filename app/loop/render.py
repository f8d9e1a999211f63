"""What Fixloop writes on GitHub, in one place to import from.

The rendering is split by concern: ``render_issue`` (title and body), ``render_status`` (the status
comment and its Mermaid flowchart), ``render_comments`` (recurrence, reopened, verified), with the
shared facts in ``render_facts`` and the untrusted-text helpers in ``render_text``. Everything that came
from logs, the cluster or the LLM is redacted, then neutralised, before it is put in markdown.
"""

from __future__ import annotations

from app.loop.render_comments import (
    LearnedSummary,
    diff_learned,
    render_recurrence_comment,
    render_reopened_note,
    render_verified_comment,
)
from app.loop.render_facts import Signature, error_signatures, failing_signatures
from app.loop.render_issue import GITHUB_BODY_LIMIT, Link, issue_title, render_issue_body
from app.loop.render_status import (
    DeploymentView,
    LinkedPR,
    PrState,
    StatusView,
    render_mermaid,
    render_status_comment,
)

__all__ = [
    "GITHUB_BODY_LIMIT",
    "DeploymentView",
    "LearnedSummary",
    "Link",
    "LinkedPR",
    "PrState",
    "Signature",
    "StatusView",
    "diff_learned",
    "error_signatures",
    "failing_signatures",
    "issue_title",
    "render_issue_body",
    "render_mermaid",
    "render_recurrence_comment",
    "render_reopened_note",
    "render_status_comment",
    "render_verified_comment",
]
