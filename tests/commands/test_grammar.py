"""The command grammar: only lines a human wrote as commands count (pure, no app)."""

from __future__ import annotations

import pytest

from app.loop.commands.grammar import Command, login_argument, new_commands, parse_commands


def keys(body: str) -> list[str]:
    return [command.key for command in parse_commands(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/fixloop retry", ["retry"]),
        ("/FIXLOOP Status", ["status"]),
        ("   /fixloop abort  ", ["abort"]),
        ("/fixloop", ["help"]),
        ("/fixloop promote --full", ["promote --full"]),
        ("/fixloop assign @Alice", ["assign @alice"]),
        ("Thanks!\n/fixloop retry\nand then\n/fixloop status", ["retry", "status"]),
        ("/fixloop retry\n/fixloop RETRY", ["retry"]),  # one line, one command
        ("/fixloopretry", []),
        ("please /fixloop retry", []),
        ("fixloop retry", []),
    ],
)
def test_commands_at_the_start_of_a_line(body: str, expected: list[str]) -> None:
    assert keys(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "> /fixloop abort",
        "  > /fixloop abort",
        "> quoted reply\n/fixloop abort",  # a lazy continuation line still belongs to the quote
        "```\n/fixloop abort\n```",
        "~~~sh\n/fixloop abort\n~~~",
        "````\n```\n/fixloop abort\n````",  # a shorter fence does not close a longer one
        "```\n/fixloop abort",  # an unclosed fence runs to the end
        "    /fixloop abort",
        "\t/fixloop abort",
        "`/fixloop abort`",
        "see `this\n/fixloop abort` span",  # a code span across lines
        "<!--\n/fixloop abort\n-->",
        "<!-- /fixloop abort",
    ],
)
def test_quotes_code_and_hidden_text_are_not_commands(body: str) -> None:
    assert keys(body) == []


def test_text_after_quotes_and_code_is_read() -> None:
    body = "> /fixloop abort\n\n```\n/fixloop promote\n```\n/fixloop status\n<!-- x -->\n/fixloop retry"
    assert keys(body) == ["status", "retry"]


def test_arguments_are_bounded_and_lower_case() -> None:
    (command,) = parse_commands("/fixloop Assign " + "X" * 300 + " b c d e f g")
    assert command.name == "assign"
    assert len(command.args) == 4 and command.args[0] == "x" * 100


def test_an_edit_runs_only_the_lines_it_added() -> None:
    assert new_commands("/fixloop retry\n/fixloop status", "/fixloop Retry") == [Command("status")]
    assert new_commands("/fixloop retry\nthanks", "/fixloop retry") == []
    assert new_commands("/fixloop retry", "> /fixloop retry") == [Command("retry")]


@pytest.mark.parametrize(
    ("arg", "login"),
    [("@alice", "alice"), ("@a-b", "a-b"), ("alice", None), ("@-x", None), ("@a_b", None), ("@", None)],
)
def test_login_argument(arg: str, login: str | None) -> None:
    assert login_argument(arg) == login
