"""Log lines → events: a single line, or a whole multi-line stack trace kept together.

Recognised traces: Go (``panic:`` / ``fatal error:`` + ``goroutine N [running]:`` + frames), Python
(``Traceback (most recent call last):`` ... ``KeyError: 'x'``, chained ones too) and Java/JVM
(``Exception in thread``, ``java.lang.X: msg``, ``\\tat ...``, ``Caused by:``, ``... N more``). Java frames
that follow an ordinary log line (logback, log4j) are attached to that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

MAX_EVENT_LINES = 200  # a longer trace is cut (the rest is consumed, not kept)

_TS_PREFIX_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?")
_START_RE = re.compile(
    r"^(?:(?P<go>panic: |fatal error: )|(?P<py>Traceback \(most recent call last\):)"
    r"|(?P<java>Exception in thread |(?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b))"
)
_JAVA_CONT_RE = re.compile(
    r"^(?:\s+at |\s*Caused by: |\s+\.\.\. \d+ (?:more|common frames omitted)|\s*Suppressed: )"
)
_GO_CONT_RE = re.compile(
    r"^(?:$|\s|goroutine \d+ |[\w./*()\[\]{}-]+\(.*\)$|created by |\[signal |\[recovered\]"
    r"|exit status \d+)"
)
_PY_CONT_RE = re.compile(r"^(?:$|\s|Traceback |During handling of |The above exception )")
_PY_EXCEPTION_RE = re.compile(r"^[A-Za-z_][\w.]*(?::|$)")
_GO_FUNC_RE = re.compile(r"^([\w./*()\[\]-]+)\([^()]*\)$")
_PY_FRAME_RE = re.compile(r'^\s+File "([^"]+)", line \d+, in (\S+)')
_JAVA_FRAME_RE = re.compile(r"^\s+at ([\w$.<>]+)\(")


@dataclass
class Event:
    kind: str  # line | go | py | java
    lines: list[str] = field(default_factory=list)  # bodies, timestamps stripped
    timestamp: str = ""
    _py_done: bool = False

    @property
    def multiline(self) -> bool:
        return len(self.lines) > 1

    @property
    def headline(self) -> str:
        """The line that names the event: the exception line of a Python trace, else the first line."""
        if self.kind == "py":
            for line in reversed(self.lines):
                if (
                    line
                    and not line[0].isspace()
                    and not line.startswith(("Traceback", "During", "The above"))
                ):
                    return line
        return self.lines[0]

    def top_frame(self) -> str:
        """The first frame named in the trace (innermost for Python), for the template."""
        if self.kind == "go":
            return next((m.group(1) for m in map(_GO_FUNC_RE.match, self.lines[1:]) if m), "")
        if self.kind == "py":
            frames = [m for m in map(_PY_FRAME_RE.match, self.lines) if m]
            return f"{frames[-1].group(2)} ({frames[-1].group(1).rsplit('/', 1)[-1]})" if frames else ""
        return next((m.group(1) for m in map(_JAVA_FRAME_RE.match, self.lines) if m), "")

    def text(self) -> str:
        return "\n".join(self.lines)

    def accepts(self, body: str) -> bool:
        """Whether ``body`` continues this event (for a Python trace, also tracks where a part ends)."""
        if self.kind == "go":
            return bool(_GO_CONT_RE.match(body))
        if self.kind == "py":
            if not body:
                return True
            if _PY_CONT_RE.match(body):
                self._py_done = False
                return True
            if not self._py_done and _PY_EXCEPTION_RE.match(body):
                self._py_done = True  # the exception line closes this part of the trace
                return True
            return False
        if body[:1] in (" ", "\t") or body.startswith(("Caused by: ", "Suppressed: ")):
            return bool(_JAVA_CONT_RE.match(body))
        return False


def split_timestamp(line: str) -> tuple[str, str]:
    """(``kubectl logs --timestamps`` prefix, the rest); the prefix is empty when there is none."""
    if line[10:11] != "T" or line[4:5] != "-":  # cheap test first: this runs on every line
        return "", line
    match = _TS_PREFIX_RE.match(line)
    return (match.group(1), line[match.end() :]) if match else ("", line)


def _starts_trace(body: str) -> re.Match[str] | None:
    if body.startswith(("panic: ", "fatal error: ", "Traceback (", "Exception in thread ")) or (
        "Exception" in body or "Error" in body or "Throwable" in body
    ):
        return _START_RE.match(body)
    return None


def iter_events(lines: Iterable[str]) -> Iterator[Event]:
    current: Event | None = None
    for line in lines:
        timestamp, body = split_timestamp(line.rstrip("\r\n"))
        if current is not None and current.accepts(body):
            if len(current.lines) < MAX_EVENT_LINES:
                current.lines.append(body)
            continue
        if current is not None:
            yield current
        start = _starts_trace(body)
        current = Event(start.lastgroup or "line" if start else "line", [body], timestamp)
    if current is not None:
        yield current
