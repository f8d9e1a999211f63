"""Token estimation without a tokenizer, and fitting the log templates into a token budget.

``tiktoken`` needs to download its vocabulary on first use, which fails offline, and the endpoint may
not be OpenAI's anyway (Gemini, Llama, Qwen tokenise differently). So: a conservative heuristic, made to
over-count for logs, where real BPE tokenizers spend many tokens:

- a run of ASCII letters: one token per 4 letters, at least one (English averages ~4.5 per token);
- a run of digits: one token per 3 digits (cl100k/o200k split numbers in groups of up to three);
- every other visible character (punctuation, brackets, ``=``, ``:``): one token each;
- every non-ASCII character: two tokens (CJK, emoji and accented text cost more than one);
- newlines one token, other whitespace free (it merges into the next word);
- plus 10 %.

Measured against o200k/cl100k on log lines this over-counts by roughly 10-40 %; on prose by ~20 %.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.compact import Template

_PIECE_RE = re.compile(r"[A-Za-z]+|[0-9]+|\n|[^\sA-Za-z0-9]")
MARGIN = 1.1

# Ways to shrink the must-keep templates, tried in order: (samples, sample chars, template chars).
SHRINK_STEPS: tuple[tuple[int, int, int], ...] = (
    (3, 1500, 300),
    (2, 800, 300),
    (1, 500, 300),
    (1, 200, 200),
    (0, 0, 160),
    (0, 0, 100),
)
FILL_STEP = (1, 300, 300)  # other templates, added by rank while they fit


def estimate_tokens(text: str) -> int:
    """Conservative estimate of the number of tokens ``text`` costs (see the module docstring)."""
    count = 0
    for piece in _PIECE_RE.findall(text):
        first = piece[0]
        if "a" <= first.lower() <= "z" and len(piece) > 1:
            count += (len(piece) + 3) // 4
        elif "0" <= first <= "9":
            count += (len(piece) + 2) // 3
        else:
            count += 1 if first.isascii() else 2
    return int(count * MARGIN + 0.999)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def render_template(index: int, template: Template, samples: int, sample_chars: int, text_chars: int) -> str:
    """One template as the prompt shows it: header, template, and up to ``samples`` indented samples."""
    tag = "NEW in canary" if template.novel else "both sides"
    head = (
        f"[T{index}] {template.level.value} {tag}: canary={template.canary} stable={template.stable} "
        f"pods canary/stable={template.canary_pods}/{template.stable_pods}"
    )
    if template.first_seen:
        head += f" first={template.first_seen} last={template.last_seen}"
    lines = [head, f"  template: {_clip(template.text, text_chars)}"]
    for number, sample in enumerate(template.samples[:samples], 1):
        body = _clip(sample, sample_chars).replace("\n", "\n    ")
        lines.append(f"  sample {number}:\n    {body}")
    return "\n".join(lines)


@dataclass(frozen=True)
class FittedLogs:
    text: str
    tokens: int
    kept: int  # templates shown
    novel_errors: int  # canary-only error templates that exist
    novel_errors_kept: int
    notes: tuple[str, ...] = ()  # what was cut to fit, said in the prompt too


def fit_templates(templates: Sequence[Template], budget: int) -> FittedLogs:
    """Every canary-only error template first (shrunk if needed), then the others by rank, within budget."""
    must = [t for t in templates if t.novel_error]
    rest = [t for t in templates if not t.novel_error]
    notes: list[str] = []
    step = SHRINK_STEPS[0]
    for step in SHRINK_STEPS:
        blocks = [render_template(i, t, *step) for i, t in enumerate(must, 1)]
        costs = [estimate_tokens(b) + 1 for b in blocks]
        if sum(costs) <= budget:
            break
    if step != SHRINK_STEPS[0]:
        samples, sample_chars, text_chars = step
        notes.append(
            f"To fit the token budget, canary-only error templates show {samples} sample(s) "
            f"of at most {sample_chars} characters and templates are cut at {text_chars} characters."
        )
    kept_blocks: list[str] = []
    used = 0
    for block, cost in zip(blocks, costs, strict=True):
        if used + cost > budget:
            break
        kept_blocks.append(block)
        used += cost
    if len(kept_blocks) < len(must):
        notes.append(
            f"{len(must) - len(kept_blocks)} canary-only error templates omitted: over the token budget."
        )
    for template in rest:
        block = render_template(len(kept_blocks) + 1, template, *FILL_STEP)
        cost = estimate_tokens(block) + 1
        if used + cost > budget:
            continue
        kept_blocks.append(block)
        used += cost
    omitted = len(templates) - len(kept_blocks)
    if omitted:
        notes.append(f"{omitted} lower-ranked templates omitted to fit the token budget.")
    return FittedLogs(
        "\n".join(kept_blocks),
        used,
        len(kept_blocks),
        len(must),
        min(len(must), len(kept_blocks)),
        tuple(notes),
    )
