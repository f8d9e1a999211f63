"""Stack frames (file and line) read from log text: Go, Java/Kotlin/Scala, Python, Node and .NET.

The frames come from canary logs: untrusted text. A frame's path only ever becomes a repository path
after ``repo_path`` has cut it down to characters a path may hold, and is compared with the changed
files GitHub lists, never used to reach anything by itself. Runtime and dependency frames (the Go
toolchain, ``site-packages``, ``node_modules``, ``java.*``...) are skipped: the top frame is the first of
the application's own code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_FRAMES = 20  # frames kept per trace

# Each pattern captures (path, line); the Java one captures (qualified class, file name, line) instead.
_GO = re.compile(r"^\s*(/[^\s:]+\.go):(\d{1,6})(?:\s+\+0x[0-9a-f]+)?\s*$")
_PYTHON = re.compile(r'^\s*File "([^"]+\.py)", line (\d{1,6})')
_NODE = re.compile(
    r"^\s*at (?:.*? \()?((?:file://)?/[^\s():]+\.(?:js|mjs|cjs|ts|jsx|tsx)):(\d{1,6}):\d+\)?\s*$"
)
_DOTNET = re.compile(r"^\s*at .+? in (.+?\.(?:cs|fs|vb)):line (\d{1,6})\s*$")
_JAVA = re.compile(
    r"^\s*at (?:[\w.$/@-]+/)?([\w$.]+)\.[\w$<>]+\(([\w$]+\.(?:java|kt|scala|groovy)):(\d{1,6})\)"
)

_VENDOR = re.compile(
    r"/go/pkg/mod/|/usr/local/go/|/usr/lib/go|/src/runtime/|site-packages/|dist-packages/|/usr/lib/python|"
    r"/usr/local/lib/python|<frozen|node_modules/|^node:|/_/|/usr/share/dotnet/|/dotnet/shared/"
)
_VENDOR_CLASS = re.compile(
    r"^(?:java|javax|jdk|sun|com\.sun|kotlin|kotlinx|scala|org\.springframework|org\.apache|io\.netty|"
    r"org\.eclipse|io\.micrometer|reactor)\."
)
# Where images usually put the sources: cut so that `/go/src/github.com/acme/web/main.go` and
# `/app/main.go` both become `main.go`.
_PREFIX = re.compile(
    r"^(?:file://)?/(?:go/src/[^/]+/[^/]+/[^/]+|app|src|build|workspace|opt/app|usr/src/app|home/[^/]+|code|"
    r"srv|var/task)/"
)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./+@-]{0,299}$")


@dataclass(frozen=True)
class Frame:
    """One frame of the application's code: the path as logged, a repository-relative guess, the line."""

    logged: str  # the path (or, for Java, package/Class.java) as the trace shows it
    path: str  # a repository-relative guess: prefixes cut; matched against changed files later
    line: int
    language: str

    def matches(self, repo_file: str) -> bool:
        """Whether ``repo_file`` (a path in the repository) is this frame's file: a whole-segment suffix."""
        return (
            repo_file == self.path
            or repo_file.endswith("/" + self.path)
            or self.path.endswith("/" + repo_file)
        )


def repo_path(logged: str) -> str:
    """A repository-relative path for a logged one, or "" when what is left is not a plain path."""
    path = _PREFIX.sub("", logged.replace("\\", "/")).lstrip("/")
    path = re.sub(r"^[A-Za-z]:/", "", path)  # a Windows drive (a .NET trace built on Windows)
    if ".." in path.split("/") or not _SAFE_PATH.match(path):
        return ""
    return path


def _frame(line: str) -> Frame | None:
    for pattern, language in ((_GO, "go"), (_PYTHON, "python"), (_NODE, "node"), (_DOTNET, ".net")):
        match = pattern.match(line)
        if match:
            logged, number = match.group(1), int(match.group(2))
            path = "" if _VENDOR.search(logged) else repo_path(logged)
            return Frame(logged, path, number, language) if path else None
    match = _JAVA.match(line)
    if match is None or _VENDOR_CLASS.match(match.group(1)):
        return None
    package = match.group(1).split("$")[0].rsplit(".", 1)[0] if "." in match.group(1) else ""
    path = "/".join([*package.split("."), match.group(2)]) if package else match.group(2)
    return Frame(path, repo_path(path), int(match.group(3)), "java") if repo_path(path) else None


def parse_frames(text: str, limit: int = MAX_FRAMES) -> list[Frame]:
    """The application frames of a trace, top (innermost for Go, Java, Node, .NET) first.

    Python prints the innermost frame last ("most recent call last"): its frames are reversed so that
    the top frame means the same thing in every language.
    """
    frames = [frame for frame in map(_frame, _lines(text)) if frame is not None]
    if frames and all(frame.language == "python" for frame in frames):
        frames.reverse()
    return list(dict.fromkeys(frames))[:limit]


def _lines(text: str) -> Iterable[str]:
    # `kubectl logs --timestamps` puts an RFC3339 stamp before each line: the frame follows it.
    for line in text.splitlines():
        yield re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+Z ", "", line)
