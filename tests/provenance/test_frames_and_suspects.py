"""Stack frames of five runtimes, and hostile commit text in the issue, the task and Copilot's text."""

from __future__ import annotations

import pytest

from app.analysis.evidence import Side
from app.analysis.frames import parse_frames, repo_path
from app.loop.origin.provenance import Provenance, SideRevision, carries
from app.loop.origin.suspects import Origin, SuspectCommit, Suspects, TopFrame
from app.loop.render.suspects import instruction_lines, issue_section, task_section
from app.loop.render.text import safe_block
from app.rollouts.evidence_parse import revision_hint
from tests.attack.injection_corpus import injections
from tests.attack.live_text import live_findings

GO = """panic: runtime error: index out of range [0] with length 0

goroutine 23 [running]:
main.pickColor({0x0, 0x0, 0x0}, 0xc0000b2f60?)
\t/go/src/github.com/argoproj/rollouts-demo/main.go:214 +0x1c5
runtime.goexit()
\t/usr/local/go/src/runtime/asm_amd64.s:1650 +0x1
created by main.newColorCache in goroutine 1
\t/go/src/github.com/argoproj/rollouts-demo/main.go:159 +0x1b4"""
JAVA = """java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0
\tat java.base/java.util.ArrayList.get(ArrayList.java:427)
\tat com.acme.web.ColorPicker.pick(ColorPicker.java:31)
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:897)
\tat com.acme.web.Server$Handler.handle(Server.java:88)"""
PYTHON = """Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/flask/app.py", line 1498, in __call__
  File "/app/web/server.py", line 42, in handler
  File "/app/web/colors.py", line 7, in pick
IndexError: list index out of range"""
NODE = """TypeError: Cannot read properties of undefined (reading 'name')
    at pick (/usr/src/app/src/colors.js:12:5)
    at Layer.handle (/usr/src/app/node_modules/express/lib/router/layer.js:95:5)
    at /usr/src/app/src/server.js:40:3
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"""
DOTNET = """System.IndexOutOfRangeException: Index was outside the bounds of the array.
   at Acme.Web.Colors.Pick() in /src/Acme.Web/Colors.cs:line 14
   at Acme.Web.Program.Main(String[] args) in /src/Acme.Web/Program.cs:line 9"""


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        (GO, [("main.go", 214, "go"), ("main.go", 159, "go")]),
        (JAVA, [("com/acme/web/ColorPicker.java", 31, "java"), ("com/acme/web/Server.java", 88, "java")]),
        (PYTHON, [("web/colors.py", 7, "python"), ("web/server.py", 42, "python")]),
        (NODE, [("src/colors.js", 12, "node"), ("src/server.js", 40, "node")]),
        (DOTNET, [("Acme.Web/Colors.cs", 14, ".net"), ("Acme.Web/Program.cs", 9, ".net")]),
    ],
)
def test_application_frames_top_first_runtime_and_libraries_skipped(
    trace: str, expected: list[tuple[str, int, str]]
) -> None:
    assert [(f.path, f.line, f.language) for f in parse_frames(trace)] == expected


def test_timestamped_lines_and_matching_a_changed_file() -> None:
    stamped = "\n".join(f"2026-03-02T10:01:52.000Z {line}" for line in GO.splitlines())
    top = parse_frames(stamped)[0]
    assert (top.path, top.line) == ("main.go", 214)
    java = parse_frames(JAVA)[0]
    assert java.matches("src/main/java/com/acme/web/ColorPicker.java")
    assert not java.matches("src/main/java/com/acme/web/OtherColorPicker.java")


def test_a_logged_path_that_is_not_a_plain_path_is_dropped() -> None:
    assert repo_path("/app/../../etc/passwd") == ""
    assert repo_path("/app/a b.go") == ""
    assert parse_frames('  File "/app/x`y).py", line 3, in f') == []


def test_a_short_sha_carries_its_commit_and_nothing_shorter_does() -> None:
    full = "9b2d7e1c4a6f8b0d2e4f6a8c0e2b4d6f8a0c2e4d"
    assert carries(full[:7], full) and carries(full, full[:12]) and carries(full.upper(), full)
    assert not carries(full[:6], full) and not carries("0" * 40, full) and not carries("", full)


def _origin(title: str, login: str, path: str) -> Origin:
    side = SideRevision(
        "canary", "ghcr.io/acme/web:9b2d7e1", "9b2d7e1", "image template ghcr.io/acme/web:{sha}"
    )
    stable = SideRevision("stable", "", "", title)  # the "why" is shown too: treat it as untrusted
    commit = SuspectCommit("a" * 40, login, title, (path,))
    frame = TopFrame(path, 3, "https://github.com/acme/web/blob/9b2d7e1/main.go#L3")
    suspects = Suspects("1" * 7, "9b2d7e1", [commit], [frame], 1, [title])
    return Origin(Provenance(side, stable), suspects)


def test_hostile_commit_titles_and_logins_stay_inert() -> None:
    for injection in injections():
        title = injection.text.splitlines()[0]
        origin = _origin(title, "bob", "main.go")
        for markdown in (issue_section(origin), task_section(origin)):
            assert live_findings(markdown) == [], (injection.kind, title, markdown)
        plain = "\n".join(
            instruction_lines(origin)
        )  # build_custom_instructions passes it all through safe_block
        assert live_findings(safe_block(plain), rendered=False) == [], (injection.kind, title)


def test_a_login_is_shown_as_code_never_as_a_mention() -> None:
    section = issue_section(_origin("Fix", "octocat", "main.go"))
    assert "`octocat`" in section and "@octocat" not in section


def test_a_version_label_counts_only_when_it_is_shaped_like_a_commit() -> None:
    def rs(labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, object]:
        meta = {"labels": labels, "annotations": annotations or {}}
        return {"kind": "ReplicaSet", "metadata": {"name": "web-1"}, "spec": {"template": {"metadata": meta}}}

    version = "app.kubernetes.io/version"
    assert revision_hint(rs({version: "1.4.2"}), Side.CANARY) is None
    assert revision_hint(rs({version: "20261206"}), Side.CANARY) is None, "a build number"
    found = revision_hint(rs({version: "3f2c1e9"}), Side.CANARY)
    assert found is not None and (found.revision, found.where) == (
        "3f2c1e9",
        f"label {version} of ReplicaSet web-1",
    )
    first = revision_hint(rs({version: "3f2c1e9"}, {"fixloop.dev/revision": "ABCDEF0123"}), Side.STABLE)
    assert first is not None and first.revision == "abcdef0123", "fixloop.dev/revision first"
    assert revision_hint(rs({}, {"fixloop.dev/revision": "not a sha; @octocat"}), Side.CANARY) is None
