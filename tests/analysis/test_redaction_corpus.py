import pytest

from app.analysis.compact import compact
from app.analysis.evidence import LogChunk, Side
from app.analysis.prompt import build_prompt
from app.analysis.redact import Redactor, redact, redact_lines
from tests.analysis.demo import demo_evidence
from tests.analysis.secret_corpus import BENIGN, planted

CASES = planted()


def leaks(secret: str, text: str) -> bool:
    """The secret, or any 12-character piece of a long one, is still in the text."""
    if secret in text:
        return True
    return len(secret) >= 20 and any(secret[i : i + 12] in text for i in range(len(secret) - 11))


def test_corpus_is_big_and_varied() -> None:
    assert sum(len(case.secrets) for case in CASES) >= 200
    assert len({case.kind for case in CASES}) == 12


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_no_planted_secret_survives(case) -> None:  # type: ignore[no-untyped-def]
    redactor = Redactor()
    out = redactor.redact(case.text)
    for secret in case.secrets:
        assert not leaks(secret, out), (case.kind, secret, out)
    assert redactor.total >= 1 and "[REDACTED:" in out


def test_whole_corpus_as_one_log_leaks_nothing() -> None:
    lines = [line for case in CASES for line in case.text.split("\n")]
    redactor = Redactor()
    out = "\n".join(redactor.redact_lines(lines))
    survivors = [s for case in CASES for s in case.secrets if leaks(s, out)]
    assert survivors == []
    assert len(redact_lines(lines)) == len(lines)
    assert sum(redactor.counts.values()) >= 200


@pytest.mark.parametrize("line", BENIGN)
def test_benign_lines_come_out_unchanged(line: str) -> None:
    assert redact(line) == line


def test_secrets_never_reach_the_prompt() -> None:
    lines = tuple(line for case in CASES for line in case.text.split("\n"))
    evidence = demo_evidence(logs=[LogChunk("web-x", "app", Side.CANARY, lines)], message=CASES[0].text)
    prompt = build_prompt(evidence, compact(evidence.logs), budget=60_000)
    text = prompt.system + prompt.user
    assert [s for case in CASES for s in case.secrets if leaks(s, text)] == []
    assert sum(prompt.redactions.values()) >= 200
